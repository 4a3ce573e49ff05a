/** cgroup limits: memory (OOM kill → 137, OOMKilled), pids, cpu quota. */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { api } from '../helpers/api.js';
import { createWorld, type World } from '../helpers/world.js';

let w: World;
test.before(async () => {
  w = await createWorld();
});
test.after.always(async () => {
  await w?.teardown();
});

function cgroupFile(controller: string, id: string, file: string): string {
  const v2 = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
  const dir = v2 ? path.join('/sys/fs/cgroup', w.cgroupParent, id) : path.join('/sys/fs/cgroup', controller, w.cgroupParent, id);
  return fs.readFileSync(path.join(dir, file), 'utf8').trim();
}

test('a container over its memory limit is OOM killed: exit 137 and OOMKilled', async (t) => {
  const name = `oom-${w.id}`;
  const r = await w.cli([
    'run',
    '--name',
    name,
    '--network',
    'none',
    '--memory',
    '16m',
    'busybox',
    'dd',
    'if=/dev/zero',
    'of=/dev/null',
    'bs=64M',
    'count=1',
  ]);
  t.is(r.exitCode, 137, r.stderr);
  const [c] = JSON.parse((await w.cli(['inspect', name])).stdout);
  t.true(c.State.OOMKilled);
  t.is(c.State.ExitCode, 137);
  await w.cli(['rm', name]);
  // well under the limit works
  const ok = await w.cli([
    'run',
    '--rm',
    '--network',
    'none',
    '--memory',
    '64m',
    'busybox',
    'dd',
    'if=/dev/zero',
    'of=/dev/null',
    'bs=4M',
    'count=1',
  ]);
  t.is(ok.exitCode, 0, ok.stderr);
});

test('--pids-limit caps the number of processes', async (t) => {
  const few = await w.cli([
    'run',
    '--rm',
    '--network',
    'none',
    '--pids-limit',
    '10',
    'busybox',
    'sh',
    '-c',
    'for i in 1 2 3 4 5; do sleep 30 & done; ls /proc | grep -c "^[0-9]"',
  ]);
  t.is(few.exitCode, 0, few.stderr);
  t.true(Number(few.stdout.trim()) >= 6, few.stdout);
  // busybox sh gives up when fork fails
  const many = await w.cli([
    'run',
    '--rm',
    '--network',
    'none',
    '--pids-limit',
    '10',
    'busybox',
    'sh',
    '-c',
    'for i in $(seq 30); do sleep 30 & done; echo all started',
  ]);
  t.not(many.exitCode, 0);
  t.regex(many.stderr, /can't fork/);
  t.notRegex(many.stdout, /all started/);
});

test('limits are written to the container cgroup', async (t) => {
  const d = await w.cli([
    'run',
    '-d',
    '--network',
    'none',
    '--cpus',
    '0.5',
    '--memory',
    '32m',
    '--pids-limit',
    '20',
    'busybox',
    'sleep',
    '1000',
  ]);
  t.is(d.exitCode, 0, d.stderr);
  const id = d.stdout.trim();
  const v2 = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
  if (v2) {
    t.is(cgroupFile('', id, 'cpu.max'), '50000 100000');
    t.is(cgroupFile('', id, 'memory.max'), String(32 * 1024 * 1024));
  } else {
    t.is(cgroupFile('cpu', id, 'cpu.cfs_quota_us'), '50000');
    t.is(cgroupFile('memory', id, 'memory.limit_in_bytes'), String(32 * 1024 * 1024));
  }
  t.is(cgroupFile('pids', id, 'pids.max'), '20');
  const [c] = JSON.parse((await w.cli(['inspect', id])).stdout);
  t.is(cgroupFile('pids', id, 'cgroup.procs').split('\n')[0], String(c.State.Pid));
  await w.cli(['rm', '-f', id]);
  t.false(fs.existsSync(path.join('/sys/fs/cgroup', v2 ? '' : 'pids', w.cgroupParent, id)), 'cgroup removed with the container');
});

test('--oom-kill-disable and --memory-swappiness are written to the memory cgroup (v1; they were accepted and ignored)', async (t) => {
  const made = await api(w.socket, {
    method: 'POST',
    path: '/containers/create',
    body: {
      Image: 'busybox',
      Cmd: ['sleep', '1000'],
      HostConfig: { NetworkMode: 'none', Memory: 32 * 1024 * 1024, OomKillDisable: true, MemorySwappiness: 7 },
    },
  });
  t.is(made.status, 201, made.text);
  const id = (made.json as { Id: string }).Id;
  t.teardown(() => w.cli(['rm', '-f', id]));
  t.is((await api(w.socket, { method: 'POST', path: `/containers/${id}/start` })).status, 204);
  if (fs.existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    t.is(cgroupFile('', id, 'memory.max'), String(32 * 1024 * 1024), 'v2 has no OOM-killer switch: the limit only');
  } else {
    t.regex(cgroupFile('memory', id, 'memory.oom_control'), /^oom_kill_disable 1$/m);
    t.is(cgroupFile('memory', id, 'memory.swappiness'), '7', '--memory-swappiness (it was ignored too)');
  }
  // without it the OOM killer stays on
  const plain = await w.ok(['run', '-d', '--network', 'none', '--memory', '32m', 'busybox', 'sleep', '1000']);
  t.teardown(() => w.cli(['rm', '-f', plain]));
  if (!fs.existsSync('/sys/fs/cgroup/cgroup.controllers'))
    t.regex(cgroupFile('memory', plain, 'memory.oom_control'), /^oom_kill_disable 0$/m);
});
