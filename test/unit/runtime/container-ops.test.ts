/**
 * The pure parts of issue 12's container routes: update rules and the limits they become, the
 * files each limit is written to, prune filters, detach keys, archive entry names and Go file
 * modes.
 */
import test from 'ava';
import fs from 'node:fs';
import { PassThrough } from 'node:stream';
import { goDuration, parseUntil, pruneFilter, pruneMatch } from '../../../src/daemon/routes/prune-filters.js';
import { v1Settings, v2Settings } from '../../../src/runtime/cgroup-limits.js';
import { goFileMode } from '../../../src/runtime/container/archive/path-stat.js';
import { entryName } from '../../../src/runtime/container/archive/tar-in.js';
import { cleanPath } from '../../../src/runtime/container/archive/in-root.js';
import { copyStdin, detachKeysFor, parseDetachKeys } from '../../../src/runtime/container/detach-keys.js';
import { limitsOf, parseCpuset, updatedHostConfig } from '../../../src/runtime/container/resources.js';

const host = { cpus: 2, mems: '0' };
const MB = 1024 * 1024;

test('update: zero and empty fields leave values unchanged; Docker defaults the swap to twice the memory', (t) => {
  const hc = updatedHostConfig({ Memory: 64 * MB, CpuShares: 512 }, { Memory: 0, CpuShares: 0, CpusetCpus: '' }, host);
  t.like(hc, { Memory: 64 * MB, CpuShares: 512 });
  t.is(hc.CpusetCpus, undefined);
  t.like(updatedHostConfig({}, { Memory: 32 * MB }, host), { Memory: 32 * MB, MemorySwap: 64 * MB });
  t.like(updatedHostConfig({}, { PidsLimit: 0 }, host), { PidsLimit: -1 }, 'zero or less is unlimited');
  t.like(updatedHostConfig({}, { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 } }, host), {
    RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 },
  });
});

test("update: Docker's refusals", (t) => {
  const refuses = (current: Record<string, unknown>, body: Record<string, unknown>, re: RegExp) =>
    t.throws(() => updatedHostConfig(current, body, host), { message: re }, JSON.stringify(body));
  refuses({}, { Memory: 1000 }, /Minimum memory limit allowed is 6MB/);
  refuses({ Memory: 64 * MB }, { Memory: 256 * MB }, /update the memoryswap at the same time/);
  refuses({}, { MemorySwap: 64 * MB }, /always set the Memory limit/);
  refuses({}, { Memory: 64 * MB, MemorySwap: 32 * MB }, /memoryswap limit should be larger than memory limit/);
  refuses({ Memory: 64 * MB }, { MemoryReservation: 128 * MB }, /can not be less than memory reservation/);
  refuses({}, { NanoCpus: 3e9 }, /Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available/);
  refuses({}, { NanoCpus: 1e9, CpuQuota: 50000 }, /Nano CPUs and CPU Quota cannot both be set/);
  refuses({ CpuPeriod: 50000 }, { NanoCpus: 1e9 }, /Nano CPUs cannot be updated/);
  refuses({}, { CpuPeriod: 999 }, /CPU cfs period can not be less than 1ms/);
  refuses({}, { CpuQuota: 500 }, /CPU cfs quota can not be less than 1ms/);
  refuses({}, { CpusetCpus: '1-0' }, /Invalid value 1-0 for cpuset cpus/);
  refuses({}, { CpusetCpus: '0,2' }, /Requested CPUs are not available - requested 0,2, available: 0-1/);
  refuses({}, { CpusetMems: '1' }, /Requested memory nodes are not available/);
  refuses({}, { BlkioWeight: 1001 }, /Range of blkio weight is from 10 to 1000/);
  refuses({ AutoRemove: true }, { RestartPolicy: { Name: 'always' } }, /AutoRemove is enabled/);
  refuses({}, { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: -1 } }, /cannot be negative/);
});

test('limits: a start leaves out unlimited values, an update keeps them', (t) => {
  const hc = { Memory: 64 * MB, PidsLimit: -1, CpuQuota: -1, CpusetCpus: '0' };
  t.deepEqual(limitsOf(hc, 'start'), { memory: 64 * MB, cpusetCpus: '0' });
  t.deepEqual(limitsOf(hc, 'update'), { memory: 64 * MB, cpuQuota: -1, cpusetCpus: '0', pidsLimit: -1 });
  t.deepEqual(parseCpuset('0-2,5'), [0, 1, 2, 5]);
  t.is(parseCpuset('a'), undefined);
});

test('cgroup files: memsw goes first when the new memory limit exceeds it; v2 names', (t) => {
  const grow = v1Settings({ memory: 200 * MB, memorySwap: 400 * MB }, () => String(100 * MB));
  t.deepEqual(
    grow.get('memory')!.map((s) => s.file),
    ['memory.memsw.limit_in_bytes', 'memory.limit_in_bytes'],
  );
  const shrink = v1Settings({ memory: 50 * MB, memorySwap: 100 * MB }, () => String(400 * MB));
  t.deepEqual(
    shrink.get('memory')!.map((s) => s.file),
    ['memory.limit_in_bytes', 'memory.memsw.limit_in_bytes'],
  );
  const v1 = v1Settings({ nanoCpus: 5e8, cpuShares: 1, pidsLimit: -1 }, () => undefined);
  t.deepEqual(v1.get('cpu'), [
    { file: 'cpu.cfs_period_us', value: '100000' },
    { file: 'cpu.cfs_quota_us', value: '50000' },
    { file: 'cpu.shares', value: '2' },
  ]);
  t.deepEqual(v1.get('pids'), [{ file: 'pids.max', value: 'max' }]);
  t.deepEqual(
    v2Settings({ memory: 64 * MB, memorySwap: 128 * MB, cpuQuota: 20000, cpuPeriod: 50000, cpuShares: 1024 }).map(
      (s) => `${s.file}=${s.value}`,
    ),
    [`memory.max=${64 * MB}`, `memory.swap.max=${64 * MB}`, 'cpu.max=20000 50000', 'cpu.weight=39'],
  );
});

test('prune filters: until as a Go duration, Unix seconds or a date; label and label!', (t) => {
  t.is(goDuration('1h30m'), 90 * 60_000);
  t.is(goDuration('1.5s'), 1500);
  t.is(goDuration('10'), undefined);
  t.is(parseUntil('24h', 100 * 3_600_000), 76 * 3_600_000);
  t.is(parseUntil('1700000000'), 1_700_000_000_000);
  t.is(parseUntil('2024-01-02'), Date.parse('2024-01-02T00:00:00Z'));
  t.throws(() => parseUntil('soon'), { message: /invalid filter 'until=soon'/ });
  t.throws(() => pruneFilter({ until: ['1h', '2h'] }), { message: /more than one until/ });
  const f = pruneFilter({ label: ['a', 'b=1'], 'label!': ['keep'] });
  t.true(pruneMatch(f, '2020-01-01T00:00:00Z', { a: 'x', b: '1' }));
  t.false(pruneMatch(f, '2020-01-01T00:00:00Z', { a: 'x', b: '2' }));
  t.false(pruneMatch(f, '2020-01-01T00:00:00Z', { a: 'x', b: '1', keep: '' }));
  t.false(pruneMatch(pruneFilter({ until: ['2020-01-01'] }), '2021-01-01T00:00:00Z', {}));
});

test('detach keys: moby format; a broken sequence is passed on, a full one detaches', async (t) => {
  t.deepEqual([...parseDetachKeys('ctrl-p,ctrl-q')], [16, 17]);
  t.deepEqual([...parseDetachKeys('a,ctrl-@,ctrl-\\,ctrl-_')], [97, 0, 28, 31]);
  for (const bad of ['ctrl-foo', 'ctrl-1', 'ab', ''])
    t.throws(() => parseDetachKeys(bad), { message: /Invalid detach keys/ }, bad);
  t.is(detachKeysFor(false, 'ctrl-a'), undefined);

  const conn = new PassThrough();
  const sink = new PassThrough();
  const got: Buffer[] = [];
  sink.on('data', (d: Buffer) => got.push(d));
  let detached = 0;
  copyStdin(conn, sink, parseDetachKeys('ctrl-p,ctrl-q'), () => detached++);
  conn.write(Buffer.from([0x61, 0x10]));
  conn.write(Buffer.from([0x62, 0x10, 0x10]));
  conn.write(Buffer.from([0x11, 0x63]));
  await new Promise((r) => setImmediate(r));
  t.deepEqual([...Buffer.concat(got)], [0x61, 0x10, 0x62, 0x10]);
  t.is(detached, 1);
});

test('archive names: entries leading out of the extraction point are refused; container paths are cleaned', (t) => {
  t.is(entryName('./a/b/'), 'a/b');
  t.is(entryName('/abs/x'), 'abs/x');
  t.is(entryName('a/../b'), 'b');
  t.is(entryName('.'), '');
  for (const bad of ['..', '../x', 'a/../../x', './../x'])
    t.throws(() => entryName(bad), { message: /leads out of the extraction point/ }, bad);
  t.is(cleanPath('etc/../../x/'), '/x');
  t.is(cleanPath('/'), '/');
});

test('Go file modes for the stat header', (t) => {
  const dir = goFileMode(fs.lstatSync('/tmp'));
  t.is(Math.floor(dir / 2 ** 31), 1, 'ModeDir');
  t.is(Math.floor(dir / 2 ** 20) % 2, 1, 'sticky');
  t.is(dir % 0o1000, 0o777);
  t.is(goFileMode(fs.lstatSync('/dev/null')) - (2 ** 26 + 2 ** 21), 0o666, 'char device');
});
