/**
 * POST /containers/{id}/update and `tsnet update` (issue 12): limits reach the running
 * container's cgroup files at once (also controllers it had not joined: its processes are moved
 * in), are kept for the next start, Docker's conflicts are refused with nothing changed, the
 * restart policy is stored, and Docker's reply and error shapes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { api } from '../helpers/api.js';
import { eventually, type World } from '../helpers/world.js';
import { eventActions, runDetached, worldTest } from '../helpers/world-test.js';

const test = worldTest();

const v1 = (w: World, ctrl: string, id: string, file: string) =>
  fs.readFileSync(path.join('/sys/fs/cgroup', ctrl, w.cgroupParent, id, file), 'utf8').trim();
const procs = (w: World, ctrl: string, id: string) =>
  v1(w, ctrl, id, 'cgroup.procs').split('\n').filter(Boolean).map(Number).sort();

test.serial(
  'update of a running container without limits: each limit is in its cgroup file and holds its processes',
  async (t) => {
    const { w } = t.context;
    const id = await runDetached(t, w, ['busybox', 'sh', '-c', 'sleep 1000 & sleep 1000 & wait']);
    const out = await w.ok([
      'update',
      '-m',
      '64m',
      '--memory-swap',
      '128m',
      '--memory-reservation',
      '32m',
      '--cpus',
      '0.5',
      '-c',
      '512',
      '--cpuset-cpus',
      '0',
      '--pids-limit',
      '50',
      id,
    ]);
    t.is(out, id);
    t.is(v1(w, 'memory', id, 'memory.limit_in_bytes'), String(64 * 1024 * 1024));
    t.is(v1(w, 'memory', id, 'memory.memsw.limit_in_bytes'), String(128 * 1024 * 1024));
    t.is(v1(w, 'memory', id, 'memory.soft_limit_in_bytes'), String(32 * 1024 * 1024));
    t.is(v1(w, 'cpu', id, 'cpu.cfs_quota_us'), '50000');
    t.is(v1(w, 'cpu', id, 'cpu.cfs_period_us'), '100000');
    t.is(v1(w, 'cpu', id, 'cpu.shares'), '512');
    t.is(v1(w, 'cpuset', id, 'cpuset.cpus'), '0');
    t.is(v1(w, 'pids', id, 'pids.max'), '50');
    // every process of the container (PID 1 and both sleeps) was moved into each new cgroup
    const top = await api(w.socket, { path: `/containers/${id}/top?ps_args=-o%20pid` });
    const pids = ((top.json as { Processes: string[][] }).Processes ?? []).map((p) => Number(p[0])).sort();
    t.is(pids.length, 3, top.text);
    for (const ctrl of ['memory', 'cpu', 'cpuset', 'pids']) t.deepEqual(procs(w, ctrl, id), pids, ctrl);
    // an exec started after the update joins the new cgroups too
    await w.ok(['exec', '-d', id, 'sleep', '999']);
    await eventually(() => procs(w, 'memory', id).length === 4 || undefined);
    t.is(procs(w, 'memory', id).length, 4);
    t.deepEqual(procs(w, 'pids', id), procs(w, 'memory', id));
    const hc = JSON.parse(await w.ok(['inspect', '-f', '{{json .HostConfig}}', id])) as Record<string, unknown>;
    t.like(hc, { Memory: 67108864, MemorySwap: 134217728, MemoryReservation: 33554432, NanoCpus: 5e8, CpuShares: 512 });
    t.like(hc, { CpusetCpus: '0', PidsLimit: 50 });

    // lowered and raised again (memory above the old swap limit needs the swap limit too)
    await w.ok(['update', '-m', '256m', '--memory-swap', '-1', '--pids-limit', '-1', id]);
    t.is(v1(w, 'memory', id, 'memory.limit_in_bytes'), String(256 * 1024 * 1024));
    t.is(v1(w, 'pids', id, 'pids.max'), 'max');
  },
);

test.serial('limits set by update are applied at the next start; the restart policy is stored', async (t) => {
  const { w } = t.context;
  const id = await w.ok(['create', '--network', 'none', 'busybox', 'sleep', '1000']);
  t.teardown(() => w.cli(['rm', '-f', id]));
  await w.ok(['update', '-m', '48m', '--cpu-quota', '20000', '--cpu-period', '50000', '--restart', 'on-failure:3', id]);
  t.is(
    await w.ok(['inspect', '-f', '{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}', id]),
    'on-failure:3',
  );
  await w.ok(['start', id]);
  t.is(v1(w, 'memory', id, 'memory.limit_in_bytes'), String(48 * 1024 * 1024));
  t.is(v1(w, 'cpu', id, 'cpu.cfs_quota_us'), '20000');
  t.is(v1(w, 'cpu', id, 'cpu.cfs_period_us'), '50000');
  const events = await eventActions(w, id);
  t.true(events.includes('update'), events.join(' '));
});

test.serial("Docker's refusals: 400 with its words, nothing written, the record unchanged", async (t) => {
  const { w } = t.context;
  const id = await runDetached(t, w, ['--cpus', '1', '-m', '32m', 'busybox', 'sleep', '1000']);
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ Memory: 1024 }, /Minimum memory limit allowed is 6MB/],
    [{ Memory: 128 * 1024 * 1024 }, /Memory limit should be smaller than already set memoryswap limit/],
    [{ CpuQuota: 20000 }, /CPU Period or Quota cannot be updated as NanoCPUs has already been set/],
    [{ NanoCpus: 500_000_000, CpuPeriod: 100000 }, /Nano CPUs and CPU Period cannot both be set/],
    [{ CpusetCpus: '0-99' }, /Requested CPUs are not available/],
    [{ BlkioWeight: 5 }, /Range of blkio weight is from 10 to 1000/],
    [{ RestartPolicy: { Name: 'always', MaximumRetryCount: 2 } }, /maximum retry count can only be used with 'on-failure'/],
  ];
  for (const [body, msg] of cases) {
    const r = await api(w.socket, { method: 'POST', path: `/containers/${id}/update`, body });
    t.is(r.status, 400, JSON.stringify(body));
    t.regex((r.json as { message: string }).message, msg);
  }
  t.is(v1(w, 'memory', id, 'memory.limit_in_bytes'), String(32 * 1024 * 1024));
  t.is(v1(w, 'cpu', id, 'cpu.cfs_quota_us'), '100000');
  t.is(await w.ok(['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}', id]), '33554432 1000000000');
  const missing = await api(w.socket, { method: 'POST', path: '/containers/nope/update', body: { Memory: 64 << 20 } });
  t.is(missing.status, 404);
  t.regex((missing.json as { message: string }).message, /No such container: nope/);
  const ok = await api(w.socket, { method: 'POST', path: `/containers/${id}/update`, body: { CpuShares: 100 } });
  t.is(ok.status, 200);
  t.deepEqual(ok.json, { Warnings: [] });
  // blkio weight: this kernel has no blkio.weight (no CFQ/BFQ): Docker's warning, not an error
  const blkio = await api(w.socket, { method: 'POST', path: `/containers/${id}/update`, body: { BlkioWeight: 300 } });
  t.is(blkio.status, 200, blkio.text);
  if (fs.existsSync('/sys/fs/cgroup/blkio/blkio.weight')) t.is(v1(w, 'blkio', id, 'blkio.weight'), '300');
  else t.regex((blkio.json as { Warnings: string[] }).Warnings.join(), /Block I\/O weight/);
  const cli = await w.cli(['update', id]);
  t.is(cli.exitCode, 125);
  t.regex(cli.stderr, /provide one or more flags/);
  await eventually(async () => (await w.ok(['inspect', '-f', '{{.HostConfig.CpuShares}}', id])) === '100');
});

test.serial('run takes the same resource flags; a bad one is refused at create with nothing made', async (t) => {
  const { w } = t.context;
  const id = await runDetached(t, w, [
    '-m',
    '40m',
    '--memory-swap',
    '80m',
    '--memory-reservation',
    '20m',
    '-c',
    '300',
    '--cpu-period',
    '40000',
    '--cpu-quota',
    '10000',
    '--cpuset-cpus',
    '0',
    'busybox',
    'sleep',
    '1000',
  ]);
  t.is(v1(w, 'memory', id, 'memory.memsw.limit_in_bytes'), String(80 * 1024 * 1024));
  t.is(v1(w, 'memory', id, 'memory.soft_limit_in_bytes'), String(20 * 1024 * 1024));
  t.is(v1(w, 'cpu', id, 'cpu.shares'), '300');
  t.is(v1(w, 'cpu', id, 'cpu.cfs_period_us'), '40000');
  t.is(v1(w, 'cpu', id, 'cpu.cfs_quota_us'), '10000');
  t.is(v1(w, 'cpuset', id, 'cpuset.cpus'), '0');
  const before = (await w.ok(['ps', '-aq'])).split('\n').length;
  const bad = await w.cli(['create', '--network', 'none', '--cpuset-cpus', '0-99', 'busybox', 'true']);
  t.is(bad.exitCode, 125);
  t.regex(bad.stderr, /Requested CPUs are not available/);
  const conflict = await w.cli(['create', '--network', 'none', '--cpus', '1', '--cpu-quota', '5000', 'busybox', 'true']);
  t.regex(conflict.stderr, /Nano CPUs and CPU Quota cannot both be set/);
  t.is((await w.ok(['ps', '-aq'])).split('\n').length, before);
});
