import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { PluginRegistry } from '../../../src/plugins/registry.js';
import { isTsnetError } from '../../../src/errors/index.js';
import { json, okReply, staleSocket, startFake, tmpDir } from './fake-plugin.js';

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function registry(
  t: { teardown(fn: () => void): void },
  dir: string,
  extra: Partial<ConstructorParameters<typeof PluginRegistry>[0]> = {},
) {
  const r = new PluginRegistry({
    socketDirs: [path.join(dir, 'run')],
    specDirs: [path.join(dir, 'etc')],
    logger: quiet,
    retryBudgetMs: 300,
    ...extra,
  });
  t.teardown(() => r.close());
  fs.mkdirSync(path.join(dir, 'run'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'etc'), { recursive: true });
  return r;
}

test('get: a missing plugin fails at once with the places looked at', async (t) => {
  const dir = tmpDir(t);
  const r = registry(t, dir);
  t.timeout(5_000, 'no 15 s lookup retry as in Docker');
  const err = await t.throwsAsync(r.get('nope', 'NetworkDriver'));
  t.true(isTsnetError(err, 'TSNET_PLUGIN_NOT_FOUND'));
  t.regex(err!.message, /^plugin "nope" not found \(looked for .*run\/nope\.sock, .*etc\/nope\.\{spec,json\}\)$/);
});

test('get: activates lazily, once for concurrent callers, and checks the kind', async (t) => {
  const dir = tmpDir(t);
  const r = registry(t, dir);
  const fake = await startFake(path.join(dir, 'run', 'net.sock'), (m, b, res) =>
    m === 'Plugin.Activate' ? json(res, 200, { Implements: ['NetworkDriver'] }) : okReply(m, b, res),
  );
  t.teardown(() => fake.close());
  t.is(fake.count('Plugin.Activate'), 0);
  const [a, b] = await Promise.all([r.get('net', 'NetworkDriver'), r.get('net', 'NetworkDriver')]);
  t.is(a, b);
  t.is(fake.count('Plugin.Activate'), 1);
  const err = await t.throwsAsync(r.get('net', 'IpamDriver'));
  t.true(isTsnetError(err, 'TSNET_PLUGIN_NOT_FOUND'));
  t.is(err!.message, 'plugin "net" does not implement IpamDriver (it implements: NetworkDriver)');
});

test('get: an unreachable plugin is TSNET_PLUGIN_UNAVAILABLE for this call only', async (t) => {
  const dir = tmpDir(t);
  const r = registry(t, dir);
  await staleSocket(path.join(dir, 'run', 'dead.sock'));
  const err = await t.throwsAsync(r.get('dead', 'NetworkDriver'));
  t.true(isTsnetError(err, 'TSNET_PLUGIN_UNAVAILABLE'));
  t.regex(err!.message, /^plugin "dead": Plugin\.Activate: cannot connect to unix:.*dead\.sock: ECONNREFUSED/);
});

test('list: name, address, what it implements and whether it answers', async (t) => {
  const dir = tmpDir(t);
  const r = registry(t, dir, { probeTimeoutMs: 500 });
  const fake = await startFake(path.join(dir, 'run', 'good.sock'));
  t.teardown(() => fake.close());
  await staleSocket(path.join(dir, 'run', 'dead.sock'));
  fs.writeFileSync(path.join(dir, 'etc', 'bad.spec'), 'nonsense');
  fs.writeFileSync(path.join(dir, 'etc', 'far.spec'), 'tcp://127.0.0.1:9');
  const hang = await startFake(path.join(dir, 'run', 'hang.sock'), () => undefined);
  t.teardown(() => hang.close());
  // the hung plugin's probe is bounded (500 ms): list ends, well within the test's timeout
  t.timeout(10_000);
  const rows = await r.list();
  const by = Object.fromEntries(rows.map((x) => [x.Name, x]));
  t.deepEqual(Object.keys(by).sort(), ['bad', 'dead', 'far', 'good', 'hang']);
  t.deepEqual(by.good, {
    Name: 'good',
    Addr: `unix://${path.join(dir, 'run', 'good.sock')}`,
    Implements: ['NetworkDriver', 'IpamDriver'],
    Status: 'active',
  });
  t.is(by.dead!.Status, 'unavailable: ECONNREFUSED');
  t.is(by.far!.Status, 'unavailable: ECONNREFUSED');
  t.regex(by.hang!.Status, /^unavailable: no reply within 500 ms/);
  t.regex(by.bad!.Status, /^invalid: plugin spec file .*bad\.spec/);
});

test('list: a plugin that stopped answering shows no IMPLEMENTS, and what it last implemented in its status', async (t) => {
  const dir = tmpDir(t);
  const r = registry(t, dir, { probeTimeoutMs: 500 });
  const fake = await startFake(path.join(dir, 'run', 'gone.sock'));
  await r.get('gone', 'NetworkDriver');
  await fake.close();
  await staleSocket(path.join(dir, 'run', 'gone.sock'));
  const row = (await r.list()).find((x) => x.Name === 'gone')!;
  t.deepEqual(row.Implements, []);
  t.is(row.Status, 'unavailable: ECONNREFUSED (last seen implementing NetworkDriver, IpamDriver)');
});

test('a known plugin whose socket is re-created elsewhere is followed', async (t) => {
  const dir = tmpDir(t);
  const r = registry(t, dir, { retryBudgetMs: 2_000 });
  let fake = await startFake(path.join(dir, 'run', 'mv.sock'));
  const client = await r.get('mv', 'NetworkDriver');
  await fake.close();
  fs.mkdirSync(path.join(dir, 'run', 'mv'));
  fake = await startFake(path.join(dir, 'run', 'mv', 'mv.sock'));
  t.teardown(() => fake.close());
  await client.call('NetworkDriver.Leave', {});
  t.is(client.address.socketPath, path.join(dir, 'run', 'mv', 'mv.sock'));
  t.is(client.activations, 2);
});
