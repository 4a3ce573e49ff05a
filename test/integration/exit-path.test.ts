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
import { api as request } from '../helpers/api.js';
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

/** `settle`: the state may still be moving (a run --rm's network teardown ends after its answer): poll until it agrees. */
async function noMismatches(t: import('ava').ExecutionContext, what: string, settle = false): Promise<void> {
  const count = async () => {
    const m = await checkInvariants(w);
    return INVARIANT_KINDS.every((k) => m[k].length === 0);
  };
  if (settle) await eventually(count);
  const m = await checkInvariants(w);
  t.deepEqual(
    INVARIANT_KINDS.flatMap((k) => m[k]),
    [],
    `${what}: ${summary(m)}`,
  );
}

/** Start the daemon with `failpoint` armed, run `args` (expected to crash it), restart it clean. */
async function crashIn(t: import('ava').ExecutionContext, failpoint: string, args: string[]): Promise<void> {
  // a removal still finishing from an earlier test would otherwise be finished by the armed daemon's start
  await noMismatches(t, `before arming ${failpoint}`, true);
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
  // the network teardown ends after the answer: nothing is left once it has
  await noMismatches(t, 'after run --rm', true);
});

/** As `docker run --rm` (create with AutoRemove, wait for `removed`, start); resolves at the wait's answer. */
async function runRm(network: string, ip?: string): Promise<void> {
  const c = await request(w.socket, {
    method: 'POST',
    path: '/containers/create',
    body: {
      Image: 'busybox',
      Cmd: ['true'],
      HostConfig: { NetworkMode: network, AutoRemove: true },
      NetworkingConfig: { EndpointsConfig: { [network]: ip ? { IPAMConfig: { IPv4Address: ip } } : {} } },
    },
  });
  if (c.status !== 201) throw new Error(`create: ${c.status} ${c.text}`);
  const id = (c.json as { Id: string }).Id;
  const waiting = request(w.socket, { method: 'POST', path: `/containers/${id}/wait?condition=removed` });
  const s = await request(w.socket, { method: 'POST', path: `/containers/${id}/start` });
  if (s.status !== 204) throw new Error(`start: ${s.status} ${s.text}`);
  const r = await waiting;
  if (r.status !== 200) throw new Error(`wait: ${r.status} ${r.text}`);
}

test.serial(
  'at the answer of run --rm: inspect shows none of it, its static address is free, its network can be removed',
  async (t) => {
    await w.ok(['network', 'create', '--subnet', '10.99.7.0/29', 'exnet2']);
    for (let i = 0; i < 3; i++) {
      await runRm('exnet2', '10.99.7.3');
      const n = await request(w.socket, { path: '/networks/exnet2' });
      t.deepEqual((n.json as { Containers: unknown }).Containers, {}, `round ${i}: no endpoint left in network inspect`);
    }
    // the pool of a /29 (5 addresses for containers) is not exhausted by removed containers either
    for (let i = 0; i < 6; i++) await runRm('exnet2');
    await runRm('exnet2');
    const rm = await request(w.socket, { method: 'DELETE', path: '/networks/exnet2' });
    t.is(rm.status, 204, rm.text);
    await noMismatches(t, 'after network rm', true);
  },
);

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

test.serial(
  'run --rm is answered before its teardown (decision 45): a kill -9 right after the answer is finished by the start',
  async (t) => {
    await noMismatches(t, 'before arming', true);
    await w.killDaemon('SIGKILL');
    await w.startDaemon([], { TSNET_FAILPOINTS: 'container-rm.before-teardown=crash' });
    // the requests of run --rm (the CLI's session would die with the daemon before it could print
    // what it got): the wait is answered, then the daemon dies
    await t.notThrowsAsync(runRm('exnet'), 'the wait for removed was answered');
    t.true(await eventually(daemonDied, 10_000), 'the failpoint after the answer was not reached');
    await w.killDaemon('SIGKILL');
    await w.startDaemon();
    t.deepEqual(await containers(), []);
    await noMismatches(t, 'after the restart');
    t.is((await w.cli(['run', '--rm', '--name', 'exf', '--network', 'exnet', 'busybox', 'true'])).exitCode, 0);
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
    await noMismatches(t, 'after rm', true); // the veth dies with the netns, a moment after (decision 27)
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
