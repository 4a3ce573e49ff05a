/**
 * `--ulimit` (HostConfig.Ulimits): the rlimits tsnet-init sets on the container's process before
 * its execve, and on every `exec` process (as Docker: runc gets the container's rlimits for both).
 * Pure; checked at create, so that a container that was accepted can start — except a hard limit
 * above the daemon's own (raising it needs CAP_SYS_RESOURCE), which the kernel refuses at start.
 */
import { TsnetError } from '../../errors/index.js';
import type { Ulimit } from './types.js';

/** Docker's names (github.com/docker/go-units ulimit.go), as the kernel's RLIMIT_<NAME>. */
export const ULIMIT_NAMES = [
  'as',
  'core',
  'cpu',
  'data',
  'fsize',
  'locks',
  'memlock',
  'msgqueue',
  'nice',
  'nofile',
  'nproc',
  'rss',
  'rtprio',
  'rttime',
  'sigpending',
  'stack',
] as const;

/** The largest value Docker passes (int64); at or above it, and -1, mean "unlimited". */
const INT64_MAX = 2 ** 63 - 1;

const bad = (message: string) => new TsnetError('TSNET_INVALID_ARGUMENT', message);

function value(v: unknown, name: string, which: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -1)
    throw bad(`invalid ulimit ${name}: ${which} limit ${String(v)} is not a number >= 0 (or -1 for unlimited)`);
  return v === -1 || v >= INT64_MAX ? -1 : v;
}

const isUnlimited = (v: number) => v === -1;
const bigger = (a: number, b: number) => (isUnlimited(a) ? !isUnlimited(b) : !isUnlimited(b) && a > b);

/**
 * The checked list: known names, soft <= hard, a name given twice keeps its last value (the
 * docker CLI keeps one per name too). Throws one line for the first bad entry.
 */
export function checkUlimits(list: unknown): Ulimit[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list) || list.length > 64) throw bad('HostConfig.Ulimits must be a list of at most 64 ulimits');
  const byName = new Map<string, Ulimit>();
  for (const u of list as Array<Partial<Ulimit> | null>) {
    const name = u?.Name;
    if (typeof name !== 'string' || !(ULIMIT_NAMES as readonly string[]).includes(name))
      throw bad(`invalid ulimit type: ${JSON.stringify(String(name ?? '')).slice(0, 70)} (one of ${ULIMIT_NAMES.join(', ')})`);
    const soft = value(u?.Soft ?? 0, name, 'soft');
    const hard = value(u?.Hard ?? 0, name, 'hard');
    if (bigger(soft, hard))
      throw bad(`invalid ulimit ${name}: soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
    byName.delete(name);
    byName.set(name, { Name: name, Soft: soft, Hard: hard });
  }
  return [...byName.values()];
}

/** tsnet-init's `rlimit` value: `<name> <soft> <hard>`, -1 as `unlimited`. */
export function rlimitRecord(u: Ulimit): string {
  const v = (n: number) => (isUnlimited(n) ? 'unlimited' : BigInt(n).toString());
  return `${u.Name} ${v(u.Soft)} ${v(u.Hard)}`;
}
