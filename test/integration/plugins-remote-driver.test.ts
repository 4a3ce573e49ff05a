/**
 * The remote network driver against real plugins and the real kernel, without a daemon: the
 * example p2p plugin runs inside a throwaway "daemon" netns (nsenter), createRemoteDriver gets a
 * netlink socket in that netns, and sandboxes are netns files made here (SandboxKey). Packets
 * only flow between these namespaces. Everything is removed in t.teardown, even on failure.
 */
import test, { type ExecutionContext } from 'ava';
import path from 'node:path';
import { serveNetworkPlugin, type NetworkDriverHandlers } from '../../plugins/sdk/src/index.js';
import { createRemoteDriver, type RemoteDriver } from '../../src/network/drivers/remote/index.js';
import { PluginRegistry } from '../../src/plugins/registry.js';
import { PluginClient } from '../../src/plugins/client.js';
import { socketAddress } from '../../src/plugins/spec-files.js';
import { isTsnetError } from '../../src/errors/index.js';
import { Netlink } from '../../src/kernel/netlink/index.js';
import { createNsWorld, linkNames, startExample, type NsWorld } from '../conformance/harness.js';
import { pingFrom, randomId } from '../conformance/driver-suite.js';
import { json, startFake } from '../unit/plugins/fake-plugin.js';
import { requireNeeds } from '../helpers/preconditions.js';

const serial = test.serial;
test.before(() => requireNeeds({ root: true }));
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

async function world(t: ExecutionContext): Promise<NsWorld> {
  const w = await createNsWorld();
  t.teardown(() => w.teardown());
  return w;
}

function driverFor(w: NsWorld, client: PluginClient): Promise<RemoteDriver> {
  return createRemoteDriver(client.name, client, {
    netns: w.netns,
    hostNetlink: () => w.hostNl,
    hostNetns: w.hostNs,
    logger: quiet,
  });
}

function netSpec(id: string, pool: string, gateway?: string) {
  return {
    id,
    name: 'n',
    options: {},
    labels: {},
    internal: false,
    enableIPv6: false,
    attachable: false,
    ipv4: [{ pool, ...(gateway ? { gateway } : {}) }],
    ipv6: [],
  };
}

async function inNs<T>(w: NsWorld, file: string, fn: (nl: Netlink) => Promise<T>): Promise<T> {
  const nl = w.netns.run(file, () => Netlink.open());
  try {
    return await fn(nl);
  } finally {
    nl.close();
  }
}

serial('p2p example: two sandboxes on a plugin network ping each other; leave and delete leave nothing', async (t) => {
  const w = await world(t);
  const plugin = await startExample('p2p', { socketDir: path.join(w.dir, 'plugins'), netnsFile: w.hostNs, world: w });
  const registry = new PluginRegistry({ socketDirs: [path.join(w.dir, 'plugins')], specDirs: [], logger: quiet });
  t.teardown(() => registry.close());
  const hostBefore = await linkNames(w.netns, w.hostNs);
  const driver = await driverFor(w, await registry.get('p2p', 'NetworkDriver'));
  t.deepEqual(driver.capabilities(), { scope: 'local', connectivityScope: 'local' });
  const nid = randomId();
  await driver.createNetwork(netSpec(nid, '10.77.0.0/24', '10.77.0.1/24'));
  const sb = [await w.sandbox('a'), await w.sandbox('b')];
  const eps = [randomId(), randomId()];
  const macs = ['02:42:0a:4d:00:02', '02:42:0a:4d:00:03'];
  for (const i of [0, 1]) {
    await driver.createEndpoint({
      networkId: nid,
      endpointId: eps[i]!,
      containerId: eps[i]!,
      address: `10.77.0.${i + 2}/24`,
      mac: macs[i]!,
      options: {},
    });
    const info = await driver.join({
      networkId: nid,
      endpointId: eps[i]!,
      containerId: eps[i]!,
      sandboxKey: sb[i]!,
      ifname: i === 0 ? 'eth0' : 'eth3',
      address: `10.77.0.${i + 2}/24`,
      mac: macs[i]!,
      options: {},
    });
    t.deepEqual(info, { gateway: '10.77.0.1', disableGatewayService: true, gatewayFromDriver: true });
  }
  const link = await inNs(w, sb[1]!, (nl) => nl.getLink('eth3'));
  t.truthy(link, 'renamed to the ifname the controller chose');
  t.is(link!.mac, macs[1]!);
  t.true(link!.up);
  t.deepEqual(
    (await inNs(w, sb[1]!, (nl) => nl.listAddresses('eth3', 4))).map((a) => a.cidr),
    ['10.77.0.3/24'],
  );
  const ab = pingFrom(sb[0]!, '10.77.0.3');
  t.true(ab.ok, ab.output);
  const ba = pingFrom(sb[1]!, '10.77.0.2');
  t.true(ba.ok, ba.output);
  t.regex(ab.output, /ttl=63/i, 'routed by the host, not bridged');
  for (const i of [0, 1]) {
    await driver.leave(nid, eps[i]!);
    t.deepEqual(await linkNames(w.netns, sb[i]!), ['lo']);
    await driver.deleteEndpoint(nid, eps[i]!);
  }
  await driver.deleteNetwork(nid);
  t.deepEqual(await linkNames(w.netns, w.hostNs), hostBefore);
  const routes = await w.hostNl.listRoutes();
  t.false(
    routes.some((r) => r.dst.startsWith('10.77.')),
    JSON.stringify(routes),
  );
  void plugin;
});

serial('p2p example: a network without a gateway uses a link-local one with a connected static route', async (t) => {
  const w = await world(t);
  await startExample('p2p', { socketDir: path.join(w.dir, 'plugins'), netnsFile: w.hostNs, world: w });
  const client = new PluginClient(socketAddress('p2p', path.join(w.dir, 'plugins', 'p2p.sock')));
  t.teardown(() => client.close());
  const driver = await driverFor(w, client);
  const nid = randomId();
  const eid = randomId();
  await driver.createNetwork(netSpec(nid, '10.78.0.0/24'));
  const sb = await w.sandbox('s');
  await driver.createEndpoint({ networkId: nid, endpointId: eid, containerId: eid, address: '10.78.0.5/24', options: {} });
  const info = await driver.join({
    networkId: nid,
    endpointId: eid,
    containerId: eid,
    sandboxKey: sb,
    ifname: 'eth0',
    address: '10.78.0.5/24',
    options: {},
  });
  t.is(info.gateway, '169.254.1.1');
  const routes = await inNs(w, sb, (nl) => nl.listRoutes({ family: 4 }));
  t.true(
    routes.some((r) => r.dst === '169.254.1.1/32' && r.dev === 'eth0' && r.scope === 'link'),
    JSON.stringify(routes),
  );
  await driver.leave(nid, eid);
  await driver.deleteEndpoint(nid, eid);
  await driver.deleteNetwork(nid);
});

serial('a plugin restarted between join and leave is re-activated, and leave still cleans up', async (t) => {
  const w = await world(t);
  const socketDir = path.join(w.dir, 'plugins');
  const state = path.join(w.dir, 'p2p-state.json');
  const first = await startExample('p2p', { socketDir, netnsFile: w.hostNs, world: w, args: ['--state', state] });
  const client = new PluginClient(socketAddress('p2p', path.join(socketDir, 'p2p.sock')), { retryBudgetMs: 3_000 });
  t.teardown(() => client.close());
  const driver = await driverFor(w, client);
  const nid = randomId();
  const eid = randomId();
  await driver.createNetwork(netSpec(nid, '10.79.0.0/24', '10.79.0.1/24'));
  await driver.createEndpoint({ networkId: nid, endpointId: eid, containerId: eid, address: '10.79.0.2/24', options: {} });
  const sb = await w.sandbox('r');
  await driver.join({
    networkId: nid,
    endpointId: eid,
    containerId: eid,
    sandboxKey: sb,
    ifname: 'eth0',
    address: '10.79.0.2/24',
    options: {},
  });
  await first.stop();
  await startExample('p2p', { socketDir, netnsFile: w.hostNs, world: w, args: ['--state', state] });
  await driver.leave(nid, eid);
  t.is(client.activations, 2, 'activated again after the restart');
  t.deepEqual(await linkNames(w.netns, sb), ['lo']);
  await driver.deleteEndpoint(nid, eid);
  await driver.deleteNetwork(nid);
  t.false((await linkNames(w.netns, w.hostNs)).some((n) => n.startsWith('p2h')));
});

/** An in-process plugin whose links are made by the test in the world's host netns. */
async function scriptedPlugin(t: ExecutionContext, w: NsWorld, handlers: Partial<NetworkDriverHandlers>) {
  const calls: string[] = [];
  const base: NetworkDriverHandlers = {
    createNetwork: () => void calls.push('CreateNetwork'),
    deleteNetwork: () => void calls.push('DeleteNetwork'),
    createEndpoint: () => void calls.push('CreateEndpoint'),
    deleteEndpoint: () => void calls.push('DeleteEndpoint'),
    join: () => ({}),
    leave: () => void calls.push('Leave'),
  };
  const merged = { ...base, ...handlers };
  const wrapped = {
    ...merged,
    join: async (r: Parameters<NetworkDriverHandlers['join']>[0]) => {
      calls.push('Join');
      return merged.join(r);
    },
    leave: async (r: Parameters<NetworkDriverHandlers['leave']>[0]) => {
      calls.push('Leave');
      if (handlers.leave) await handlers.leave(r);
    },
  };
  const server = await serveNetworkPlugin({ name: 'scripted', socketDir: path.join(w.dir, 'plugins'), handlers: wrapped });
  const client = new PluginClient(socketAddress('scripted', server.socketPath!), { retryBudgetMs: 200, timeoutMs: 1_500 });
  t.teardown(async () => {
    client.close();
    await server.close();
  });
  return { calls, driver: await driverFor(w, client) };
}

serial(
  'a join that fails after the interface moved is undone: interface back in the daemon netns, Leave called, deleted after DeleteEndpoint',
  async (t) => {
    const w = await world(t);
    const { calls, driver } = await scriptedPlugin(t, w, {
      join: async () => {
        await w.hostNl.addVeth('rbh0', { name: 'rbc0' });
        // A next hop nothing can reach: adding the route fails after the move.
        return {
          InterfaceName: { SrcName: 'rbc0', DstPrefix: 'eth' },
          StaticRoutes: [{ Destination: '10.200.0.0/16', RouteType: 0, NextHop: '192.0.2.77' }],
        };
      },
      leave: async () => undefined, // a plugin that leaves its links (deleted in DeleteEndpoint by name? no: not at all)
    });
    const nid = randomId();
    const eid = randomId();
    const sb = await w.sandbox('rb');
    await driver.createNetwork(netSpec(nid, '10.80.0.0/24', '10.80.0.1/24'));
    await driver.createEndpoint({ networkId: nid, endpointId: eid, containerId: eid, address: '10.80.0.2/24', options: {} });
    const err = await t.throwsAsync(
      driver.join({
        networkId: nid,
        endpointId: eid,
        containerId: eid,
        sandboxKey: sb,
        ifname: 'eth0',
        address: '10.80.0.2/24',
        options: {},
      }),
    );
    t.true(isTsnetError(err, 'TSNET_PLUGIN_BAD_REPLY'), err?.message);
    t.regex(
      err!.message,
      /^plugin "scripted": NetworkDriver\.Join: StaticRoutes\[0\] 10\.200\.0\.0\/16 via 192\.0\.2\.77 cannot be added .*\(ENETUNREACH\)$/,
    );
    t.deepEqual(await linkNames(w.netns, sb), ['lo'], 'nothing left in the sandbox');
    t.deepEqual(calls.slice(-2), ['Join', 'Leave']);
    t.true((await linkNames(w.netns, w.hostNs)).includes('rbc0'), 'moved back under its SrcName for the plugin');
    await driver.deleteEndpoint(nid, eid);
    const left = await linkNames(w.netns, w.hostNs);
    t.false(left.includes('rbc0') || left.includes('rbh0'), `left: ${left.join(', ')}`);
    await driver.deleteNetwork(nid);
  },
);

serial('a plugin that leaves its interface in the sandbox after Leave: tsnet takes it out and deletes it', async (t) => {
  const w = await world(t);
  const { driver } = await scriptedPlugin(t, w, {
    join: async () => {
      await w.hostNl.addVeth('lzh0', { name: 'lzc0' });
      return { InterfaceName: { SrcName: 'lzc0', DstPrefix: 'eth' } };
    },
    leave: async () => undefined,
  });
  const nid = randomId();
  const eid = randomId();
  const sb = await w.sandbox('lz');
  await driver.createEndpoint({ networkId: nid, endpointId: eid, containerId: eid, address: '10.81.0.2/24', options: {} });
  await driver.join({
    networkId: nid,
    endpointId: eid,
    containerId: eid,
    sandboxKey: sb,
    ifname: 'eth0',
    address: '10.81.0.2/24',
    options: {},
  });
  t.deepEqual(await linkNames(w.netns, sb), ['eth0', 'lo']);
  await driver.leave(nid, eid);
  t.deepEqual(await linkNames(w.netns, sb), ['lo']);
  await driver.deleteEndpoint(nid, eid);
  t.deepEqual(await linkNames(w.netns, w.hostNs), ['lo']);
});

serial('a SrcName that does not exist is a bad reply; Leave is called', async (t) => {
  const w = await world(t);
  const { calls, driver } = await scriptedPlugin(t, w, {
    join: () => ({ InterfaceName: { SrcName: 'ghost0', DstPrefix: 'eth' } }),
  });
  const sb = await w.sandbox('g');
  const err = await t.throwsAsync(
    driver.join({ networkId: randomId(), endpointId: randomId(), containerId: 'c', sandboxKey: sb, ifname: 'eth0', options: {} }),
  );
  t.true(isTsnetError(err, 'TSNET_PLUGIN_BAD_REPLY'));
  t.regex(
    err!.message,
    /the plugin named interface ghost0 \(SrcName\), but there is no such interface in the daemon's network namespace/,
  );
  t.deepEqual(calls, ['Join', 'Leave']);
});

serial(
  'a plugin that hangs or dies in Join: the join fails with a clear error, Leave is tried, the sandbox stays empty',
  async (t) => {
    const w = await world(t);
    const sb = await w.sandbox('h');
    let mode: 'hang' | 'die' = 'hang';
    const socket = path.join(w.dir, 'flaky.sock');
    const fake = await startFake(socket, (m, _b, res, req) => {
      if (m === 'Plugin.Activate') return json(res, 200, { Implements: ['NetworkDriver'] });
      if (m === 'NetworkDriver.GetCapabilities') return json(res, 200, { Scope: 'local' });
      if (m === 'NetworkDriver.Join') {
        if (mode === 'die') req!.socket.destroy();
        return; // hang
      }
      json(res, 200, {});
    });
    t.teardown(() => fake.close());
    const client = new PluginClient(socketAddress('flaky', socket), { timeoutMs: 400, retryBudgetMs: 200 });
    t.teardown(() => client.close());
    const driver = await driverFor(w, client);
    const j = { networkId: randomId(), endpointId: randomId(), containerId: 'c', sandboxKey: sb, ifname: 'eth0', options: {} };
    const e1 = await t.throwsAsync(driver.join(j));
    t.true(isTsnetError(e1, 'TSNET_PLUGIN_TIMEOUT'));
    t.is(
      e1!.message,
      'plugin "flaky": NetworkDriver.Join: no reply within 400 ms (a slow plugin may need a longer tsnetd --plugin-timeout)',
    );
    mode = 'die';
    const e2 = await t.throwsAsync(driver.join(j));
    t.true(isTsnetError(e2, 'TSNET_PLUGIN_UNAVAILABLE'));
    t.regex(e2!.message, /NetworkDriver\.Join: connection lost before a reply/);
    t.is(fake.count('NetworkDriver.Leave'), 2, 'the plugin may have acted: Leave was sent both times');
    t.deepEqual(await linkNames(w.netns, sb), ['lo']);
  },
);

serial('a Join reply the kernel cannot apply fails with one line naming the plugin, the call and the field', async (t) => {
  const w = await world(t);
  let reply: Record<string, unknown> = {};
  let endpointReply: Record<string, unknown> | undefined;
  const { calls, driver } = await scriptedPlugin(t, w, {
    createEndpoint: () => endpointReply,
    join: async () => {
      if ((reply.InterfaceName as { SrcName?: string } | undefined)?.SrcName === 'gwc0') {
        await w.hostNl.addVeth('gwh0', { name: 'gwc0' });
      }
      return reply;
    },
  });
  const nid = randomId();
  await driver.createNetwork(netSpec(nid, '10.82.0.0/24', '10.82.0.1/24'));
  const sb = await w.sandbox('gw');
  const join = async (eid: string) =>
    driver.join({
      networkId: nid,
      endpointId: eid,
      containerId: eid,
      sandboxKey: sb,
      ifname: 'eth0',
      address: '10.82.0.2/24',
      options: {},
    });
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [
      { InterfaceName: { SrcName: 'lo', DstPrefix: 'eth' } },
      /^plugin "scripted": NetworkDriver\.Join: InterfaceName\.SrcName "lo" cannot be moved into the sandbox \(EINVAL\)$/,
    ],
    [
      { InterfaceName: { SrcName: 'gwc0', DstPrefix: 'eth' }, Gateway: '10.99.0.1' },
      /^plugin "scripted": NetworkDriver\.Join: Gateway 10\.99\.0\.1 is not on the endpoint's subnet \(10\.82\.0\.2\/24\)/,
    ],
    [
      { Gateway: '10.82.0.1' },
      /^plugin "scripted": NetworkDriver\.Join: Gateway 10\.82\.0\.1 given without InterfaceName\.SrcName/,
    ],
  ];
  for (const [r, re] of cases) {
    reply = r;
    const eid = randomId();
    await driver.createEndpoint({ networkId: nid, endpointId: eid, containerId: eid, address: '10.82.0.2/24', options: {} });
    const err = await t.throwsAsync(join(eid));
    t.true(isTsnetError(err, 'TSNET_PLUGIN_BAD_REPLY'), err?.message);
    t.regex(err!.message, re);
    t.is(calls.at(-1), 'Leave', 'rolled back with Leave');
    t.deepEqual(await linkNames(w.netns, sb), ['lo'], 'nothing left in the sandbox');
    await driver.deleteEndpoint(nid, eid);
  }
  t.true((await linkNames(w.netns, w.hostNs)).includes('lo'), "the daemon's lo was not moved");
  // An IPv6 address on a network without IPv6 is refused, not dropped.
  endpointReply = { Interface: { AddressIPv6: 'fd00:82::5/64' } };
  const e6 = await t.throwsAsync(
    driver.createEndpoint({ networkId: nid, endpointId: randomId(), containerId: 'c', address: '10.82.0.3/24', options: {} }),
  );
  t.regex(
    e6!.message,
    /^plugin "scripted": NetworkDriver\.CreateEndpoint: Interface\.AddressIPv6 fd00:82::5\/64 given, but network [0-9a-f]{12} has no IPv6/,
  );
  t.is(calls.at(-1), 'DeleteEndpoint', 'the refused endpoint is deleted in the plugin');
  await driver.deleteNetwork(nid);
});
