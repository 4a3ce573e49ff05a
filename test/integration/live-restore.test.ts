/**
 * Live restore: kill -9 the daemon with containers running; they keep running; a restarted
 * daemon adopts them (ps, logs, stop, exit codes work) and sweeps what no record explains.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { POOL_PREFIX } from '../../src/network/sandbox-pool.js';
import { createWorld, eventually, type World } from '../helpers/world.js';

let w: World;
test.before(async () => {
  w = await createWorld();
});
test.after.always(async () => {
  await w?.teardown();
});

test.serial('containers survive kill -9 of the daemon and are re-adopted', async (t) => {
  // both containers wait for a file the test creates while the daemon is down (no timing games)
  const ctl = fs.mkdtempSync(path.join(w.dir, 'ctl-'));
  const waitGo = 'while [ ! -e /ctl/go ]; do sleep 0.1; done';
  const a = (
    await w.cli([
      'run',
      '-d',
      '--network',
      'none',
      '-v',
      `${ctl}:/ctl`,
      '--name',
      'keeper',
      'busybox',
      'sh',
      '-c',
      `echo before; ${waitGo}; echo during; sleep 1000`,
    ])
  ).stdout.trim();
  const b = (
    await w.cli([
      'run',
      '-d',
      '--network',
      'none',
      '-v',
      `${ctl}:/ctl`,
      '--name',
      'quitter',
      'busybox',
      'sh',
      '-c',
      `${waitGo}; exit 5`,
    ])
  ).stdout.trim();
  t.regex(a, /^[0-9a-f]{64}$/);
  const pidA = JSON.parse((await w.cli(['inspect', a])).stdout)[0].State.Pid as number;
  const pidB = JSON.parse((await w.cli(['inspect', b])).stdout)[0].State.Pid as number;
  t.true(pidB > 1, 'quitter runs');

  await w.killDaemon('SIGKILL');
  // leave something for the sweep: a netns file and a bundle no record explains
  const orphanNs = path.join(w.execRoot, 'netns', 'orphan000000');
  fs.mkdirSync(path.dirname(orphanNs), { recursive: true });
  fs.writeFileSync(orphanNs, '');
  fs.mkdirSync(path.join(w.execRoot, 'c', 'deadbeefdeadbeef'), { recursive: true });
  // "quitter" exits while the daemon is down
  fs.writeFileSync(path.join(ctl, 'go'), '');
  const gone = await eventually(() => {
    try {
      process.kill(pidB, 0);
      return false;
    } catch {
      return true;
    }
  }, 15_000);
  t.true(gone, 'quitter exited while the daemon was down');
  t.notThrows(() => process.kill(pidA, 0), 'the container kept running without the daemon');

  await w.startDaemon();
  const ps = await w.cli(['ps']);
  t.regex(ps.stdout, /keeper/);
  t.notRegex(ps.stdout, /quitter/);
  const [qb] = JSON.parse((await w.cli(['inspect', b])).stdout);
  t.is(qb.State.Status, 'exited');
  t.is(qb.State.ExitCode, 5);
  // keeper prints "during" when it sees the file, about when quitter exits: wait for it
  const logs = await eventually(async () => {
    const l = await w.cli(['logs', a]);
    return l.stdout === 'before\nduring\n' ? l : undefined;
  }, 10_000);
  t.is(logs?.stdout, 'before\nduring\n');
  t.false(fs.existsSync(orphanNs), 'orphan netns file swept');
  t.false(fs.existsSync(path.join(w.execRoot, 'c', 'deadbeefdeadbeef')), 'orphan bundle swept');

  const stop = await w.cli(['stop', '-t', '1', a]);
  t.is(stop.exitCode, 0, stop.stderr);
  const [qa] = JSON.parse((await w.cli(['inspect', a])).stdout);
  t.is(qa.State.Status, 'exited');
  t.is(qa.State.ExitCode, 137);
  t.true(
    await eventually(() => {
      try {
        process.kill(pidA, 0);
        return false;
      } catch {
        return true;
      }
    }, 5000),
  );
  await w.cli(['rm', a, b]);
});

test.serial(
  'a run -d --rm container survives kill -9 of the daemon: adopted (its running state is in its bundle), removed at its exit',
  async (t) => {
    // decision 47: its record says `created` (no record rewrite at its start); restore reads the
    // state from <exec-root>/c/<id16>/running.json — without it the restart would remove it
    t.is((await w.cli(['network', 'create', 'rmlive'])).exitCode, 0);
    t.teardown(() => w.cli(['network', 'rm', 'rmlive']));
    const run = await w.cli(['run', '-d', '--rm', '--network', 'rmlive', 'busybox', 'sleep', '1000']);
    t.is(run.exitCode, 0, run.stderr);
    const id = run.stdout.trim();
    const pid = JSON.parse((await w.cli(['inspect', id])).stdout)[0].State.Pid as number;
    const record = JSON.parse(fs.readFileSync(path.join(w.root, 'state', 'containers', `${id}.json`), 'utf8'));
    t.is(record.state.Status, 'created', 'the record is not rewritten at the start');
    await w.killDaemon('SIGKILL');
    process.kill(pid, 0); // still running while the daemon is down
    await w.startDaemon();
    const [after] = JSON.parse((await w.cli(['inspect', id])).stdout);
    t.true(after.State.Running, 'adopted');
    t.is(after.State.Pid, pid);
    t.is((await w.cli(['kill', id])).exitCode, 0);
    t.true(await eventually(async () => (await w.cli(['inspect', id])).exitCode !== 0, 10_000), 'removed at its exit');
  },
);

test.serial('rm -f of everything leaves no mount, netns, process or cgroup behind', async (t) => {
  const ids: string[] = [];
  for (let i = 0; i < 3; i++)
    ids.push((await w.cli(['run', '-d', '--network', 'none', '--memory', '32m', 'busybox', 'sleep', '1000'])).stdout.trim());
  const ex = await w.cli(['exec', '-d', ids[0]!, 'sleep', '1000']);
  t.is(ex.exitCode, 0, ex.stderr);
  const pids = await Promise.all(ids.map(async (id) => JSON.parse((await w.cli(['inspect', id])).stdout)[0].State.Pid as number));
  const all = (await w.cli(['ps', '-aq'])).stdout.trim().split('\n').filter(Boolean);
  const rm = await w.cli(['rm', '-f', ...all]);
  t.is(rm.exitCode, 0, rm.stderr);
  t.is((await w.cli(['ps', '-aq'])).stdout.trim(), '');
  // Left: the world's host netns, the daemon's own private netns dir (a mount for its lifetime)
  // and the namespaces it made ahead (--netns-pool, pool-*: removed at its stop, see netns-pool.test.ts).
  const pooled = (p: string) => path.basename(p).startsWith(POOL_PREFIX);
  const mounts = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(w.dir) && !l.includes(w.hostNetns) && l.split(' ')[4] !== path.join(w.execRoot, 'netns'))
    .filter((l) => !pooled(l.split(' ')[4] ?? ''));
  t.deepEqual(mounts, []);
  t.deepEqual(
    fs.readdirSync(path.join(w.execRoot, 'netns')).filter((f) => !pooled(f)),
    [],
  );
  t.deepEqual(fs.existsSync(path.join(w.execRoot, 'c')) ? fs.readdirSync(path.join(w.execRoot, 'c')) : [], []);
  for (const pid of pids) t.throws(() => process.kill(pid, 0));
  const supervisors = fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`${w.execRoot}/`);
      } catch {
        return false;
      }
    });
  t.deepEqual(supervisors, []);
  const v2 = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
  const cg = v2 ? path.join('/sys/fs/cgroup', w.cgroupParent) : path.join('/sys/fs/cgroup/memory', w.cgroupParent);
  t.deepEqual(
    fs.existsSync(cg)
      ? fs
          .readdirSync(cg, { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => d.name)
      : [],
    [],
  );
});
