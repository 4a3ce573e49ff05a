/**
 * tsnet-init spawned at create for a `--rm` container on a network of its own netns (decision 42):
 * the start only says `go`. Anything that takes the container's lock in between (cp, rename,
 * update, rm …) gives it up; so does a crash (the restart removes the AutoRemove container and
 * leaves nothing: no tsnet-init, cgroup, bundle, netns — checkInvariants, all kinds).
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { api, checkInvariants, INVARIANT_KINDS, summary } from '../helpers/invariants.js';
import { createWorld, eventually, type World } from '../helpers/world.js';

let w: World;
test.before(async () => {
  w = await createWorld();
  await w.ok(['network', 'create', 'prenet']);
});
test.after.always(async () => {
  await w?.teardown();
});

/** Pids of live (not zombie) tsnet-init processes (the supervisor and its child before execve) of the container's bundle. */
function supervisorsOf(id: string): number[] {
  const bundle = path.join(w.execRoot, 'c', id.slice(0, 16));
  const out: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!(cmd[0] ?? '').endsWith('tsnet-init') || !cmd.includes(bundle)) continue;
      if (/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))) continue;
      out.push(Number(pid));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

async function noMismatches(t: import('ava').ExecutionContext, what: string): Promise<void> {
  const clean = async () => {
    const m = await checkInvariants(w);
    return INVARIANT_KINDS.every((k) => m[k].length === 0);
  };
  await eventually(clean);
  const m = await checkInvariants(w);
  t.deepEqual(
    INVARIANT_KINDS.flatMap((k) => m[k]),
    [],
    `${what}: ${summary(m)}`,
  );
}

async function createRm(name: string, cmd: string[]): Promise<string> {
  const r = await w.ok(['create', '--rm', '--name', name, '--network', 'prenet', 'busybox', ...cmd]);
  return r.trim();
}

test.serial('create --rm spawns tsnet-init ahead; the start uses it and the run behaves as ever', async (t) => {
  const id = await createRm('pre1', ['sh', '-c', 'echo hello from $(hostname); ip -o -4 addr show eth0 | wc -l; exit 7']);
  t.true(await eventually(() => supervisorsOf(id).length > 0), 'a tsnet-init waits in the bundle of the created container');
  const r = await w.cli(['start', '-a', 'pre1']);
  t.is(r.exitCode, 7, r.stderr);
  t.is(r.stdout, `hello from ${id.slice(0, 12)}\n1\n`, 'hostname and the network joined after the spawn are there');
  await noMismatches(t, 'after the run');
});

test.serial('a cp into the created container gives the prelaunch up: the start sees the file', async (t) => {
  const id = await createRm('pre2', ['cat', '/hello']);
  t.true(await eventually(() => supervisorsOf(id).length > 0));
  const file = path.join(w.dir, 'hello');
  fs.writeFileSync(file, 'copied in\n');
  await w.ok(['cp', file, 'pre2:/hello']);
  t.deepEqual(supervisorsOf(id), [], 'the tsnet-init spawned at create is gone once cp took the lock');
  const r = await w.cli(['start', '-a', 'pre2']);
  t.is(r.exitCode, 0, r.stderr);
  t.is(r.stdout, 'copied in\n');
  await noMismatches(t, 'after the run');
});

test.serial('rm of a created --rm container ends its tsnet-init; nothing is left', async (t) => {
  const id = await createRm('pre3', ['true']);
  t.true(await eventually(() => supervisorsOf(id).length > 0));
  await w.ok(['rm', 'pre3']);
  t.deepEqual(supervisorsOf(id), []);
  await noMismatches(t, 'after rm');
});

test.serial('kill -9 with a tsnet-init waiting for its start: the restart removes the container, nothing is left', async (t) => {
  const id = await createRm('pre4', ['true']);
  t.true(await eventually(() => supervisorsOf(id).length > 0));
  await w.killDaemon('SIGKILL');
  await w.startDaemon();
  const left = await api<Array<{ Id: string }>>(w, '/containers/json?all=1');
  t.false(
    left.some((c) => c.Id === id),
    'an AutoRemove container that is not running is removed at start',
  );
  t.true(await eventually(() => supervisorsOf(id).length === 0), 'its tsnet-init is gone');
  await noMismatches(t, 'after the restart');
});
