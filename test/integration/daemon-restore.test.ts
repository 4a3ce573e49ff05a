/**
 * The daemon's restore at start (docs/architecture.md, "Daemon restart"): the API answers reads
 * from the records while the kernel state is restored, other requests wait for the restore; a
 * clean stop hands the embedded DNS resolvers' ports to the next daemon, which binds them again
 * instead of rewriting every sandbox's rules; a stale hand-off is ignored.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { api } from '../helpers/api.js';
import { createWorld, eventually, type World } from '../helpers/world.js';

let w: World;
test.before(async () => {
  w = await createWorld();
  await w.ok(['network', 'create', '--subnet', '10.78.0.0/24', 'rnet']);
  await w.ok(['run', '-d', '--name', 'srv', '--network', 'rnet', 'busybox', 'sleep', '100000']);
  await w.ok(['run', '-d', '--name', 'asker', '--network', 'rnet', 'busybox', 'sleep', '100000']);
});
test.after.always(async () => {
  await w?.teardown();
});

const HANDOFF = (): string => path.join(w.execRoot, 'dns-handoff.json');

/** The name `srv` resolves inside `asker` through the embedded DNS (127.0.0.11). */
async function resolves(): Promise<boolean> {
  const r = await w.cli(['exec', 'asker', 'nslookup', 'srv', '127.0.0.11']);
  return r.exitCode === 0 && /Address:\s*10\.78\.0\.\d+/.test(r.stdout);
}

const restoreLine = (from: number): string => /restore done in .*/.exec(w.daemonLog().slice(from))?.[0] ?? '';

test.serial('a clean restart hands the resolver ports on: no rules rewritten, names still resolve', async (t) => {
  t.true(await resolves(), 'resolves before the restart');
  await w.killDaemon('SIGTERM');
  const handed = JSON.parse(fs.readFileSync(HANDOFF(), 'utf8')) as Record<string, { udp: number; tcp: number }>;
  t.is(Object.keys(handed).length, 2, 'both resolvers handed on');
  const from = w.daemonLog().length;
  await w.startDaemon();
  t.regex(restoreLine(from), / 2 embedded DNS resolvers kept their ports/);
  t.false(fs.existsSync(HANDOFF()), 'the hand-off is used once');
  t.true(await resolves(), 'resolves after the restart');
});

test.serial('a stale hand-off (another daemon ran after it was written) is ignored: the rules are re-pointed', async (t) => {
  await w.killDaemon('SIGTERM');
  // ports no resolver will have, in a file older than the exec-root's last change (as when a
  // daemon that does not know the hand-off started and stopped after it was written)
  const handed = JSON.parse(fs.readFileSync(HANDOFF(), 'utf8')) as Record<string, { udp: number; tcp: number }>;
  for (const p of Object.values(handed)) {
    p.udp = p.udp === 65001 ? 65002 : 65001;
    p.tcp = p.tcp === 65001 ? 65002 : 65001;
  }
  fs.writeFileSync(HANDOFF(), JSON.stringify(handed));
  const old = new Date(Date.now() - 60_000);
  fs.utimesSync(HANDOFF(), old, old);
  // and the temp file of a write a kill interrupted
  const tmp = `${HANDOFF()}.12345.tmp`;
  fs.writeFileSync(tmp, '{');
  const from = w.daemonLog().length;
  await w.startDaemon();
  t.regex(restoreLine(from), / 0 embedded DNS resolvers kept their ports/);
  t.false(fs.existsSync(tmp), 'the temp file is removed');
  t.false(fs.existsSync(HANDOFF()), 'the stale file is removed');
  t.true(await resolves(), 'resolves after the restart');
});

test.serial('during the restore reads are answered and other requests wait for it', async (t) => {
  const hold = path.join(w.dir, 'release-restore');
  await w.killDaemon('SIGTERM');
  await w.startDaemon([], { TSNET_TEST_HOLD_RESTORE: hold }, { restored: false });
  // reads: from the records, at once
  t.is((await api(w.socket, { path: '/_ping' })).status, 200);
  const ps = await api(w.socket, { path: '/containers/json?all=1' });
  t.is(ps.status, 200);
  t.deepEqual((ps.json as Array<{ Names: string[] }>).map((c) => c.Names[0]).sort(), ['/asker', '/srv']);
  // a create on the user network needs its bridge restored: it waits, and then succeeds
  let settled = false;
  const create = api(w.socket, {
    method: 'POST',
    path: '/containers/create?name=during',
    body: {
      Image: 'busybox',
      Cmd: ['true'],
      HostConfig: { NetworkMode: 'rnet' },
      NetworkingConfig: { EndpointsConfig: { rnet: {} } },
    },
    timeoutMs: 120_000,
  }).finally(() => (settled = true));
  t.is((await api(w.socket, { path: '/containers/srv/json' })).status, 200, 'inspect answers meanwhile');
  t.false(settled, 'the create waits while the restore is held');
  fs.writeFileSync(hold, '');
  const made = await create;
  t.is(made.status, 201, made.text);
  t.truthy(await eventually(() => /restore done in/.test(w.daemonLog()), 30_000));
  t.true(await resolves(), 'resolves after the restore');
  await w.ok(['rm', 'during']);
});

test.serial('a daemon killed during its restore is restored by the next one: containers keep their network', async (t) => {
  const hold = path.join(w.dir, 'never');
  await w.killDaemon('SIGTERM');
  await w.startDaemon([], { TSNET_TEST_HOLD_RESTORE: hold }, { restored: false });
  t.is((await api(w.socket, { path: '/_ping' })).status, 200);
  await w.killDaemon('SIGKILL');
  const from = w.daemonLog().length;
  await w.startDaemon();
  // the killed one took the hand-off and kept nothing: the rules are re-pointed
  t.regex(restoreLine(from), / 0 embedded DNS resolvers kept their ports/);
  t.true(await resolves(), 'resolves after the restart');
  const ps = (await api(w.socket, { path: '/containers/json' })).json as Array<{ Names: string[]; State: string }>;
  t.deepEqual(ps.map((c) => `${c.Names[0]} ${c.State}`).sort(), ['/asker running', '/srv running']);
});
