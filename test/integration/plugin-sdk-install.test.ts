/**
 * The plugin SDK as a third party uses it: installed from a tarball (`npm pack`) and from the
 * folder, imported by its package name from a plugin of their own, answering tsnet's client; and
 * served over TCP with TLS, found by the daemon's discovery through the `.json` spec it writes.
 * Everything lives in temp dirs removed at teardown; traffic only on loopback.
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { serveNetworkPlugin } from '../../plugins/sdk/src/index.js';
import { PluginClient } from '../../src/plugins/client.js';
import { PluginRegistry } from '../../src/plugins/registry.js';
import { socketAddress } from '../../src/plugins/spec-files.js';
import { REPO } from '../helpers/world.js';

const SDK = path.join(REPO, 'plugins', 'sdk');
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function tmp(t: { teardown(fn: () => void): void }, tag: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `tsnet-sdk-${tag}-`));
  t.teardown(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

function sh(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** A consumer project with one plugin file importing the SDK by its package name. */
function consumer(dir: string): void {
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'my-plugin', version: '1.0.0', type: 'module' }));
  fs.writeFileSync(
    path.join(dir, 'plugin.mjs'),
    `import { serveNetworkPlugin } from '@tsnet/plugin-sdk';
const server = await serveNetworkPlugin({
  name: 'mine',
  socketDir: process.argv[2],
  handlers: {
    getCapabilities: () => ({ Scope: 'local', ConnectivityScope: 'global' }),
    createNetwork() {}, deleteNetwork() {}, createEndpoint() {}, deleteEndpoint() {},
    join: () => ({}), leave() {},
  },
});
console.log('ready', server.address);
process.on('SIGTERM', async () => { await server.close(); process.exit(0); });
`,
  );
}

/** Start the consumer's plugin, ask it through tsnet's client, stop it. */
async function exercise(t: import('ava').ExecutionContext, dir: string): Promise<void> {
  const sockets = path.join(dir, 'sockets');
  const child = spawn('node', ['plugin.mjs', sockets], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const deadline = Date.now() + 20_000;
  while (!out.includes('ready') && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.regex(out, /^ready unix:\/\//, out);
  const client = new PluginClient(socketAddress('mine', path.join(sockets, 'mine.sock')));
  t.teardown(() => client.close());
  t.deepEqual((await client.probe()).Implements, ['NetworkDriver']);
  t.like(await client.call('NetworkDriver.GetCapabilities'), { Scope: 'local', ConnectivityScope: 'global' });
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  t.false(fs.existsSync(path.join(sockets, 'mine.sock')), 'the socket is removed on SIGTERM');
}

test.serial('installed from the npm pack tarball, the SDK imports by name and serves a plugin', async (t) => {
  const packs = tmp(t, 'pack');
  const file = sh('npm', ['pack', '--silent', '--pack-destination', packs], SDK).trim().split('\n').at(-1)!;
  const listing = sh('tar', ['-tzf', path.join(packs, file)], packs);
  t.regex(listing, /package\/dist\/index\.js/, 'the tarball ships the built dist/');
  t.regex(listing, /package\/dist\/index\.d\.ts/, 'and its types');
  const dir = tmp(t, 'tgz');
  consumer(dir);
  sh('npm', ['install', '--offline', '--no-audit', '--no-fund', path.join(packs, file)], dir);
  await exercise(t, dir);
});

test.serial('a dependency on the folder works in a built checkout (npm run build builds the SDK)', async (t) => {
  t.true(fs.existsSync(path.join(SDK, 'dist', 'index.js')), 'npm run build emits plugins/sdk/dist');
  const dir = tmp(t, 'dir');
  consumer(dir);
  sh('npm', ['install', '--offline', '--no-audit', '--no-fund', SDK], dir);
  await exercise(t, dir);
});

test.serial('TCP with TLS: the .json spec the SDK writes lets the daemon find and verify the plugin', async (t) => {
  const dir = tmp(t, 'tls');
  const ssl = (args: string[]): string => sh('openssl', args, dir);
  // A CA, and a certificate for 127.0.0.1 signed by it; a second CA that signed nothing.
  ssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=test-ca',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
  ]);
  ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'p.key', '-out', 'p.csr']);
  fs.writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  ssl([
    'x509',
    '-req',
    '-in',
    'p.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    'ext.cnf',
    '-out',
    'p.pem',
  ]);
  ssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=other-ca',
    '-keyout',
    'o.key',
    '-out',
    'o.pem',
  ]);

  const specDir = path.join(dir, 'specs');
  const server = await serveNetworkPlugin({
    name: 'secure',
    tcp: {
      host: '127.0.0.1',
      port: 0,
      specDir,
      tls: { certFile: path.join(dir, 'p.pem'), keyFile: path.join(dir, 'p.key'), caFile: path.join(dir, 'ca.pem') },
    },
    handlers: {
      createNetwork() {},
      deleteNetwork() {},
      createEndpoint() {},
      deleteEndpoint() {},
      join: () => ({}),
      leave() {},
    },
  });
  t.teardown(() => server.close());
  t.regex(server.address, /^https:\/\/127\.0\.0\.1:\d+$/);
  const spec = JSON.parse(fs.readFileSync(path.join(specDir, 'secure.json'), 'utf8'));
  t.deepEqual(spec, {
    Name: 'secure',
    Addr: server.address,
    TLSConfig: { InsecureSkipVerify: false, CAFile: path.join(dir, 'ca.pem') },
  });
  const registry = new PluginRegistry({ socketDirs: [path.join(dir, 'no-sockets')], specDirs: [specDir], logger: quiet });
  t.teardown(() => registry.close());
  const client = await registry.get('secure', 'NetworkDriver');
  t.like(await client.call('NetworkDriver.GetCapabilities'), { Scope: 'local' });

  // The same plugin announced with a CA that did not sign its certificate is refused.
  const wrong = path.join(dir, 'wrong');
  fs.mkdirSync(wrong);
  fs.writeFileSync(
    path.join(wrong, 'secure.json'),
    JSON.stringify({ ...spec, TLSConfig: { InsecureSkipVerify: false, CAFile: path.join(dir, 'o.pem') } }),
  );
  const other = new PluginRegistry({
    socketDirs: [path.join(dir, 'no-sockets')],
    specDirs: [wrong],
    logger: quiet,
    retryBudgetMs: 100,
  });
  t.teardown(() => other.close());
  const err = await t.throwsAsync(other.get('secure', 'NetworkDriver'));
  t.regex(
    err!.message,
    /^plugin "secure": Plugin\.Activate: TLS handshake with https:\/\/127\.0\.0\.1:\d+ failed \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\): check TLSConfig/,
  );
  await server.close();
  t.false(fs.existsSync(path.join(specDir, 'secure.json')), 'the spec file is removed on close');
});
