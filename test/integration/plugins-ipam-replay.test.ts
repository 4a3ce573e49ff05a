/**
 * Issue 15 (2): an IPAM plugin whose capabilities say RequiresRequestReplay keeps no state of its
 * own across restarts; the daemon asks again for every pool and address it holds — at its own
 * start, and when the plugin restarted and is activated again — before anything else reaches it.
 *
 * The example static-ipam plugin (memory only) runs with requiresRequestReplay; the real effect
 * checked is that after a plugin restart (and after a daemon restart) a new container gets an
 * address distinct from the running one's, from the same pool, and the daemon's log counts the
 * replayed requests.
 */
import test, { type ExecutionContext } from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createWorld, REPO, type World } from '../helpers/world.js';
import { startExample, stopChild, type RunningPlugin } from '../conformance/harness.js';
import { requireNeeds } from '../helpers/preconditions.js';

const DAEMON = path.join(REPO, 'dist', 'daemon', 'main.js');
test.before(() => requireNeeds({ root: true, files: [[DAEMON, 'run npm run build']] }));

interface Env {
  world: World;
  pluginDir: string;
  cfg: string;
  plugin?: RunningPlugin;
}

async function setup(t: ExecutionContext): Promise<Env> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-replay-'));
  const pluginDir = path.join(base, 'plugins');
  const specDir = path.join(base, 'specs');
  fs.mkdirSync(pluginDir);
  fs.mkdirSync(specDir);
  const cfg = path.join(base, 'static.json');
  fs.writeFileSync(
    cfg,
    JSON.stringify({
      requiresRequestReplay: true,
      pools: [{ subnet: '10.91.0.0/24', gateway: '10.91.0.254', range: '10.91.0.128/25' }],
    }),
  );
  const world = await createWorld({
    daemonArgs: ['--plugin-dir', pluginDir, '--plugin-spec-dir', specDir, '--plugin-timeout', '5000'],
  });
  const e: Env = { world, pluginDir, cfg };
  t.teardown(async () => {
    await world.teardown();
    if (e.plugin) await stopChild(e.plugin.child);
    fs.rmSync(base, { recursive: true, force: true });
  });
  return e;
}

async function startPlugin(e: Env): Promise<void> {
  if (e.plugin) await stopChild(e.plugin.child);
  e.plugin = await startExample('static-ipam', {
    socketDir: e.pluginDir,
    netnsFile: e.world.hostNetns,
    args: ['--config', e.cfg],
  });
}

const ipOf = (w: World, name: string) => w.ok(['inspect', '-f', '{{.NetworkSettings.Networks.rnet.IPAddress}}', name]);

function replayLines(w: World): string[] {
  return w
    .daemonLog()
    .split('\n')
    .filter((l) => /replayed \d+ pool\(s\) and \d+ address\(es\)/.test(l));
}

test.serial('RequiresRequestReplay: pools and addresses are replayed after a plugin restart and at daemon start', async (t) => {
  const e = await setup(t);
  const w = e.world;
  await startPlugin(e);
  await w.ok(['network', 'create', '--ipam-driver', 'static-ipam', '--subnet', '10.91.0.0/24', 'rnet']);
  await w.ok(['run', '-d', '--name', 'a', '--network', 'rnet', 'busybox', 'sleep', '300']);
  const ipA = await ipOf(w, 'a');
  t.regex(ipA, /^10\.91\.0\.1(2[89]|[3-9]\d)$/);

  // The plugin restarts with an empty memory: the next call re-activates it and the daemon
  // replays the pool (with its gateway) and a's address before that call goes through.
  await startPlugin(e);
  await w.ok(['run', '-d', '--name', 'b', '--network', 'rnet', 'busybox', 'sleep', '300']);
  const ipB = await ipOf(w, 'b');
  t.regex(ipB, /^10\.91\.0\.\d+$/);
  t.not(ipB, ipA, 'without the replay the restarted plugin hands out a’s address again');
  t.true(
    replayLines(w).some((l) => /replayed 1 pool\(s\) and 1 address\(es\)/.test(l)),
    replayLines(w).join('\n') || w.daemonLog().split('\n').slice(-20).join('\n'),
  );

  // Daemon and plugin both restart: the daemon replays at its start (pool + a + b).
  await w.killDaemon('SIGKILL');
  await startPlugin(e);
  await w.startDaemon();
  await w.ok(['run', '-d', '--name', 'c', '--network', 'rnet', 'busybox', 'sleep', '300']);
  const ipC = await ipOf(w, 'c');
  t.regex(ipC, /^10\.91\.0\.\d+$/);
  t.not(ipC, ipA);
  t.not(ipC, ipB);
  t.true(
    replayLines(w).some((l) => /replayed 1 pool\(s\) and 2 address\(es\)/.test(l)),
    replayLines(w).join('\n'),
  );
  // What was replayed is still released normally: rm and network rm go through.
  await w.ok(['rm', '-f', 'a', 'b', 'c']);
  await w.ok(['network', 'rm', 'rnet']);
});
