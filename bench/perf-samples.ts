/**
 * Kernel CPU samples of one iperf3 sample, netfilter apart (decision 46's method, in the bench
 * since decision 49): `perf record -a -F 2999` (cpu-clock; works on VMs without a PMU) while
 * the client runs, then the samples whose thread is iperf3 or ksoftirqd — on veth paths the
 * bridge, netfilter and the receiving stack run in the softirq of the sending thread — counted
 * in all and by symbol: netfilter = nf_tables, xtables, conntrack, NAT and br_netfilter
 * functions. Samples per GB received resolve a 2–5 % cost that Gbit/s on a shared box cannot.
 * Needs `perf` (Debian: linux-perf); without it the bench leaves the column empty.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../test/helpers/world.js';

const NETFILTER = /^(nft_|__nft_|nf_|__nf_|br_nf_|ipt_|xt_|ipv4_conntrack|ipv4_confirm|nf_conntrack|hash_conntrack|comment_mt)/;

export interface PerfCount {
  /** Samples of iperf3 and ksoftirqd threads. */
  all: number;
  /** Of which in netfilter symbols. */
  netfilter: number;
  /**
   * Of which in the copies between the sockets and user memory: what one sample's machine state
   * moves most (decision 53: 262–671 per GB within one path), whatever the path.
   */
  userCopy: number;
}

const USER_COPY = /^(_copy_from_iter|_copy_to_iter|__check_object_size|rep_movs_alternative|copy_user_)/;

let available: boolean | undefined;

/** Whether `perf record` works here (checked once). */
export function perfAvailable(): boolean {
  available ??= spawnSync('perf', ['--version'], { stdio: 'ignore' }).status === 0;
  return available;
}

/**
 * Record all CPUs while `body` runs; the samples of iperf3/ksoftirqd, netfilter apart. perf
 * starts with its events off (`-D -1`) and is switched on through its control FIFO before
 * `body`: its `ack` says the events are on, so no part of the sample goes unrecorded however
 * long perf takes to set up on a loaded machine.
 */
export async function withPerf<T>(body: () => Promise<T>): Promise<{ value: T; count: PerfCount }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-bench-perf-'));
  const file = path.join(dir, 'perf.data');
  const ctl = path.join(dir, 'ctl');
  const ack = path.join(dir, 'ack');
  for (const f of [ctl, ack]) if (spawnSync('mkfifo', [f]).status !== 0) throw new Error(`mkfifo ${f} failed`);
  const rec = spawn('perf', ['record', '-a', '-F', '2999', '-q', '-D', '-1', `--control=fifo:${ctl},${ack}`, '-o', file], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((r) => rec.once('exit', () => r()));
  const fds: fs.promises.FileHandle[] = [];
  try {
    // perf opens the ack FIFO for writing at start-up (this open returns then), the control FIFO read-write
    const ackFh = await fs.promises.open(ack, 'r');
    fds.push(ackFh);
    const ctlFh = await fs.promises.open(ctl, 'w');
    fds.push(ctlFh);
    await ctlFh.write('enable\n');
    const buf = Buffer.alloc(16);
    const { bytesRead } = await ackFh.read(buf, 0, buf.length, null);
    if (!buf.subarray(0, bytesRead).toString().startsWith('ack')) throw new Error('perf record did not acknowledge enable');
    const value = await body();
    rec.kill('SIGINT');
    await exited;
    const out = await run('perf', ['script', '-i', file, '-F', 'comm,ip,sym'], { timeoutMs: 120_000 });
    return { value, count: countSamples(out.stdout) };
  } finally {
    if (rec.exitCode === null && rec.signalCode === null) rec.kill('SIGKILL');
    for (const fh of fds) await fh.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Count `perf script -F comm,ip,sym` lines: threads iperf3 and ksoftirqd/N, netfilter symbols apart. */
export function countSamples(script: string): PerfCount {
  let all = 0;
  let netfilter = 0;
  let userCopy = 0;
  for (const line of script.split('\n')) {
    const [comm, , sym] = line.trim().split(/\s+/);
    if (!comm || !(comm === 'iperf3' || comm.startsWith('ksoftirqd'))) continue;
    all++;
    if (sym && NETFILTER.test(sym)) netfilter++;
    else if (sym && USER_COPY.test(sym)) userCopy++;
  }
  return { all, netfilter, userCopy };
}
