/** A stats sample in the shape of Docker's `GET /containers/{id}/stats` (API 1.41). */
import type { ContainerRecord } from '../container/types.js';
import type { StatsSample } from './collector.js';

const ZERO_TIME = '0001-01-01T00:00:00Z';

function cpuJson(s: StatsSample | undefined) {
  if (!s) {
    return {
      cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
      throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
    };
  }
  return {
    cpu_usage: { total_usage: s.cpu.totalNs, usage_in_kernelmode: s.cpu.kernelNs, usage_in_usermode: s.cpu.userNs },
    system_cpu_usage: s.cpu.systemNs,
    online_cpus: s.cpu.onlineCpus,
    throttling_data: {
      periods: s.cpu.throttling.periods,
      throttled_periods: s.cpu.throttling.throttledPeriods,
      throttled_time: s.cpu.throttling.throttledTimeNs,
    },
  };
}

export function statsJson(rec: ContainerRecord, cur: StatsSample | undefined, prev: StatsSample | undefined) {
  const io = cur
    ? [
        { major: 0, minor: 0, op: 'read', value: cur.blkio.read },
        { major: 0, minor: 0, op: 'write', value: cur.blkio.write },
      ]
    : null;
  const networks = cur
    ? Object.fromEntries(
        Object.entries(cur.networks).map(([name, n]) => [
          name,
          {
            rx_bytes: n.rxBytes,
            rx_packets: n.rxPackets,
            rx_errors: n.rxErrors,
            rx_dropped: n.rxDropped,
            tx_bytes: n.txBytes,
            tx_packets: n.txPackets,
            tx_errors: n.txErrors,
            tx_dropped: n.txDropped,
          },
        ]),
      )
    : undefined;
  return {
    name: `/${rec.name}`,
    id: rec.id,
    read: cur?.read ?? ZERO_TIME,
    preread: prev?.read ?? ZERO_TIME,
    pids_stats: cur ? cur.pids : {},
    blkio_stats: {
      io_service_bytes_recursive: io,
      io_serviced_recursive: null,
      io_queue_recursive: null,
      io_service_time_recursive: null,
      io_wait_time_recursive: null,
      io_merged_recursive: null,
      io_time_recursive: null,
      sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuJson(cur),
    precpu_stats: cpuJson(prev),
    memory_stats: cur
      ? {
          usage: cur.memory.usage,
          ...(cur.memory.maxUsage !== undefined ? { max_usage: cur.memory.maxUsage } : {}),
          stats: cur.memory.stats,
          ...(cur.memory.failcnt !== undefined ? { failcnt: cur.memory.failcnt } : {}),
          limit: cur.memory.limit,
        }
      : {},
    ...(networks && Object.keys(networks).length ? { networks } : {}),
  };
}
