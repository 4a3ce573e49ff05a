import test from 'ava';
import { eventLine, eventTime } from '../../../../src/cli/commands/events.js';
import { dfRows } from '../../../../src/cli/commands/system-df.js';
import { cpuPercent, memoryUsage, statsRow } from '../../../../src/cli/format/stats.js';

const sample = {
  name: '/web',
  id: 'a1b2c3d4e5f6a7b8c9d0',
  cpu_stats: { cpu_usage: { total_usage: 300_000_000 }, system_cpu_usage: 2_000_000_000, online_cpus: 2 },
  precpu_stats: { cpu_usage: { total_usage: 100_000_000 }, system_cpu_usage: 1_000_000_000 },
  memory_stats: { usage: 10 * 1024 * 1024, limit: 100 * 1024 * 1024, stats: { total_inactive_file: 2 * 1024 * 1024 } },
  pids_stats: { current: 3 },
  blkio_stats: {
    io_service_bytes_recursive: [
      { op: 'Read', value: 4096 },
      { op: 'write', value: 12_300 },
    ],
  },
  networks: { eth0: { rx_bytes: 1500, tx_bytes: 648 }, eth1: { rx_bytes: 500, tx_bytes: 0 } },
};

test('stats row: CPU % as the docker CLI computes it, memory without inactive cache, summed I/O', (t) => {
  t.is(cpuPercent(sample), 40);
  t.is(memoryUsage(sample), 8 * 1024 * 1024);
  t.deepEqual(statsRow('web', sample), {
    Container: 'web',
    ID: 'a1b2c3d4e5f6',
    Name: 'web',
    CPUPerc: '40.00%',
    MemUsage: '8MiB / 100MiB',
    MemPerc: '8.00%',
    NetIO: '2kB / 648B',
    BlockIO: '4.1kB / 12.3kB',
    PIDs: '3',
  });
  t.is(cpuPercent({ ...sample, precpu_stats: { cpu_usage: { total_usage: 0 } } }), 30, 'no system delta base → whole');
  t.is(statsRow('x', {}).CPUPerc, '0.00%', 'an empty (stopped) sample');
});

test('events line: time with nanoseconds, type, action, id, sorted attributes', (t) => {
  const prevTz = process.env.TZ;
  process.env.TZ = 'UTC';
  try {
    t.is(eventTime('1700000000123456789'), '2023-11-14T22:13:20.123456789Z');
    const raw =
      '{"Type":"container","Action":"die","Actor":{"ID":"abc","Attributes":{"name":"web","exitCode":"0"}},"time":1700000000,"timeNano":1700000000000000001}';
    t.is(eventLine(raw, JSON.parse(raw)), '2023-11-14T22:13:20.000000001Z container die abc (exitCode=0, name=web)');
  } finally {
    if (prevTz === undefined) delete process.env.TZ;
    else process.env.TZ = prevTz;
  }
});

test('system df rows: totals, active, reclaimable with percent', (t) => {
  const rows = dfRows({
    LayersSize: 2_000_000,
    Images: [
      { Size: 1_500_000, Containers: 2 },
      { Size: 500_000, Containers: 0 },
    ],
    Containers: [
      { SizeRw: 1000, State: 'running' },
      { SizeRw: 3000, State: 'exited' },
    ],
  });
  t.deepEqual(rows[0], { Type: 'Images', TotalCount: '2', Active: '1', Size: '2MB', Reclaimable: '500kB (25%)' });
  t.deepEqual(rows[1], { Type: 'Containers', TotalCount: '2', Active: '1', Size: '4kB', Reclaimable: '3kB (75%)' });
});
