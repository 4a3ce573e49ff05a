import test from 'ava';
import path from 'node:path';
import { PluginClient, isMisused404, isNotImplemented } from '../../../src/plugins/client.js';
import { socketAddress, parsePluginUrl } from '../../../src/plugins/spec-files.js';
import { isTsnetError, type TsnetError } from '../../../src/errors/index.js';
import { json, okReply, startFake, tmpDir, type Reply } from './fake-plugin.js';

function recorder() {
  const lines: string[] = [];
  const at = (l: string) => (m: string) => void lines.push(`${l} ${m}`);
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

async function setup(
  t: Parameters<typeof tmpDir>[0] & { teardown(fn: () => void | Promise<void>): void },
  reply?: Reply,
  opts: ConstructorParameters<typeof PluginClient>[1] = {},
) {
  const dir = tmpDir(t);
  const socket = path.join(dir, 'fake.sock');
  const fake = await startFake(socket, reply);
  const client = new PluginClient(socketAddress('fake', socket), { retryBudgetMs: 500, ...opts });
  t.teardown(async () => {
    client.close();
    await fake.close();
  });
  return { dir, socket, fake, client };
}

test("requests look like Docker's: POST, Accept v1.2, no Content-Type, JSON + newline, empty body for Activate", async (t) => {
  const { fake, client } = await setup(t);
  await client.call('NetworkDriver.CreateNetwork', { NetworkID: 'n1', Options: null });
  const act = fake.seen.find((s) => s.method === 'Plugin.Activate')!;
  t.is(act.body, '');
  t.is(act.headers['content-length'], '0');
  t.is(act.headers.accept, 'application/vnd.docker.plugins.v1.2+json');
  t.is(act.headers.host, 'plugin.moby.localhost');
  const c = fake.seen.find((s) => s.method === 'NetworkDriver.CreateNetwork')!;
  t.is(c.body, '{"NetworkID":"n1","Options":null}\n');
  t.is(c.headers['content-type'], undefined);
  t.is(c.headers['content-length'], String(Buffer.byteLength(c.body)));
  t.is(fake.count('Plugin.Activate'), 1, 'activated once, lazily');
  await client.call('NetworkDriver.DeleteNetwork', { NetworkID: 'n1' });
  t.is(fake.count('Plugin.Activate'), 1);
});

test('an Err in a 200 reply is one clear error line naming plugin and call', async (t) => {
  const { client } = await setup(t, (m, _b, res) =>
    m === 'Plugin.Activate' ? okReply(m, _b, res) : json(res, 200, { Err: 'no such network abc' }),
  );
  const err = await t.throwsAsync(client.call('NetworkDriver.CreateEndpoint', {}));
  t.true(isTsnetError(err, 'TSNET_PLUGIN_ERROR'));
  t.is(err!.message, 'plugin "fake": NetworkDriver.CreateEndpoint: no such network abc');
  t.is((err as TsnetError).details?.pluginMessage, 'no such network abc');
});

test("IPAM's Error field, lower-case keys, non-200 with Err, non-200 raw text", async (t) => {
  let mode = 0;
  const { client } = await setup(t, (m, _b, res) => {
    if (m === 'Plugin.Activate') return okReply(m, _b, res);
    if (mode === 0) return json(res, 200, { Error: 'pool exhausted' });
    if (mode === 1) return json(res, 200, { err: 'lower case' });
    if (mode === 2) return json(res, 400, { Error: 'bad subnet' });
    res.writeHead(500, { 'Content-Type': 'text/plain' });
    res.end('panic: runtime error\ngoroutine 1');
  });
  const msgs: string[] = [];
  for (mode = 0; mode < 4; mode++) {
    const err = await t.throwsAsync(client.call('IpamDriver.RequestPool', {}));
    t.true(isTsnetError(err, 'TSNET_PLUGIN_ERROR'));
    msgs.push(err!.message);
  }
  t.deepEqual(msgs, [
    'plugin "fake": IpamDriver.RequestPool: pool exhausted',
    'plugin "fake": IpamDriver.RequestPool: lower case',
    'plugin "fake": IpamDriver.RequestPool: bad subnet',
    'plugin "fake": IpamDriver.RequestPool: panic: runtime error',
  ]);
});

test('404 is "not implemented"', async (t) => {
  const { client } = await setup(t, (m, _b, res) =>
    m === 'Plugin.Activate' ? okReply(m, _b, res) : json(res, 404, '404 page not found'),
  );
  const err = await t.throwsAsync(client.call('NetworkDriver.ProgramExternalConnectivity', {}));
  t.true(isNotImplemented(err));
  t.regex(err!.message, /not implemented by the plugin \(HTTP 404/);
  t.false(isMisused404(err));
});

test('a 404 with the plugin\'s own Err is reported with that message, not as "not implemented"', async (t) => {
  const { client } = await setup(t, (m, _b, res) =>
    m === 'Plugin.Activate' ? okReply(m, _b, res) : json(res, 404, { Err: 'no such pool p7' }),
  );
  const err = await t.throwsAsync(client.call('IpamDriver.RequestAddress', {}));
  t.is(err!.message, 'plugin "fake": IpamDriver.RequestAddress: no such pool p7 (HTTP 404)');
  t.true(isMisused404(err), 'the daemon can tell a misused 404 from a missing call');
});

test('malformed JSON and non-object replies are TSNET_PLUGIN_BAD_REPLY; an empty 200 body is {}', async (t) => {
  let body = '{"Scope": "local"';
  const { client } = await setup(t, (m, _b, res) => {
    if (m === 'Plugin.Activate') return okReply(m, _b, res);
    res.writeHead(200);
    res.end(body);
  });
  const e1 = await t.throwsAsync(client.call('NetworkDriver.GetCapabilities'));
  t.true(isTsnetError(e1, 'TSNET_PLUGIN_BAD_REPLY'));
  t.regex(e1!.message, /^plugin "fake": NetworkDriver\.GetCapabilities: malformed JSON reply/);
  body = '["x"]';
  t.true(isTsnetError(await t.throwsAsync(client.call('NetworkDriver.GetCapabilities')), 'TSNET_PLUGIN_BAD_REPLY'));
  body = '';
  t.deepEqual(await client.call('NetworkDriver.Leave', {}), {});
});

test('a plugin that answers slowly times out (per-call timeout, default overridable) while other calls go on', async (t) => {
  const { client, fake } = await setup(
    t,
    (m, b, res) => {
      if (m === 'NetworkDriver.Join') return; // never answers
      okReply(m, b, res);
    },
    { timeoutMs: 3000 },
  );
  await client.activate();
  let slowSettled = false;
  const slow = client.call('NetworkDriver.Join', {}).finally(() => {
    slowSettled = true;
  });
  slow.catch(() => undefined); // awaited below; no unhandled rejection if an assertion ends the test first
  // While Join hangs, other calls to the same plugin are answered (no lock).
  await client.call('NetworkDriver.Leave', {});
  t.false(slowSettled, 'Leave was answered while Join still hung');
  const err = await t.throwsAsync(slow);
  t.true(isTsnetError(err, 'TSNET_PLUGIN_TIMEOUT'));
  t.is(
    err!.message,
    'plugin "fake": NetworkDriver.Join: no reply within 3000 ms (a slow plugin may need a longer tsnetd --plugin-timeout)',
  );
  const err2 = await t.throwsAsync(client.call('NetworkDriver.Join', {}, { timeoutMs: 100 }));
  t.is(
    err2!.message,
    'plugin "fake": NetworkDriver.Join: no reply within 100 ms (a slow plugin may need a longer tsnetd --plugin-timeout)',
    'the per-call timeout overrides the default',
  );
  t.is(fake.count('NetworkDriver.Join'), 2, 'a timed-out call is not retried');
});

test('a plugin that dies mid-call: clear error, no retry, re-activated on the next call', async (t) => {
  let die = true;
  const { client, fake } = await setup(t, (m, b, res, req) => {
    if (m === 'NetworkDriver.CreateEndpoint' && die) {
      req!.socket.destroy(); // the connection breaks after the request arrived
      return;
    }
    okReply(m, b, res);
  });
  const err = await t.throwsAsync(client.call('NetworkDriver.CreateEndpoint', { EndpointID: 'e' }));
  t.true(isTsnetError(err, 'TSNET_PLUGIN_UNAVAILABLE'));
  t.regex(err!.message, /^plugin "fake": NetworkDriver\.CreateEndpoint: connection lost before a reply \(ECONNRESET\)/);
  t.is(fake.count('NetworkDriver.CreateEndpoint'), 1, 'not sent twice: it may have had an effect');
  die = false;
  await client.call('NetworkDriver.CreateEndpoint', { EndpointID: 'e' });
  t.is(fake.count('Plugin.Activate'), 2, 'the plugin was activated again after the lost connection');
});

test('no plugin behind the socket: bounded retries, then TSNET_PLUGIN_UNAVAILABLE', async (t) => {
  const dir = tmpDir(t);
  const rec = recorder();
  const client = new PluginClient(socketAddress('gone', path.join(dir, 'gone.sock')), {
    retryBudgetMs: 2000,
    logger: rec.logger,
  });
  t.teardown(() => client.close());
  // bounded: the retries end (well within the test's timeout) with an error, not a hang
  t.timeout(10_000);
  const err = await t.throwsAsync(client.call('NetworkDriver.CreateNetwork', {}));
  t.true(isTsnetError(err, 'TSNET_PLUGIN_UNAVAILABLE'));
  t.regex(
    err!.message,
    /^plugin "gone": NetworkDriver\.CreateNetwork: cannot connect to unix:\/\/.*gone\.sock: ENOENT \(\d+ attempts in [\d.]+ s\); is the plugin running\?$/,
  );
  t.true(
    rec.lines.some((l) => /^warn plugin "gone": NetworkDriver.CreateNetwork: cannot connect .* retrying in 100 ms$/.test(l)),
    rec.lines.join('\n'),
  );
});

test('a plugin that comes up while the client retries is used (and activated first)', async (t) => {
  const dir = tmpDir(t);
  const socket = path.join(dir, 'late.sock');
  const rec = recorder();
  const client = new PluginClient(socketAddress('late', socket), { retryBudgetMs: 30_000, logger: rec.logger });
  t.teardown(() => client.close());
  const pending = client.call('NetworkDriver.CreateNetwork', { NetworkID: 'n' });
  // the plugin comes up once the client has failed to connect and is retrying
  while (!rec.lines.some((l) => /cannot connect .* retrying in/.test(l))) await new Promise((r) => setTimeout(r, 10));
  const fake = await startFake(socket);
  t.teardown(() => fake.close());
  t.deepEqual(await pending, {});
  t.deepEqual(
    fake.seen.map((s) => s.method),
    ['Plugin.Activate', 'NetworkDriver.CreateNetwork'],
  );
});

test('a plugin that restarted between calls is re-activated and its activation hooks run again', async (t) => {
  const dir = tmpDir(t);
  const socket = path.join(dir, 'r.sock');
  let fake = await startFake(socket);
  const rec = recorder();
  const client = new PluginClient(socketAddress('r', socket), { logger: rec.logger, retryBudgetMs: 500 });
  t.teardown(async () => {
    client.close();
    await fake.close();
  });
  let hookRuns = 0;
  client.onActivate(async (call) => {
    hookRuns++;
    await call('NetworkDriver.GetCapabilities');
  });
  await client.call('NetworkDriver.CreateNetwork', {});
  t.is(hookRuns, 1);
  await fake.close();
  fake = await startFake(socket); // same path, new process (new socket inode)
  await client.call('NetworkDriver.DeleteNetwork', {});
  t.is(hookRuns, 2);
  t.is(client.activations, 2);
  t.deepEqual(
    fake.seen.map((s) => s.method),
    ['Plugin.Activate', 'NetworkDriver.GetCapabilities', 'NetworkDriver.DeleteNetwork'],
  );
  t.true(rec.lines.some((l) => /re-activated/.test(l)));
});

test('a failing activation hook fails the call and is retried on the next one', async (t) => {
  let capsOk = false;
  const { client } = await setup(t, (m, b, res) => {
    if (m === 'NetworkDriver.GetCapabilities' && !capsOk) return json(res, 500, { Err: 'not ready' });
    okReply(m, b, res);
  });
  client.onActivate(async (call) => void (await call('NetworkDriver.GetCapabilities')));
  const err = await t.throwsAsync(client.call('NetworkDriver.CreateNetwork', {}));
  t.is(err!.message, 'plugin "fake": NetworkDriver.GetCapabilities: not ready');
  capsOk = true;
  await t.notThrowsAsync(client.call('NetworkDriver.CreateNetwork', {}));
});

test('a bad activation manifest is TSNET_PLUGIN_BAD_REPLY', async (t) => {
  const { client } = await setup(t, (_m, _b, res) => json(res, 200, { Implements: 'NetworkDriver' }));
  const err = await t.throwsAsync(client.activate());
  t.true(isTsnetError(err, 'TSNET_PLUGIN_BAD_REPLY'));
  t.regex(err!.message, /Plugin\.Activate: "Implements" must be a list/);
});

test('TCP plugins (tcp:// from a .spec) work the same; Host is the real host', async (t) => {
  const fake = await startFake({ port: 0, host: '127.0.0.1' });
  t.teardown(() => fake.close());
  const client = new PluginClient(parsePluginUrl('tcp', `tcp://127.0.0.1:${fake.port}`, 'x.spec'));
  t.teardown(() => client.close());
  t.deepEqual(await client.call('IpamDriver.ReleasePool', { PoolID: 'p' }), {});
  t.is(fake.seen[0]!.headers.host, `127.0.0.1:${fake.port}`);
});

test('relocate: when the socket is gone, discovery is asked again and the new address used', async (t) => {
  const dir = tmpDir(t);
  const old = path.join(dir, 'old.sock');
  const fresh = path.join(dir, 'new.sock');
  const fake = await startFake(fresh);
  t.teardown(() => fake.close());
  const client = new PluginClient(socketAddress('m', old), { relocate: () => socketAddress('m', fresh), retryBudgetMs: 2_000 });
  t.teardown(() => client.close());
  t.deepEqual(await client.call('NetworkDriver.Leave', {}), {});
  t.is(client.address.socketPath, fresh);
});
