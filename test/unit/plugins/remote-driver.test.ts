/**
 * The remote network driver's protocol side, against an SDK plugin in this process. No kernel
 * work happens here (joins without an interface, bad replies caught before any); the kernel
 * side is in test/integration/plugins-remote-driver.test.ts.
 */
import test from 'ava';
import { serveNetworkPlugin, type NetworkDriverHandlers } from '../../../plugins/sdk/src/index.js';
import { createRemoteDriver } from '../../../src/network/drivers/remote/index.js';
import { hasExternalConnectivity, hasNetworkAllocator, type NetworkSpec } from '../../../src/network/driver-api.js';
import { PluginClient } from '../../../src/plugins/client.js';
import { socketAddress } from '../../../src/plugins/spec-files.js';
import { isTsnetError } from '../../../src/errors/index.js';
import type { Netns } from '../../../src/kernel/netns.js';
import { tmpDir } from './fake-plugin.js';

const fakeNetns: Netns = {
  create: () => undefined,
  remove: () => undefined,
  removeAsync: async () => undefined,
  move: () => undefined,
  exists: () => true,
  isNetnsMount: () => true,
  ensurePrivateDir: () => undefined,
  run: () => {
    throw new Error('no kernel in unit tests');
  },
};
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const N = 'a'.repeat(64);
const E = 'b'.repeat(64);

interface Log {
  calls: Array<{ m: string; req: unknown }>;
}

const base: NetworkDriverHandlers = {
  createNetwork: () => undefined,
  deleteNetwork: () => undefined,
  createEndpoint: () => ({}),
  deleteEndpoint: () => undefined,
  join: () => ({ Gateway: '10.0.0.1', DisableGatewayService: true }),
  leave: () => undefined,
};

async function setup(
  t: Parameters<typeof tmpDir>[0] & { teardown(fn: () => void | Promise<void>): void },
  handlers: Partial<NetworkDriverHandlers>,
) {
  const dir = tmpDir(t);
  const log: Log = { calls: [] };
  const wrapped: Record<string, unknown> = {};
  const all = { ...base, ...handlers } as Record<string, (req: unknown) => unknown>;
  for (const [k, fn] of Object.entries(all)) {
    wrapped[k] = (req: unknown) => {
      log.calls.push({ m: k, req });
      return fn(req);
    };
  }
  const server = await serveNetworkPlugin({ name: 'rd', socketDir: dir, handlers: wrapped as unknown as NetworkDriverHandlers });
  const client = new PluginClient(socketAddress('rd', server.socketPath!), { retryBudgetMs: 200, timeoutMs: 2_000 });
  const driver = await createRemoteDriver('rd', client, {
    netns: fakeNetns,
    hostNetlink: () => {
      throw new Error('no kernel');
    },
    logger: quiet,
  });
  t.teardown(async () => {
    client.close();
    await server.close();
  });
  return { driver, log, server, dir, client };
}

const spec: NetworkSpec = {
  id: N,
  name: 'n',
  options: { 'p2p.mtu': '1400' },
  labels: { l: 'x' },
  internal: true,
  enableIPv6: false,
  attachable: false,
  ipv4: [{ pool: '10.0.0.0/24', gateway: '10.0.0.1/24', auxAddresses: { r: '10.0.0.254/24' } }],
  ipv6: [],
};

test('capabilities come from GetCapabilities (ConnectivityScope defaults to Scope)', async (t) => {
  const { driver } = await setup(t, { getCapabilities: () => ({ Scope: 'global' }) });
  t.deepEqual(driver.capabilities(), { scope: 'global', connectivityScope: 'global' });
  t.true(hasNetworkAllocator(driver), 'global scope: AllocateNetwork/FreeNetwork available');
  t.true(hasExternalConnectivity(driver));
});

test('an invalid Scope fails the driver creation with a clear line', async (t) => {
  const dir = tmpDir(t);
  const server = await serveNetworkPlugin({
    name: 'bad',
    socketDir: dir,
    handlers: { ...base, getCapabilities: () => ({ Scope: 'cluster' as 'local' }) },
  });
  const client = new PluginClient(socketAddress('bad', server.socketPath!));
  t.teardown(async () => {
    client.close();
    await server.close();
  });
  const err = await t.throwsAsync(
    createRemoteDriver('bad', client, {
      netns: fakeNetns,
      hostNetlink: () => {
        throw new Error();
      },
      logger: quiet,
    }),
  );
  t.true(isTsnetError(err, 'TSNET_PLUGIN_BAD_REPLY'));
  t.is(
    err!.message,
    `plugin "bad": NetworkDriver.GetCapabilities: invalid capability: expecting 'local' or 'global' for Scope, got "cluster"`,
  );
});

test("CreateNetwork carries Docker's option keys and IPAM data shapes", async (t) => {
  const { driver, log } = await setup(t, {});
  t.false(hasNetworkAllocator(driver), 'local scope: no AllocateNetwork');
  await driver.createNetwork(spec);
  t.deepEqual(log.calls.find((c) => c.m === 'createNetwork')!.req, {
    NetworkID: N,
    Options: {
      'com.docker.network.generic': { 'p2p.mtu': '1400' },
      'com.docker.network.enable_ipv4': true,
      'com.docker.network.enable_ipv6': false,
      'com.docker.network.internal': true,
    },
    IPv4Data: [
      { AddressSpace: 'LocalDefault', Pool: '10.0.0.0/24', Gateway: '10.0.0.1/24', AuxAddresses: { r: '10.0.0.254/24' } },
    ],
    IPv6Data: [],
  });
});

test("CreateEndpoint: Interface with three keys, port maps in Docker's shape; the plugin may fill only empty fields", async (t) => {
  let reply: Record<string, unknown> = { Interface: { MacAddress: 'EE:EE:EE:EE:EE:EE' } };
  const { driver, log } = await setup(t, { createEndpoint: () => reply });
  const info = await driver.createEndpoint({
    networkId: N,
    endpointId: E,
    containerId: 'c',
    address: '10.0.0.2/24',
    options: { 'com.docker.network.portmap': [{ proto: 'tcp', hostIp: '', hostPort: 8080, containerPort: 80 }] },
  });
  t.deepEqual(info, { mac: 'ee:ee:ee:ee:ee:ee' });
  t.deepEqual(log.calls.at(-1)!.req, {
    NetworkID: N,
    EndpointID: E,
    Interface: { Address: '10.0.0.2/24', AddressIPv6: '', MacAddress: '' },
    Options: {
      'com.docker.network.portmap': [{ Proto: 6, IP: '', Port: 80, HostIP: '', HostPort: 8080, HostPortEnd: 8080 }],
      'com.docker.network.endpoint.exposedports': [{ Proto: 6, Port: 80 }],
    },
  });
  // An identical echo is accepted (Docker refuses it; harmless).
  reply = { Interface: { Address: '10.0.0.2/24' } };
  t.deepEqual(
    await driver.createEndpoint({ networkId: N, endpointId: E, containerId: 'c', address: '10.0.0.2/24', options: {} }),
    {},
  );
  // A different address is refused and the endpoint rolled back.
  reply = { Interface: { Address: '10.0.0.99/24' } };
  const err = await t.throwsAsync(
    driver.createEndpoint({ networkId: N, endpointId: E, containerId: 'c', address: '10.0.0.2/24', options: {} }),
  );
  t.true(isTsnetError(err, 'TSNET_PLUGIN_BAD_REPLY'));
  t.is(
    err!.message,
    'plugin "rd": NetworkDriver.CreateEndpoint: driver modified interface address: endpoint interface address present (10.0.0.2/24); cannot be modified with (10.0.0.99/24)',
  );
  t.is(log.calls.at(-1)!.m, 'deleteEndpoint');
  // The plugin may choose the address when IPAM gave none.
  reply = { Interface: { Address: '10.0.0.50/24' } };
  t.deepEqual(await driver.createEndpoint({ networkId: N, endpointId: E, containerId: 'c', options: {} }), {
    address: '10.0.0.50/24',
  });
  reply = { Interface: { MacAddress: 'not-a-mac' } };
  t.regex(
    (await t.throwsAsync(driver.createEndpoint({ networkId: N, endpointId: E, containerId: 'c', options: {} })))!.message,
    /is not a MAC address/,
  );
});

test('Join sends the SandboxKey and sandbox options; returns gateway info; a bad reply calls Leave', async (t) => {
  let reply: Record<string, unknown> = { DisableGatewayService: true };
  const { driver, log } = await setup(t, { join: () => reply });
  const j = {
    networkId: N,
    endpointId: E,
    containerId: 'c',
    sandboxKey: '/run/tsnet/netns/abc',
    ifname: 'eth1',
    address: '10.0.0.2/24',
    options: { 'com.docker.network.portmap': [] },
  };
  t.deepEqual(await driver.join(j), { disableGatewayService: true, gatewayFromDriver: true });
  t.like(log.calls.at(-1)!.req, {
    NetworkID: N,
    EndpointID: E,
    SandboxKey: '/run/tsnet/netns/abc',
    Options: { 'com.docker.network.portmap': [] },
  });
  for (const bad of [
    { Gateway: '10.0.0.1/24' },
    { StaticRoutes: [{ Destination: '10.1.0.0/16', RouteType: 0 }] },
    { StaticRoutes: [{ Destination: '10.1.0.0/16', RouteType: 7 }] },
    { InterfaceName: { SrcName: 'way-too-long-interface-name' } },
    { Gateway: '10.0.0.1' }, // a gateway but no interface to route through
    { GatewayIPv6: 'fd00::1' },
  ]) {
    reply = bad;
    const err = await t.throwsAsync(driver.join(j));
    t.true(isTsnetError(err, 'TSNET_PLUGIN_BAD_REPLY'), JSON.stringify(bad));
    t.regex(err!.message, /^plugin "rd": NetworkDriver\.Join: /);
    t.is(log.calls.at(-1)!.m, 'leave', 'rolled back with Leave');
  }
  await t.throwsAsync(driver.join({ ...j, ifname: 'bad name' }), { code: 'TSNET_INVALID_ARGUMENT' } as never);
});

test('deletes tolerate plugin errors (as Docker does) but not an unreachable plugin', async (t) => {
  const { driver, server } = await setup(t, {
    deleteNetwork: () => {
      throw new Error('no such network');
    },
    deleteEndpoint: () => {
      throw new Error('no such endpoint');
    },
    leave: () => {
      throw new Error('not joined');
    },
  });
  await t.notThrowsAsync(driver.deleteNetwork(N));
  await t.notThrowsAsync(driver.deleteEndpoint(N, E));
  await t.notThrowsAsync(driver.leave(N, E));
  await server.close();
  const err = await t.throwsAsync(driver.deleteNetwork(N));
  t.true(isTsnetError(err, 'TSNET_PLUGIN_UNAVAILABLE'));
});

test("External connectivity: a 404 means not implemented; ports go out in Docker's shape", async (t) => {
  const { driver } = await setup(t, {});
  t.deepEqual(
    await driver.programExternalConnectivity(N, E, [{ proto: 'udp', hostIp: '127.0.0.1', hostPort: 53, containerPort: 53 }]),
    [],
  );
  await t.notThrowsAsync(driver.revokeExternalConnectivity(N, E));
  let got: unknown;
  const second = await setup(t, {
    programExternalConnectivity: (r) => {
      got = r;
    },
    revokeExternalConnectivity: () => undefined,
  });
  const ports = [{ proto: 'udp' as const, hostIp: '127.0.0.1', hostPort: 53, containerPort: 53 }];
  t.deepEqual(await second.driver.programExternalConnectivity(N, E, ports), ports);
  t.deepEqual(got, {
    NetworkID: N,
    EndpointID: E,
    Options: {
      'com.docker.network.portmap': [{ Proto: 17, IP: '', Port: 53, HostIP: '127.0.0.1', HostPort: 53, HostPortEnd: 53 }],
      'com.docker.network.endpoint.exposedports': [{ Proto: 17, Port: 53 }],
    },
  });
});

test('Discovery: node events are forwarded as type 1, others are not', async (t) => {
  const seen: unknown[] = [];
  const { driver } = await setup(t, { discoverNew: (r) => void seen.push(r), discoverDelete: (r) => void seen.push(r) });
  await driver.discoverNew('node', { address: '192.0.2.1', self: true });
  await driver.discoverNew('peer', { anything: 1 });
  await driver.discoverDelete('node', { Address: '192.0.2.1' });
  t.deepEqual(seen, [
    { DiscoveryType: 1, DiscoveryData: { Address: '192.0.2.1', BindAddress: '', Self: true } },
    { DiscoveryType: 1, DiscoveryData: { Address: '192.0.2.1', BindAddress: '', Self: false } },
  ]);
});

test('a restarted plugin is re-activated and its capabilities fetched again; a timeout in CreateNetwork is followed by DeleteNetwork', async (t) => {
  const { driver, server, dir, log } = await setup(t, {});
  t.is(driver.capabilities().scope, 'local');
  await server.close();
  let hang = true;
  const deleted: string[] = [];
  const again = await serveNetworkPlugin({
    name: 'rd',
    socketDir: dir,
    handlers: {
      ...base,
      getCapabilities: () => ({ Scope: 'local', ConnectivityScope: 'global' }),
      createNetwork: () => (hang ? new Promise<void>(() => undefined) : undefined),
      deleteNetwork: (r) => void deleted.push(r.NetworkID),
    },
  });
  t.teardown(() => again.close());
  const err = await t.throwsAsync(driver.createNetwork(spec));
  t.true(isTsnetError(err, 'TSNET_PLUGIN_TIMEOUT'));
  t.deepEqual(deleted, [N], 'the plugin may have made the network: best-effort DeleteNetwork');
  t.deepEqual(driver.capabilities(), { scope: 'local', connectivityScope: 'global' });
  hang = false;
  void log;
});
