/**
 * A container's resource limits: read from its HostConfig for a start, and changed by
 * `POST /containers/{id}/update` with Docker's rules (a zero or empty field is "unchanged",
 * conflicting options and out-of-range values are refused before anything is written).
 */
import { TsnetError } from '../../errors/index.js';
import type { Limits } from '../cgroup-limits.js';
import { MIN_MEMORY } from './create-request.js';
import type { HostConfig } from './types.js';

/** The body of `POST /containers/{id}/update` (Docker's UpdateConfig; other fields are ignored). */
export interface UpdateBody {
  BlkioWeight?: number | null;
  CpuShares?: number | null;
  CpuPeriod?: number | null;
  CpuQuota?: number | null;
  CpusetCpus?: string | null;
  CpusetMems?: string | null;
  Memory?: number | null;
  MemoryReservation?: number | null;
  MemorySwap?: number | null;
  NanoCpus?: number | null;
  PidsLimit?: number | null;
  RestartPolicy?: { Name?: string | null; MaximumRetryCount?: number | null } | null;
}

/** The resource fields of a HostConfig (its type leaves them open). */
interface ResourceFields {
  Memory?: number;
  MemorySwap?: number;
  MemoryReservation?: number;
  NanoCpus?: number;
  CpuShares?: number;
  CpuQuota?: number;
  CpuPeriod?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  PidsLimit?: number | null;
  BlkioWeight?: number;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && v !== 0 ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * The limits a HostConfig asks for. `start` leaves out "unlimited" values (a container with no
 * limit on a controller joins no v1 hierarchy for it); `update` keeps them, so an unlimited value
 * replaces a limit that was set.
 */
export function limitsOf(hc: HostConfig, mode: 'start' | 'update'): Limits {
  const r = hc as ResourceFields;
  const out: Limits = {};
  const set = <K extends keyof Limits>(k: K, v: Limits[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('memory', num(r.Memory));
  set('memorySwap', num(r.MemorySwap));
  set('memoryReservation', num(r.MemoryReservation));
  set('nanoCpus', num(r.NanoCpus));
  set('cpuShares', num(r.CpuShares));
  set('cpuPeriod', num(r.CpuPeriod));
  const quota = num(r.CpuQuota);
  set('cpuQuota', mode === 'start' && quota !== undefined && quota < 0 ? undefined : quota);
  set('cpusetCpus', str(r.CpusetCpus));
  set('cpusetMems', str(r.CpusetMems));
  const pids = num(r.PidsLimit ?? undefined);
  set('pidsLimit', mode === 'start' && pids !== undefined && pids < 0 ? undefined : pids);
  set('blkioWeight', num(r.BlkioWeight));
  if (mode === 'start' && hc.OomKillDisable === true) out.oomKillDisable = true;
  const swappiness = hc.MemorySwappiness;
  if (mode === 'start' && typeof swappiness === 'number' && swappiness >= 0) out.memorySwappiness = swappiness;
  return out;
}

export interface Host {
  /** CPUs the host has (for --cpus and cpuset ranges). */
  cpus: number;
  /** Memory nodes the host has online (for cpuset-mems), e.g. "0" or "0-1". */
  mems: string;
}

/** Parse a cpuset list ("0-2,4") into its numbers, or undefined when it is not one. */
export function parseCpuset(list: string): number[] | undefined {
  const out: number[] = [];
  for (const part of list.split(',')) {
    const m = /^(\d{1,4})(?:-(\d{1,4}))?$/.exec(part.trim());
    if (!m) return undefined;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) return undefined;
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}

/**
 * Docker's update rules: the new HostConfig (a copy) after the update, or a TsnetError naming
 * what is wrong. Nothing is written here.
 */
export function updatedHostConfig(current: HostConfig, body: UpdateBody, host: Host): HostConfig {
  const cur = current as ResourceFields & HostConfig;
  const next: HostConfig & ResourceFields = { ...current };
  const bad = (msg: string, code: 'TSNET_INVALID_ARGUMENT' | 'TSNET_BAD_MEMORY' | 'TSNET_BAD_CPUS' = 'TSNET_INVALID_ARGUMENT') =>
    new TsnetError(code, msg);

  const memory = num(body.Memory);
  const swap = num(body.MemorySwap);
  const reservation = num(body.MemoryReservation);
  if (memory !== undefined) {
    if (!Number.isInteger(memory) || memory < 0) throw bad(`invalid memory limit ${memory}`, 'TSNET_BAD_MEMORY');
    if (memory < MIN_MEMORY) throw bad('Minimum memory limit allowed is 6MB', 'TSNET_BAD_MEMORY');
  }
  if (swap !== undefined && swap < -1) throw bad(`invalid memory swap limit ${swap}`, 'TSNET_BAD_MEMORY');
  const newMemory = memory ?? num(cur.Memory);
  if (swap !== undefined && swap > 0) {
    if (!newMemory)
      throw bad(
        'You should always set the Memory limit when using Memoryswap limit, see usage: --memory with --memory-swap',
        'TSNET_BAD_MEMORY',
      );
    if (swap < newMemory) throw bad('Minimum memoryswap limit should be larger than memory limit, see usage', 'TSNET_BAD_MEMORY');
  }
  // Docker: a memory limit above the swap limit already set needs the swap limit in the same update
  // a memory limit set at create without a swap limit has Docker's default: twice the memory
  const curMemory = num(cur.Memory);
  const curSwap = num(cur.MemorySwap) ?? (curMemory ? curMemory * 2 : undefined);
  if (memory !== undefined && swap === undefined && curSwap !== undefined && curSwap > 0 && memory > curSwap)
    throw bad(
      'Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time',
      'TSNET_BAD_MEMORY',
    );
  if (reservation !== undefined) {
    if (reservation < MIN_MEMORY) throw bad('Minimum memory reservation allowed is 6MB', 'TSNET_BAD_MEMORY');
    if (newMemory && reservation > newMemory)
      throw bad('Minimum memory limit can not be less than memory reservation limit, see usage', 'TSNET_BAD_MEMORY');
  }
  if (memory !== undefined) next.Memory = memory;
  if (swap !== undefined) next.MemorySwap = swap;
  else if (memory !== undefined && num(cur.MemorySwap) === undefined) next.MemorySwap = memory * 2; // Docker's default at create
  if (reservation !== undefined) next.MemoryReservation = reservation;

  const nano = num(body.NanoCpus);
  const period = num(body.CpuPeriod);
  const quota = num(body.CpuQuota);
  if (nano !== undefined) {
    if (period !== undefined) throw bad('Conflicting options: Nano CPUs and CPU Period cannot both be set', 'TSNET_BAD_CPUS');
    if (quota !== undefined) throw bad('Conflicting options: Nano CPUs and CPU Quota cannot both be set', 'TSNET_BAD_CPUS');
    if (num(cur.CpuPeriod) || num(cur.CpuQuota))
      throw bad('Conflicting options: Nano CPUs cannot be updated as CPU Period or Quota has already been set', 'TSNET_BAD_CPUS');
    if (!Number.isInteger(nano) || nano < 1e7 || nano > host.cpus * 1e9)
      throw bad(`Range of CPUs is from 0.01 to ${host.cpus}.00, as there are only ${host.cpus} CPUs available`, 'TSNET_BAD_CPUS');
    next.NanoCpus = nano;
  }
  if ((period !== undefined || quota !== undefined) && num(cur.NanoCpus))
    throw bad('Conflicting options: CPU Period or Quota cannot be updated as NanoCPUs has already been set', 'TSNET_BAD_CPUS');
  if (period !== undefined) {
    if (period < 1000 || period > 1_000_000)
      throw bad('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)', 'TSNET_BAD_CPUS');
    next.CpuPeriod = period;
  }
  if (quota !== undefined) {
    if (quota > 0 && quota < 1000) throw bad('CPU cfs quota can not be less than 1ms (i.e. 1000)', 'TSNET_BAD_CPUS');
    if (quota < -1) throw bad(`invalid CPU quota ${quota}`, 'TSNET_BAD_CPUS');
    next.CpuQuota = quota;
  }
  const shares = num(body.CpuShares);
  if (shares !== undefined) {
    if (shares < 0) throw bad(`invalid CPU shares ${shares}: a positive number (default 1024)`, 'TSNET_BAD_CPUS');
    next.CpuShares = shares;
  }
  const cpus = str(body.CpusetCpus);
  if (cpus !== undefined) {
    const list = parseCpuset(cpus);
    if (!list) throw bad(`Invalid value ${cpus} for cpuset cpus`, 'TSNET_BAD_CPUS');
    if (list.some((c) => c >= host.cpus))
      throw bad(
        `Requested CPUs are not available - requested ${cpus}, available: ${host.cpus > 1 ? `0-${host.cpus - 1}` : '0'}`,
        'TSNET_BAD_CPUS',
      );
    next.CpusetCpus = cpus;
  }
  const mems = str(body.CpusetMems);
  if (mems !== undefined) {
    const list = parseCpuset(mems);
    const online = new Set(parseCpuset(host.mems) ?? [0]);
    if (!list) throw bad(`Invalid value ${mems} for cpuset mems`, 'TSNET_BAD_CPUS');
    if (list.some((m) => !online.has(m)))
      throw bad(`Requested memory nodes are not available - requested ${mems}, available: ${host.mems}`, 'TSNET_BAD_CPUS');
    next.CpusetMems = mems;
  }
  if (body.PidsLimit !== undefined && body.PidsLimit !== null) {
    if (!Number.isInteger(body.PidsLimit)) throw bad(`invalid pids limit ${body.PidsLimit}`);
    // Docker: zero or less is unlimited
    next.PidsLimit = body.PidsLimit > 0 ? body.PidsLimit : -1;
  }
  const weight = num(body.BlkioWeight);
  if (weight !== undefined) {
    if (weight < 10 || weight > 1000) throw bad('Range of blkio weight is from 10 to 1000');
    next.BlkioWeight = weight;
  }

  const rp = body.RestartPolicy;
  if (rp && (rp.Name || rp.MaximumRetryCount)) {
    const name = rp.Name ?? '';
    const retries = rp.MaximumRetryCount ?? 0;
    if (!['', 'no', 'always', 'unless-stopped', 'on-failure'].includes(name))
      throw bad(`invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure' or 'unless-stopped'`);
    if (retries < 0) throw bad('invalid restart policy: maximum retry count cannot be negative');
    if (retries > 0 && name !== 'on-failure')
      throw bad(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
    if (current.AutoRemove && name !== '' && name !== 'no')
      throw bad('Restart policy cannot be updated because AutoRemove is enabled for the container');
    next.RestartPolicy = { Name: name, MaximumRetryCount: retries };
  }
  return next;
}
