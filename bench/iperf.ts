/**
 * iperf3 between two network namespaces, and interleaved rounds of several paths, shared by the
 * throughput and overlay sections. One TCP stream, `--json`, received bits/s. The server is
 * `iperf3 -s -1` under `nsenter --net=<server ns>` (started per sample, killed afterwards); the
 * client runs under `nsenter --net=<client ns>`. Traffic stays inside the namespaces given.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import os from 'node:os';
import { cleanEnv, run } from '../test/helpers/world.js';
import { liveChildren, sleep, stats } from './lib.js';
import { perfAvailable, withPerf } from './perf-samples.js';

export interface IperfPath {
  serverNs: string;
  clientNs: string;
  /** Address the client connects to (a container IP, a host IP with a published port, …). */
  target: string;
  /** Port the server listens on (default 5201). */
  serverPort?: number;
  /** Port the client connects to (default serverPort: differs through a published port). */
  clientPort?: number;
  /** Bind the server to this address (-B). */
  bind?: string;
}

/** One iperf3 sample: Gbit/s received, and the CPU the two iperf3 processes used per GB moved. */
export interface IperfSample {
  gbit: number;
  /**
   * CPU ms per GB: iperf3's own cpu_utilization_percent of client and server (getrusage: user +
   * system, which on this kernel's tick accounting includes the softirq work run in their
   * context — on veth paths the sender's context forwards the packet through the bridge and
   * netfilter) × duration ÷ bytes. Load on the machine moves it much less than Gbit/s.
   */
  cpuMsPerGB: number;
  /** perf samples (3 kHz, all CPUs) of iperf3 and ksoftirqd per GB, and those in netfilter (perf-samples.ts); NaN without perf. */
  samplesPerGB: number;
  netfilterPerGB: number;
  /** The samples per GB outside the copies to and from user memory (perf-samples.ts); NaN without perf. */
  pathPerGB: number;
}

/**
 * iperf3's CPU affinity (`-A`): the client on CPU 0, the server on CPU 1, for every path alike.
 * On veth paths the sender's context carries each packet through the bridge and netfilter, so
 * the client's CPU does the path's work and the server's CPU the receiving socket's. Left to the
 * scheduler, the two sometimes shared one of this machine's two CPUs and sometimes not, which
 * moved a sample's Gbit/s by more than the differences between paths. None with a single CPU.
 */
function affinity(side: 'client' | 'server'): string[] {
  if (os.cpus().length < 2) return [];
  return ['-A', side === 'client' ? '0' : '1'];
}

/** One iperf3 run of `seconds`: Gbit/s received and CPU per GB (with `perf`: kernel samples per GB). */
export async function iperfSample(p: IperfPath, seconds: number, perf = false): Promise<IperfSample> {
  const sport = p.serverPort ?? 5201;
  const cport = p.clientPort ?? sport;
  const server = await iperfServer(p);
  try {
    const client = (): ReturnType<typeof run> =>
      run('nsenter', iperfClientArgs(p, seconds), { timeoutMs: (seconds + 20) * 1000 });
    const recorded = perf && perfAvailable() ? await withPerf(client) : undefined;
    const r = recorded ? recorded.value : await client();
    let j: {
      end?: {
        sum_received?: { bits_per_second?: number; bytes?: number; seconds?: number };
        cpu_utilization_percent?: { host_total?: number; remote_total?: number };
      };
      error?: string;
    };
    try {
      j = JSON.parse(r.stdout) as typeof j;
    } catch {
      throw new Error(`iperf3 → ${p.target}:${cport}: exit ${r.exitCode}: ${r.stderr.trim() || r.stdout.trim().slice(0, 300)}`);
    }
    const bps = j.end?.sum_received?.bits_per_second;
    if (!bps) throw new Error(`iperf3 → ${p.target}:${cport}: ${j.error ?? 'no result'}`);
    const cpu = j.end?.cpu_utilization_percent;
    const rx = j.end?.sum_received;
    const cpuS = (((cpu?.host_total ?? Number.NaN) + (cpu?.remote_total ?? Number.NaN)) / 100) * (rx?.seconds ?? Number.NaN);
    const gb = (rx?.bytes ?? Number.NaN) / 1e9;
    return {
      gbit: bps / 1e9,
      cpuMsPerGB: (cpuS * 1000) / gb,
      samplesPerGB: recorded ? recorded.count.all / gb : Number.NaN,
      netfilterPerGB: recorded ? recorded.count.netfilter / gb : Number.NaN,
      pathPerGB: recorded ? (recorded.count.all - recorded.count.userCopy) / gb : Number.NaN,
    };
  } finally {
    stopServer(server);
  }
}

/** `nsenter` arguments of an iperf3 client of `seconds` on the path, JSON output, pinned as `affinity` says. */
export function iperfClientArgs(p: IperfPath, seconds: number): string[] {
  const cport = p.clientPort ?? p.serverPort ?? 5201;
  return [
    `--net=${p.clientNs}`,
    'iperf3',
    '-c',
    p.target,
    '-p',
    String(cport),
    '-t',
    String(seconds),
    '--json',
    ...affinity('client'),
  ];
}

/** A one-shot iperf3 server in the path's server namespace (pinned as `affinity` says), once it listens. */
export async function iperfServer(p: IperfPath): Promise<ChildProcess> {
  const sport = p.serverPort ?? 5201;
  const server = spawn(
    'nsenter',
    [`--net=${p.serverNs}`, 'iperf3', '-s', '-1', '-p', String(sport), ...affinity('server'), ...(p.bind ? ['-B', p.bind] : [])],
    { env: cleanEnv(), stdio: 'ignore' },
  );
  liveChildren.add(server);
  let listening = false;
  for (let i = 0; i < 200 && !listening; i++) {
    const r = await run('nsenter', [`--net=${p.serverNs}`, 'ss', '-Hltn', `sport = :${sport}`]);
    listening = r.stdout.includes(`:${sport}`);
    if (!listening) await sleep(20);
  }
  if (!listening) {
    stopServer(server);
    throw new Error(`iperf3 server did not listen on ${sport}`);
  }
  return server;
}

/** End a server of `iperfServer` (it exits by itself after one client). */
export function stopServer(server: ChildProcess): void {
  if (server.exitCode === null) server.kill('SIGKILL');
  liveChildren.delete(server);
}

/**
 * Gbit/s samples per path name, one sample of every path per round: in the order given in even
 * rounds, reversed in odd ones (A B C, C B A, …), so no path always runs first or right after the
 * same neighbour; the samples are returned in round order whatever the order within the round.
 * The CPU ms per GB of each sample go to `cpu` when given (same keys, same order); with `nf`,
 * every sample is recorded with perf and its netfilter samples per GB go there (NaN without perf),
 * and with `pathCpu` too its samples per GB outside the user copies.
 */
export async function interleaved(
  paths: Record<string, IperfPath>,
  rounds: number,
  seconds: number,
  log: (m: string) => void,
  label: string,
  cpu?: Record<string, number[]>,
  nf?: Record<string, number[]>,
  pathCpu?: Record<string, number[]>,
): Promise<Record<string, number[]>> {
  const names = Object.keys(paths);
  const out: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const n of names) {
    if (cpu) cpu[n] = [];
    if (nf) nf[n] = [];
    if (pathCpu) pathCpu[n] = [];
  }
  for (let i = 0; i < rounds; i++) {
    log(`${label}: round ${i + 1}/${rounds} (${names.length} × ${seconds} s)`);
    for (const n of i % 2 === 0 ? names : [...names].reverse()) {
      const x = await iperfSample(paths[n]!, seconds, nf !== undefined);
      out[n]!.push(x.gbit);
      cpu?.[n]?.push(x.cpuMsPerGB);
      nf?.[n]?.push(x.netfilterPerGB);
      pathCpu?.[n]?.push(x.pathPerGB);
    }
  }
  return out;
}

/** A path against its ceiling: ratio of the medians, and the median of the per-round ratios. */
export interface VsCeiling {
  ofMedians: number;
  paired: number;
}

export function vsCeiling(xs: number[], ceiling: number[]): VsCeiling {
  return {
    ofMedians: stats(xs).median / stats(ceiling).median,
    paired: stats(xs.map((x, i) => x / ceiling[i]!)).median,
  };
}

export const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(0)} %` : '–');
export const gbit = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '–');
