/**
 * The thin client (src/cli/launcher/served.c) against a CLI socket that misbehaves: a daemon that
 * closes the session without a frame died with the command under way, so the launcher says so and
 * exits 125 — it never runs the command a second time through node (the first run may be half
 * done). A socket that answers `fallback` does hand the command to node.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import test from 'ava';
import { FakeDaemon, ROOT, tsnet } from './helpers/fake-daemon.js';

const LAUNCHER = path.join(ROOT, 'dist/cli-bundle/tsnet');

/** A CLI socket beside the fake daemon's API socket that answers each hello with `reply`. */
async function cliSocket(apiSocket: string, reply: (s: net.Socket) => void): Promise<net.Server> {
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    s.once('data', () => reply(s));
  });
  await new Promise<void>((resolve) => server.listen(`${apiSocket}.cli`, resolve));
  return server;
}

test('a daemon that closes the CLI session without a frame: one line, exit 125, no second run through node', async (t) => {
  if (!fs.existsSync(LAUNCHER)) t.fail(`no launcher at ${LAUNCHER}: run npm run build`);
  const d = await FakeDaemon.start();
  t.teardown(() => d.close());
  d.reply('POST', '/networks/create', 201, { Id: 'n'.repeat(64), Warning: '' });
  const server = await cliSocket(d.socketPath, (s) => s.destroy());
  t.teardown(() => server.close());
  const r = await tsnet(['network', 'create', 'half'], { exec: LAUNCHER, host: d.host, env: { NODE_OPTIONS: '' } });
  t.is(r.code, 125);
  t.regex(r.stderr, /closed the CLI session without an answer/);
  t.is(r.stderr.trim().split('\n').length, 1);
  t.deepEqual(
    d.requests.filter((q) => q.method === 'POST'),
    [],
    'the command was not sent again through node',
  );
});

test('a CLI socket that answers fallback: node runs the command', async (t) => {
  if (!fs.existsSync(LAUNCHER)) t.fail(`no launcher at ${LAUNCHER}: run npm run build`);
  const d = await FakeDaemon.start();
  t.teardown(() => d.close());
  d.reply('POST', '/networks/create', 201, { Id: 'n'.repeat(64), Warning: '' });
  const server = await cliSocket(d.socketPath, (s) => s.end(Buffer.from([0, 0, 0, 0, 0x66])));
  t.teardown(() => server.close());
  const r = await tsnet(['network', 'create', 'whole'], { exec: LAUNCHER, host: d.host, env: { NODE_OPTIONS: '' } });
  t.is(r.code, 0, r.stderr);
  t.is(d.requests.filter((q) => q.method === 'POST' && q.path.includes('/networks/create')).length, 1);
});
