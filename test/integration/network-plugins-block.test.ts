/**
 * Plugins never block unrelated work (DESIGN rule 8): a plugin that hangs in CreateNetwork does
 * not hold up other networks, a plugin that calls back into the API from CreateNetwork does not
 * deadlock, and a restarted daemon listens at once while a plugin does not answer (its networks
 * are restored in the background; operations on them fail in one line until it answers).
 * The plugins are in-process fakes on unix sockets in the daemon's plugin dir.
 */
import test from 'ava';
import fs from 'node:fs';
import http, { type ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createWorld, eventually, type World } from '../helpers/world.js';
import { json, okReply, startFake, type FakePlugin, type Reply } from '../unit/plugins/fake-plugin.js';

let w: World;
let pluginDir: string;
const fakes: FakePlugin[] = [];
test.before(async () => {
  pluginDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-plugblock-'));
  // a long per-call timeout: a call to a silent plugin is still waiting when a restarted daemon
  // listens (the restart test checks it), however slowly a loaded machine starts the daemon
  w = await createWorld({ daemonArgs: ['--plugin-dir', pluginDir, '--plugin-timeout', '90000'] });
});
test.after.always(async () => {
  for (const f of fakes) await f.close().catch(() => undefined);
  await w?.teardown();
  fs.rmSync(pluginDir, { recursive: true, force: true });
});

async function fake(name: string, reply: Reply): Promise<FakePlugin> {
  const f = await startFake(path.join(pluginDir, `${name}.sock`), reply);
  fakes.push(f);
  return f;
}

/**
 * A reply that holds the methods in `hold` until release() answers them with `okReply`;
 * `gaveUp` counts the held calls the daemon closed before they were answered (its timeout).
 */
function holding(hold: (method: string) => boolean) {
  const held: Array<{ method: string; body: string; res: ServerResponse }> = [];
  let released = false;
  let gaveUp = 0;
  const reply: Reply = (method, body, res) => {
    if (!released && hold(method)) {
      held.push({ method, body, res });
      res.once('close', () => {
        if (!res.writableEnded) gaveUp++;
      });
    } else okReply(method, body, res);
  };
  return {
    reply,
    held,
    gaveUp: () => gaveUp,
    release() {
      released = true;
      for (const h of held.splice(0)) okReply(h.method, h.body, h.res);
    },
  };
}

/** One call to the daemon's API from inside a plugin. */
function api(method: string, p: string, body?: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath: w.socket, method, path: p, headers: { 'Content-Type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

test.serial('a plugin hanging in CreateNetwork does not block other networks', async (t) => {
  const h = holding((m) => m === 'NetworkDriver.CreateNetwork');
  const f = await fake('hang', h.reply);
  let settled = false;
  const hung = w.cli(['network', 'create', '-d', 'hang', 'hungnet']).then((r) => {
    settled = true;
    return r;
  });
  t.true(await eventually(() => f.count('NetworkDriver.CreateNetwork') === 1, 20_000));
  // meanwhile: bridge networks are made, used and removed; the pending name is taken
  await w.ok(['network', 'create', 'besides']);
  const r = await w.cli(['run', '--rm', '--network', 'besides', 'busybox', 'true']);
  t.is(r.exitCode, 0, r.stderr);
  t.regex(await w.ok(['network', 'ls']), /besides/);
  const dup = await w.cli(['network', 'create', '-d', 'hang', 'hungnet']);
  t.not(dup.exitCode, 0);
  t.regex(dup.stderr, /already exists/);
  await w.ok(['network', 'rm', 'besides']);
  t.false(settled, 'the hanging create is still waiting for its plugin');
  h.release();
  const done = await hung;
  t.is(done.exitCode, 0, done.stderr);
  await w.ok(['network', 'rm', 'hungnet']);
  t.is(f.count('NetworkDriver.DeleteNetwork'), 1);
});

test.serial('a plugin calling back into the API during CreateNetwork does not deadlock', async (t) => {
  const inner: number[] = [];
  await fake('callback', (method, body, res) => {
    if (method !== 'NetworkDriver.CreateNetwork') return okReply(method, body, res);
    void (async () => {
      inner.push(await api('GET', '/networks'));
      inner.push(await api('POST', '/networks/create', { Name: 'from-plugin' }));
      json(res, 200, {});
    })().catch(() => json(res, 500, { Err: 'callback failed' }));
  });
  const r = await w.cli(['network', 'create', '-d', 'callback', 'cbnet']);
  t.is(r.exitCode, 0, r.stderr);
  t.deepEqual(inner, [200, 201], 'the plugin could list and create networks during its CreateNetwork');
  t.regex(await w.ok(['network', 'ls']), /from-plugin/);
  await w.ok(['network', 'rm', 'cbnet', 'from-plugin']);
});

test.serial('a restarted daemon listens at once while a plugin is silent; its networks follow', async (t) => {
  const h = holding((m) => m !== '');
  const f = await fake('silent', okReply);
  await w.ok(['network', 'create', '-d', 'silent', 'silentnet']);
  await w.killDaemon('SIGKILL');
  f.reply = h.reply; // from now on the plugin answers nothing
  await w.startDaemon();
  // a start that waited for the plugin would listen only once its call had timed out
  t.is(h.gaveUp(), 0, 'the daemon listens while its calls to the silent plugin still wait');
  t.regex(await w.ok(['network', 'ls']), /silentnet/);
  await w.ok(['network', 'create', 'meanwhile']);
  const r = await w.cli(['run', '--rm', '--network', 'meanwhile', 'busybox', 'true']);
  t.is(r.exitCode, 0, r.stderr);
  await w.ok(['network', 'rm', 'meanwhile']);
  t.true(h.held.length > 0, 'the background restore is waiting for the plugin');
  h.release();
  await w.ok(['network', 'rm', 'silentnet']);
  t.is(f.count('NetworkDriver.DeleteNetwork'), 1);
});

test.serial('operations on a network whose plugin is gone fail in one line until it is back', async (t) => {
  let f = await fake('flaky', okReply);
  await w.ok(['network', 'create', '-d', 'flaky', 'flakynet']);
  await w.killDaemon('SIGKILL');
  await f.close();
  fs.rmSync(path.join(pluginDir, 'flaky.sock'), { force: true });
  await w.startDaemon();
  const rm = await w.cli(['network', 'rm', 'flakynet']);
  t.not(rm.exitCode, 0);
  t.regex(rm.stderr, /flaky/);
  t.is(rm.stderr.trim().split('\n').length, 1, rm.stderr);
  t.regex(await w.ok(['network', 'ls']), /flakynet/, 'the network is still there');
  f = await fake('flaky', okReply);
  await w.ok(['network', 'rm', 'flakynet']);
  t.is(f.count('NetworkDriver.DeleteNetwork'), 1);
});
