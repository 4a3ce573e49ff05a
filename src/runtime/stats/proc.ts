/**
 * What /proc tells about a set of processes and the host: the machine's CPU time (Docker's
 * system_cpu_usage), memory from smaps_rollup, block I/O from /proc/<pid>/io, and a process
 * tree walk for containers that have no accounting cgroup (started before it existed).
 */
import fs from 'node:fs';

const USER_HZ = 100; // the kernel's exported clock tick (sysconf(_SC_CLK_TCK) on Linux)
const NS_PER_TICK = 1e9 / USER_HZ;

function read(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Host CPU time in ns (all CPUs, all modes, as Docker sums /proc/stat's cpu line) and the online CPUs. */
export function hostCpu(): { systemNs: number; onlineCpus: number } {
  const text = read('/proc/stat') ?? '';
  const lines = text.split('\n');
  const total = (lines[0] ?? '')
    .split(/\s+/)
    .slice(1, 8)
    .reduce((a, b) => a + (Number(b) || 0), 0);
  const online = lines.filter((l) => /^cpu\d+ /.test(l)).length;
  return { systemNs: total * NS_PER_TICK, onlineCpus: online || 1 };
}

/** Memory of processes, summed from smaps_rollup (Pss so pages shared between them count once). */
export function procMemory(pids: number[]): { pss: number; rss: number; anon: number; file: number; shmem: number } {
  const out = { pss: 0, rss: 0, anon: 0, file: 0, shmem: 0 };
  for (const pid of pids) {
    const text = read(`/proc/${pid}/smaps_rollup`);
    if (!text) continue;
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
    out.pss += kb('Pss');
    out.rss += kb('Rss');
    out.anon += kb('Anonymous');
    out.file += kb('Pss_File');
    out.shmem += kb('Pss_Shmem');
  }
  return out;
}

/** Bytes read from and written to storage by the processes (live ones only). */
export function procIo(pids: number[]): { read: number; write: number } {
  const out = { read: 0, write: 0 };
  for (const pid of pids) {
    const text = read(`/proc/${pid}/io`);
    if (!text) continue;
    out.read += Number(/^read_bytes: (\d+)/m.exec(text)?.[1] ?? 0);
    out.write += Number(/^write_bytes: (\d+)/m.exec(text)?.[1] ?? 0);
  }
  return out;
}

/** CPU time (ns) of processes and of their waited-for children. */
export function procCpu(pids: number[]): { userNs: number; systemNs: number } {
  const out = { userNs: 0, systemNs: 0 };
  for (const pid of pids) {
    const text = read(`/proc/${pid}/stat`);
    if (!text) continue;
    // fields after the command (which may hold spaces and parentheses)
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    out.userNs += (Number(f[11]) + Number(f[13])) * NS_PER_TICK;
    out.systemNs += (Number(f[12]) + Number(f[14])) * NS_PER_TICK;
  }
  return out;
}

/** A process and all its descendants (through /proc/<pid>/task/<tid>/children). */
export function processTree(root: number): number[] {
  const seen = new Set<number>();
  const todo = [root];
  while (todo.length) {
    const pid = todo.pop()!;
    if (seen.has(pid) || !fs.existsSync(`/proc/${pid}`)) continue;
    seen.add(pid);
    let tasks: string[] = [];
    try {
      tasks = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      for (const c of (read(`/proc/${pid}/task/${t}/children`) ?? '').split(' ')) if (c.trim()) todo.push(Number(c));
    }
  }
  return [...seen];
}

/** The pids listed in a cgroup's cgroup.procs (or tasks count in cgroup.threads). */
export function cgroupPids(dir: string, file: 'cgroup.procs' | 'cgroup.threads' = 'cgroup.procs'): number[] {
  return (read(`${dir}/${file}`) ?? '')
    .split('\n')
    .filter((l) => l.trim())
    .map(Number);
}

/** `key value` lines (cpu.stat, memory.stat) as numbers. */
export function keyValues(file: string): Record<string, number> | undefined {
  const text = read(file);
  if (text === undefined) return undefined;
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [k, v] = line.split(' ');
    if (k && v !== undefined && /^\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

/** A single-number cgroup file (memory.usage_in_bytes, pids.max); undefined for "max" or missing. */
export function numberFile(file: string): number | undefined {
  const text = read(file)?.trim();
  return text && /^\d+$/.test(text) ? Number(text) : undefined;
}
