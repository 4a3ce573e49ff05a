/**
 * The files each resource limit is written to, for cgroup v1 (one hierarchy per controller) and
 * v2 (one dir). Shared by a container's start (cgroups.create) and by `update` on a running
 * container (cgroups.update), so both write the same values in the same order.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface Limits {
  memory?: number; // bytes
  memorySwap?: number; // bytes, -1 = unlimited
  memoryReservation?: number; // bytes (soft limit)
  nanoCpus?: number;
  cpuShares?: number;
  cpuQuota?: number; // µs per period, -1 = unlimited
  cpuPeriod?: number; // µs
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: number; // ≤ 0 = unlimited (on update; create leaves such a limit out)
  blkioWeight?: number; // 10..1000
  /** --oom-kill-disable: v1 only (memory.oom_control), as Docker; v2 has no such switch. */
  oomKillDisable?: boolean;
  /** --memory-swappiness 0..100: v1 only (memory.swappiness), as Docker. */
  memorySwappiness?: number;
}

export type V1Controller = 'memory' | 'cpu' | 'cpuset' | 'pids' | 'blkio';

/** One file write: `file` in the controller's dir gets `value`. */
export interface Setting {
  file: string;
  value: string;
  /** Skipped (with a warning) when the kernel has no such file. */
  optional?: string;
}

/** What a limit set asks of each v1 controller (in the order the files must be written). */
export function v1Settings(limits: Limits, current: (file: string) => string | undefined): Map<V1Controller, Setting[]> {
  const out = new Map<V1Controller, Setting[]>();
  const add = (ctrl: V1Controller, s: Setting) => out.set(ctrl, [...(out.get(ctrl) ?? []), s]);
  if (limits.memory) {
    const swap = limits.memorySwap ?? limits.memory * 2;
    const mem: Setting = { file: 'memory.limit_in_bytes', value: String(limits.memory) };
    const memsw: Setting = { file: 'memory.memsw.limit_in_bytes', value: swap < 0 ? '-1' : String(swap), optional: '' };
    // the kernel keeps memory ≤ memsw at every step: raise memsw first when the memory limit grows past it
    const curSwap = Number(current('memory.memsw.limit_in_bytes') ?? Number.NaN);
    if (Number.isFinite(curSwap) && limits.memory > curSwap) {
      add('memory', memsw);
      add('memory', mem);
    } else {
      add('memory', mem);
      add('memory', memsw);
    }
  } else if (limits.memorySwap) {
    add('memory', { file: 'memory.memsw.limit_in_bytes', value: limits.memorySwap < 0 ? '-1' : String(limits.memorySwap) });
  }
  if (limits.memoryReservation) add('memory', { file: 'memory.soft_limit_in_bytes', value: String(limits.memoryReservation) });
  if (limits.memorySwappiness !== undefined)
    add('memory', {
      file: 'memory.swappiness',
      value: String(limits.memorySwappiness),
      optional: 'Your kernel does not support memory swappiness capabilities. Memory swappiness discarded.',
    });
  if (limits.oomKillDisable)
    add('memory', {
      file: 'memory.oom_control',
      value: '1',
      optional: 'Your kernel does not support OomKillDisable. OomKillDisable discarded.',
    });
  if (limits.nanoCpus) {
    add('cpu', { file: 'cpu.cfs_period_us', value: '100000' });
    add('cpu', { file: 'cpu.cfs_quota_us', value: String(Math.round((limits.nanoCpus / 1e9) * 100000)) });
  } else {
    if (limits.cpuPeriod) add('cpu', { file: 'cpu.cfs_period_us', value: String(limits.cpuPeriod) });
    if (limits.cpuQuota) add('cpu', { file: 'cpu.cfs_quota_us', value: limits.cpuQuota < 0 ? '-1' : String(limits.cpuQuota) });
  }
  if (limits.cpuShares) add('cpu', { file: 'cpu.shares', value: String(Math.max(2, limits.cpuShares)) });
  if (limits.cpusetCpus) add('cpuset', { file: 'cpuset.cpus', value: limits.cpusetCpus });
  if (limits.cpusetMems) add('cpuset', { file: 'cpuset.mems', value: limits.cpusetMems });
  if (limits.pidsLimit !== undefined && limits.pidsLimit !== 0)
    add('pids', { file: 'pids.max', value: limits.pidsLimit > 0 ? String(limits.pidsLimit) : 'max' });
  if (limits.blkioWeight)
    add('blkio', {
      file: 'blkio.weight',
      value: String(limits.blkioWeight),
      optional: 'Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.',
    });
  return out;
}

/** The same limits as cgroup v2 files of the container's one dir. */
export function v2Settings(limits: Limits): Setting[] {
  const out: Setting[] = [];
  if (limits.memory) {
    out.push({ file: 'memory.max', value: String(limits.memory) });
    if (limits.memorySwap !== undefined)
      out.push({
        file: 'memory.swap.max',
        value: limits.memorySwap < 0 ? 'max' : String(Math.max(0, limits.memorySwap - limits.memory)),
        optional: '',
      });
  }
  if (limits.memoryReservation) out.push({ file: 'memory.low', value: String(limits.memoryReservation) });
  if (limits.nanoCpus) out.push({ file: 'cpu.max', value: `${Math.round((limits.nanoCpus / 1e9) * 100000)} 100000` });
  else if (limits.cpuQuota || limits.cpuPeriod)
    out.push({
      file: 'cpu.max',
      value: `${limits.cpuQuota && limits.cpuQuota > 0 ? limits.cpuQuota : 'max'} ${limits.cpuPeriod || 100000}`,
    });
  // runc's conversion of shares (2..262144) to weight (1..10000)
  if (limits.cpuShares)
    out.push({ file: 'cpu.weight', value: String(1 + Math.floor(((Math.max(2, limits.cpuShares) - 2) * 9999) / 262142)) });
  if (limits.cpusetCpus) out.push({ file: 'cpuset.cpus', value: limits.cpusetCpus });
  if (limits.cpusetMems) out.push({ file: 'cpuset.mems', value: limits.cpusetMems });
  if (limits.pidsLimit !== undefined && limits.pidsLimit !== 0)
    out.push({ file: 'pids.max', value: limits.pidsLimit > 0 ? String(limits.pidsLimit) : 'max' });
  if (limits.blkioWeight)
    out.push({ file: 'io.weight', value: String(limits.blkioWeight), optional: 'io.weight is not available: weight discarded' });
  return out;
}

/** True when the limit set asks for anything at all (a v2 dir then needs controllers). */
export function hasLimits(limits: Limits): boolean {
  return v2Settings(limits).length > 0;
}

/**
 * A new v1 cpuset cgroup starts with empty cpus and mems (no task may join it): copy them down
 * from the nearest ancestor that has them, for every dir from below the mount to `dir`.
 */
export function initCpuset(mountDir: string, dir: string): void {
  const rel = path.relative(mountDir, dir).split(path.sep).filter(Boolean);
  let parent = mountDir;
  for (const seg of rel) {
    const child = path.join(parent, seg);
    fs.mkdirSync(child, { recursive: true });
    for (const f of ['cpuset.cpus', 'cpuset.mems']) {
      const mine = fs.readFileSync(path.join(child, f), 'utf8').trim();
      if (mine === '') fs.writeFileSync(path.join(child, f), fs.readFileSync(path.join(parent, f), 'utf8').trim());
    }
    parent = child;
  }
}
