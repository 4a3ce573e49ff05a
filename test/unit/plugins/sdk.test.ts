import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import {
  BadRequestError,
  PluginError,
  serveIpamPlugin,
  serveNetworkPlugin,
  servePlugin,
  type IpamDriverHandlers,
  type NetworkDriverHandlers,
  type PluginServer,
} from '../../../plugins/sdk/src/index.js';
import { PluginClient } from '../../../src/plugins/client.js';
import { createTransport } from '../../../src/plugins/http.js';
import { parsePluginUrl, socketAddress } from '../../../src/plugins/spec-files.js';
import { locatePlugin } from '../../../src/plugins/discovery.js';
import { isTsnetError } from '../../../src/errors/index.js';
import { staleSocket, tmpDir } from './fake-plugin.js';

const net0: NetworkDriverHandlers = {
  createNetwork: () => undefined,
  deleteNetwork: () => undefined,
  createEndpoint: () => ({}),
  deleteEndpoint: () => undefined,
  join: () => ({ InterfaceName: { SrcName: 'veth0', DstPrefix: 'eth' } }),
  leave: () => undefined,
};

const ipam0: IpamDriverHandlers = {
  requestPool: (r) => ({ PoolID: 'p1', Pool: r.Pool || '10.1.0.0/24' }),
  releasePool: () => undefined,
  requestAddress: () => ({ Address: '10.1.0.2/24' }),
  releaseAddress: () => undefined,
};

async function post(
  server: PluginServer,
  method: string,
  body: string,
): Promise<{ status: number; json: Record<string, unknown>; text: string; type: string | undefined }> {
  const t = createTransport(socketAddress('x', server.socketPath!));
  try {
    const r = await t.post(`/${method}`, Buffer.from(body), Date.now() + 5000);
    const text = r.body.toString();
    let json: Record<string, unknown> = {};
    try {
      if (text) json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      json = {};
    }
    return { status: r.status, json, text, type: undefined };
  } finally {
    t.close();
  }
}

async function serve(
  t: { teardown(fn: () => void | Promise<void>): void },
  opts: Parameters<typeof servePlugin>[0],
): Promise<PluginServer> {
  const s = await servePlugin(opts);
  t.teardown(() => s.close());
  return s;
}

test('activation lists what the plugin implements; the socket is <socketDir>/<name>.sock', async (t) => {
  const dir = tmpDir(t);
  const a = await serve(t, { name: 'n', socketDir: dir, network: net0 });
  const b = await serve(t, { name: 'i', socketDir: dir, ipam: ipam0 });
  const c = await serve(t, { name: 'both', socketDir: dir, network: net0, ipam: ipam0 });
  t.is(a.socketPath, path.join(dir, 'n.sock'));
  t.is(a.address, `unix://${path.join(dir, 'n.sock')}`);
  t.deepEqual((await post(a, 'Plugin.Activate', '')).json, { Implements: ['NetworkDriver'] });
  t.deepEqual((await post(b, 'Plugin.Activate', '')).json, { Implements: ['IpamDriver'] });
  t.deepEqual((await post(c, 'Plugin.Activate', '')).json, { Implements: ['NetworkDriver', 'IpamDriver'] });
  t.is((fs.statSync(a.socketPath!).mode & 0o777).toString(8), '660');
});

test('requests are validated and normalised before the handler runs', async (t) => {
  const dir = tmpDir(t);
  let got: unknown;
  const s = await serve(t, {
    name: 'v',
    socketDir: dir,
    network: {
      ...net0,
      createNetwork: (r) => {
        got = r;
      },
    },
  });
  const bad = await post(s, 'NetworkDriver.CreateNetwork', '{"Options":{}}');
  t.is(bad.status, 400);
  t.deepEqual(bad.json, { Err: 'missing NetworkID' });
  t.is(got, undefined);
  const ok = await post(
    s,
    'NetworkDriver.CreateNetwork',
    '{"networkid":"n1","Options":null,"IPv4Data":[{"AddressSpace":"x","Pool":"10.0.0.0/24","Gateway":"10.0.0.1/24"}],"IPv6Data":null}\n',
  );
  t.is(ok.status, 200);
  t.deepEqual(ok.json, {});
  t.deepEqual(got, {
    NetworkID: 'n1',
    Options: {},
    IPv4Data: [{ AddressSpace: 'x', Pool: '10.0.0.0/24', Gateway: '10.0.0.1/24' }],
    IPv6Data: [],
  });
  const notJson = await post(s, 'NetworkDriver.Join', '{oops');
  t.is(notJson.status, 400);
  t.regex(String(notJson.json.Err), /^malformed JSON request/);
  const wrongType = await post(s, 'NetworkDriver.Join', '{"NetworkID":"n","EndpointID":"e","SandboxKey":7}');
  t.is(wrongType.status, 400);
});

test('thrown errors become {"Err"} (500, or the PluginError status); IPAM errors carry Err and Error', async (t) => {
  const dir = tmpDir(t);
  const s = await serve(t, {
    name: 'e',
    socketDir: dir,
    network: {
      ...net0,
      createEndpoint: () => {
        throw new Error('no such network');
      },
      join: () => {
        throw new PluginError('busy', { status: 503 });
      },
    },
    ipam: {
      ...ipam0,
      requestPool: () => {
        throw new BadRequestError('subnet 10.0.0.0/8 too big');
      },
    },
  });
  t.deepEqual(await post(s, 'NetworkDriver.CreateEndpoint', '{"NetworkID":"n","EndpointID":"e"}'), {
    status: 500,
    json: { Err: 'no such network' },
    text: '{"Err":"no such network"}\n',
    type: undefined,
  });
  t.like(await post(s, 'NetworkDriver.Join', '{"NetworkID":"n","EndpointID":"e","SandboxKey":"/x"}'), {
    status: 503,
    json: { Err: 'busy' },
  });
  t.like(await post(s, 'IpamDriver.RequestPool', '{"AddressSpace":"a","Pool":"10.0.0.0/8"}'), {
    status: 400,
    json: { Err: 'subnet 10.0.0.0/8 too big', Error: 'subnet 10.0.0.0/8 too big' },
  });
  const sub = await post(s, 'IpamDriver.RequestPool', '{"AddressSpace":"a","Pool":"","SubPool":"10.0.0.0/24"}');
  t.like(sub, { status: 400, json: { Err: 'SubPool given without Pool' } });
});

test('defaults for optional methods; 404 for unknown ones and for optional ones Docker treats as such', async (t) => {
  const dir = tmpDir(t);
  const s = await serve(t, { name: 'd', socketDir: dir, network: net0, ipam: ipam0 });
  t.deepEqual((await post(s, 'NetworkDriver.GetCapabilities', '')).json, { Scope: 'local', ConnectivityScope: 'local' });
  t.deepEqual((await post(s, 'NetworkDriver.EndpointOperInfo', '{"NetworkID":"n","EndpointID":"e"}')).json, { Value: {} });
  t.is((await post(s, 'NetworkDriver.DiscoverNew', '{"DiscoveryType":1,"DiscoveryData":{}}')).status, 200);
  const pec = await post(s, 'NetworkDriver.ProgramExternalConnectivity', '{"NetworkID":"n","EndpointID":"e"}');
  t.is(pec.status, 404);
  t.is(pec.text, '404 page not found\n', 'a bare 404 (no Err): "not implemented", as a Go plugin answers');
  t.is((await post(s, 'NetworkDriver.AllocateNetwork', '{"NetworkID":"n"}')).status, 404);
  t.is((await post(s, 'NetworkDriver.Nope', '{}')).status, 404);
  t.deepEqual((await post(s, 'IpamDriver.GetCapabilities', '')).json, {
    RequiresMACAddress: false,
    RequiresRequestReplay: false,
  });
  t.deepEqual((await post(s, 'IpamDriver.GetDefaultAddressSpaces', '')).json, {
    LocalDefaultAddressSpace: 'local',
    GlobalDefaultAddressSpace: 'global',
  });
});

test("a plugin served by the SDK works with tsnet's client (round trip, errors)", async (t) => {
  const dir = tmpDir(t);
  const s = await serveNetworkPlugin({
    name: 'rt',
    socketDir: dir,
    handlers: {
      ...net0,
      deleteNetwork: () => {
        throw new Error('in use');
      },
    },
  });
  t.teardown(() => s.close());
  const c = new PluginClient(socketAddress('rt', s.socketPath!));
  t.teardown(() => c.close());
  t.deepEqual(await c.call('NetworkDriver.Join', { NetworkID: 'n', EndpointID: 'e', SandboxKey: '/x', Options: {} }), {
    InterfaceName: { SrcName: 'veth0', DstPrefix: 'eth' },
  });
  const err = await t.throwsAsync(c.call('NetworkDriver.DeleteNetwork', { NetworkID: 'n' }));
  t.true(isTsnetError(err, 'TSNET_PLUGIN_ERROR'));
  t.is(err!.message, 'plugin "rt": NetworkDriver.DeleteNetwork: in use');
});

test('TCP: serves on a port, writes <specDir>/<name>.spec, removes it on close', async (t) => {
  const dir = tmpDir(t);
  const s = await serveIpamPlugin({ name: 'tcpi', tcp: { host: '127.0.0.1', port: 0, specDir: dir }, handlers: ipam0 });
  const spec = path.join(dir, 'tcpi.spec');
  t.is(s.specFile, spec);
  t.regex(fs.readFileSync(spec, 'utf8'), /^tcp:\/\/127\.0\.0\.1:\d+\n$/);
  const found = locatePlugin('tcpi', { socketDirs: [], specDirs: [dir] })!;
  const c = new PluginClient(found);
  t.like(await c.call('IpamDriver.RequestPool', { AddressSpace: 'a', Pool: '', SubPool: '', Options: null, V6: false }), {
    PoolID: 'p1',
  });
  c.close();
  await s.close();
  t.false(fs.existsSync(spec));
  t.is(parsePluginUrl('x', s.address, 'x').protocol, 'tcp');
});

test('a stale socket is replaced, a live one or a non-socket file is refused; close removes the socket', async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 's.sock');
  await staleSocket(file);
  t.true(fs.statSync(file).isSocket());
  const s = await serveNetworkPlugin({ name: 's', socketDir: dir, handlers: net0 });
  t.true(fs.statSync(file).isSocket());
  const again = await t.throwsAsync(serveNetworkPlugin({ name: 's', socketDir: dir, handlers: net0 }));
  t.regex(again!.message, /another plugin is already serving this socket/);
  await s.close();
  t.false(fs.existsSync(file));
  fs.writeFileSync(path.join(dir, 'f.sock'), 'x');
  const notSock = await t.throwsAsync(serveNetworkPlugin({ name: 'f', socketDir: dir, handlers: net0 }));
  t.regex(notSock!.message, /is not a socket/);
  await t.throwsAsync(serveNetworkPlugin({ name: 'a/b', socketDir: dir, handlers: net0 }), { message: /invalid plugin name/ });
});
