/**
 * The exit / wait / remove half of a run (issue 14.2): an exited container's bundle and a
 * removed container's dir go into trash dirs by one rename and are deleted in the background;
 * `run --rm` writes no exit state and no removal mark. A kill -9 anywhere in between must leave
 * nothing the next start does not finish: no bundle, no container dir or record, nothing in the
 * trash, no netns, no cgroup, no port rule (checkInvariants, all kinds).
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { api, checkInvariants, INVARIANT_KINDS, summary } from '../helpers/invariants.js';
import { createWorld, eventually, type World } from '../helpers/world.js';

let w: World;
test.before(async () => {
  w = await createWorld();
  await w.ok(['network', 'create', 'exnet']);
});
test.after.always(async () => {
  await w?.teardown();
});

const daemonDied = () => w.daemon === undefined || w.daemon.exitCode !== null || w.daemon.signalCode !== null;

async function containers(): Promise<Array<{ Id: string; Names: string[]; State: string }>> {
  return api(w, '/containers/json?all=1');
}

async function noMismatches(t: import('ava').ExecutionContext, what: string): Promise<void> {
  const m = await checkInvariants(w);
  t.deepEqual(
    INVARIANT_KINDS.flatMap((k) => m[k]),
    [],
    `${what}: ${summary(m)}`,
  );
}

/** Start the daemon with `failpoint` armed, run `args` (expected to crash it), restart it clean. */
async function crashIn(t: import('ava').ExecutionContext, failpoint: string, args: string[]): Promise<void> {
  await w.killDaemon('SIGKILL');
  await w.startDaemon([], { TSNET_FAILPOINTS: `${failpoint}=crash` });
  const r = await w.cli(args);
  t.true(await eventually(daemonDied, 10_000), `${failpoint}: ${args.join(' ')} did not crash the daemon: ${r.stderr}`);
  await w.killDaemon('SIGKILL');
  await w.startDaemon();
}

test.serial('run --rm: the bundle and the container dir are gone and the trash empties; nothing is left', async (t) => {
  const r = await w.cli(['run', '--rm', '--network', 'exnet', '-p', '18391:80', 'busybox', 'sh', '-c', 'echo bye; exit 3']);
  t.is(r.exitCode, 3, r.stderr);
  t.is(r.stdout, 'bye\n');
  t.deepEqual(await containers(), []);
  await noMismatches(t, 'after run --rm');
});

test.serial(
  'kill -9 right after the exit moved the bundle into the trash (run --rm): the start removes the container',
  async (t) => {
    await crashIn(t, 'trash.after-rename', [
      'run',
      '--rm',
      '--name',
      'exa',
      '--network',
      'exnet',
      '-p',
      '18392:80',
      'busybox',
      'true',
    ]);
    t.deepEqual(
      (await containers()).map((c) => c.Names[0]),
      [],
      'the --rm container was removed at the start',
    );
    await noMismatches(t, 'after the restart');
    // the name is free again
    t.is((await w.cli(['run', '--rm', '--name', 'exa', '--network', 'exnet', 'busybox', 'true'])).exitCode, 0);
  },
);

test.serial('kill -9 in the removal of a run --rm (after its network teardown): the start finishes it', async (t) => {
  await crashIn(t, 'container-rm.after-network', [
    'run',
    '--rm',
    '--name',
    'exb',
    '--network',
    'exnet',
    '-p',
    '18393:80',
    'busybox',
    'true',
  ]);
  t.deepEqual(await containers(), []);
  await noMismatches(t, 'after the restart');
});

test.serial(
  'kill -9 right after an exit moved the bundle (no --rm): the exit code was saved first; the trash is swept',
  async (t) => {
    const id = await w.ok(['create', '--name', 'exc', '--network', 'exnet', 'busybox', 'sh', '-c', 'exit 7']);
    await crashIn(t, 'trash.after-rename', ['start', '-a', 'exc']);
    const inspect = await api<{ State: { Status: string; ExitCode: number; Error: string } }>(w, `/containers/${id}/json`);
    t.like(inspect.State, { Status: 'exited', ExitCode: 7, Error: '' });
    t.false(fs.existsSync(path.join(w.execRoot, 'c', id.slice(0, 16))), 'no bundle');
    await noMismatches(t, 'after the restart');
    await w.ok(['rm', 'exc']);
    await noMismatches(t, 'after rm');
  },
);

test.serial('kill -9 right after rm moved the container dir into the trash: the trash is swept at start', async (t) => {
  const id = await w.ok(['create', '--name', 'exd', '--network', 'exnet', 'busybox', 'true']);
  await crashIn(t, 'trash.after-rename', ['rm', 'exd']);
  t.false(fs.existsSync(path.join(w.root, 'containers', id)));
  t.deepEqual(await containers(), []);
  await noMismatches(t, 'after the restart');
});

test.serial('a --rm container that is not running when the daemon starts is removed (as dockerd)', async (t) => {
  await w.ok(['create', '--rm', '--name', 'exe', '--network', 'exnet', 'busybox', 'true']);
  await w.killDaemon('SIGKILL');
  await w.startDaemon();
  t.deepEqual(await containers(), []);
  await noMismatches(t, 'after the restart');
});
