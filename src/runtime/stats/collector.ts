/**
 * One stats sample of a container, from its accounting cgroup (cpu.stat, the process list), the
 * limit cgroups it joined (memory, cpu throttling, pids), /proc for the rest, and the network
 * counters of its namespace. Every container has numbers, with or without limits (decision 11).
 */
import os from 'node:os';
import path from 'node:path';
import type { Cgroups } from '../cgroups.js';
import type { ContainerNetworking, InterfaceCounters } from '../../network/container-api.js';
import type { ContainerRecord } from '../container/types.js';
import { cgroupPids, hostCpu, keyValues, numberFile, procCpu, procIo, procMemory, processTree } from './proc.js';

export interface StatsSample {
  read: string;
  cpu: {
    totalNs: number;
    userNs: number;
    kernelNs: number;
    systemNs: number;
    onlineCpus: number;
    throttling: { periods: number; throttledPeriods: number; throttledTimeNs: number };
  };
  memory: { usage: number; limit: number; maxUsage?: number; failcnt?: number; stats: Record<string, number> };
  pids: { current: number; limit?: number };
  blkio: { read: number; write: number };
  networks: Record<string, InterfaceCounters>;
}

export interface StatsDeps {
  cgroups: Cgroups;
  networking: Pick<ContainerNetworking, 'interfaceStats'>;
}

export class StatsCollector {
  constructor(private readonly d: StatsDeps) {}

  async sample(rec: ContainerRecord): Promise<StatsSample> {
    const { cgroups } = this.d;
    const acct = cgroups.accountingDir(rec.id);
    const pids = acct ? cgroupPids(acct) : rec.state.Pid ? processTree(rec.state.Pid) : [];
    const host = hostCpu();

    const cpuStat = acct ? keyValues(path.join(acct, 'cpu.stat')) : undefined;
    const fromProc = cpuStat ? undefined : procCpu(pids);
    const userNs = cpuStat ? (cpuStat.user_usec ?? 0) * 1000 : fromProc!.userNs;
    const kernelNs = cpuStat ? (cpuStat.system_usec ?? 0) * 1000 : fromProc!.systemNs;
    const totalNs = cpuStat ? (cpuStat.usage_usec ?? 0) * 1000 : userNs + kernelNs;
    const cpuDir = cgroups.controllerDir('cpu', rec.id);
    const thr = cpuDir ? keyValues(path.join(cpuDir, 'cpu.stat')) : undefined;

    return {
      read: new Date().toISOString(),
      cpu: {
        totalNs,
        userNs,
        kernelNs,
        systemNs: host.systemNs,
        onlineCpus: host.onlineCpus,
        throttling: {
          periods: thr?.nr_periods ?? 0,
          throttledPeriods: thr?.nr_throttled ?? 0,
          throttledTimeNs: thr?.throttled_time ?? (thr?.throttled_usec ?? 0) * 1000,
        },
      },
      memory: this.memory(rec, pids),
      pids: this.pids(rec, acct, pids),
      blkio: procIo(pids),
      networks: await this.d.networking.interfaceStats(rec.sandboxId).catch(() => ({})),
    };
  }

  private memory(rec: ContainerRecord, pids: number[]): StatsSample['memory'] {
    const dir = this.d.cgroups.controllerDir('memory', rec.id);
    const hostMem = os.totalmem();
    if (dir && this.d.cgroups.version === 1) {
      const limit = numberFile(path.join(dir, 'memory.limit_in_bytes')) ?? hostMem;
      return {
        usage: numberFile(path.join(dir, 'memory.usage_in_bytes')) ?? 0,
        maxUsage: numberFile(path.join(dir, 'memory.max_usage_in_bytes')) ?? 0,
        failcnt: numberFile(path.join(dir, 'memory.failcnt')) ?? 0,
        limit: Math.min(limit, hostMem),
        stats: keyValues(path.join(dir, 'memory.stat')) ?? {},
      };
    }
    if (dir && numberFile(path.join(dir, 'memory.current')) !== undefined) {
      return {
        usage: numberFile(path.join(dir, 'memory.current')) ?? 0,
        limit: Math.min(numberFile(path.join(dir, 'memory.max')) ?? hostMem, hostMem),
        stats: keyValues(path.join(dir, 'memory.stat')) ?? {},
      };
    }
    // No memory cgroup (no --memory on a v1 host): the processes' own pages.
    const m = procMemory(pids);
    return { usage: m.pss, limit: hostMem, stats: { rss: m.anon, pss: m.pss, mapped_file: m.file, shmem: m.shmem } };
  }

  private pids(rec: ContainerRecord, acct: string | undefined, pids: number[]): StatsSample['pids'] {
    const current = acct ? cgroupPids(acct, 'cgroup.threads').length : pids.length;
    const dir = this.d.cgroups.controllerDir('pids', rec.id);
    const limit = dir ? numberFile(path.join(dir, 'pids.max')) : undefined;
    return limit ? { current, limit } : { current };
  }
}
