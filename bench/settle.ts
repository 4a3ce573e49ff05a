/**
 * The wait before each bench section until the machine is quiet again. A section's teardown
 * leaves work to the kernel that goes on after the section ended: a removed network namespace is
 * dismantled by the kernel's `netns` workqueue later (with RTNL and the net mutex held while it
 * runs), dockerd's and Podman's containers are cleaned up behind their CLI's answer, and the
 * page cache writes back what the section wrote. The next section's first measurements would
 * otherwise share the CPUs and the kernel's locks with that cleanup — load the issue's "quiet
 * machine" excludes, and which lands on whichever section comes next.
 *
 * A section that times file creations (container creates, runs) first waits out the file
 * system too (`settleFs`): this machine's root is ext4 *without a journal* (no /proc/fs/jbd2
 * entry for it; Debian installs make one), and such an ext4 skips every inode freed in the last
 * 60 s (another 300 s while its inode-table block is still dirty) when it allocates a new one —
 * it reads each candidate's deletion time — so after a section that removed hundreds of
 * containers' files, every mkdir and file creation costs more system time for over a minute.
 * Measured here (mkdir + one file, system CPU per pair, idle CPUs): ~150–550 µs before, 700–1000
 * µs right after removing 10 000 such pairs, and back to ~175 µs only 80 s after a `sync`.
 * CNI's host-local files and the peers' state share the same file system and the same wait.
 *
 * Quiet here: the CPUs' busy share (all of /proc/stat's first line but idle and iowait) below
 * `busyBelow` over `windows` consecutive windows of `windowMs`. Gives up after `maxMs` and says
 * so: a machine that is never quiet is measured as it is, with its load printed beside.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { sleep } from './lib.js';

export interface SettleResult {
  /** ms waited */
  waited: number;
  /** the busy share of the last window (0..1) */
  busy: number;
  /** true when the machine became quiet before maxMs */
  quiet: boolean;
}

export interface SettleOptions {
  busyBelow?: number;
  windowMs?: number;
  windows?: number;
  maxMs?: number;
}

/** The CPUs' busy and total jiffies so far (/proc/stat's aggregate line). */
export function cpuJiffies(stat = fs.readFileSync('/proc/stat', 'utf8')): { busy: number; total: number } {
  const f = stat.split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice — guest time is in user already
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}

/** Waits until the machine is quiet (see the file's comment). */
export async function settle(o: SettleOptions = {}): Promise<SettleResult> {
  const busyBelow = o.busyBelow ?? 0.1;
  const windowMs = o.windowMs ?? 500;
  const windows = o.windows ?? 3;
  const maxMs = o.maxMs ?? 30_000;
  const t0 = performance.now();
  let quietWindows = 0;
  let busy = 1;
  let prev = cpuJiffies();
  while (performance.now() - t0 < maxMs) {
    await sleep(windowMs);
    const now = cpuJiffies();
    const dt = now.total - prev.total;
    busy = dt > 0 ? (now.busy - prev.busy) / dt : 0;
    prev = now;
    quietWindows = busy < busyBelow ? quietWindows + 1 : 0;
    if (quietWindows >= windows) return { waited: performance.now() - t0, busy, quiet: true };
  }
  return { waited: performance.now() - t0, busy, quiet: false };
}

/** Whether the file system holding `dir` is ext4 without a journal (see the file's comment). */
export function ext4WithoutJournal(dir: string): boolean {
  try {
    const src = execFileSync('findmnt', ['-n', '-o', 'SOURCE,FSTYPE', '-T', dir], { encoding: 'utf8' }).trim().split(/\s+/);
    if (src[1] !== 'ext4' || !src[0]?.startsWith('/dev/')) return false;
    const dev = src[0].slice('/dev/'.length);
    // /proc/fs/jbd2 has an entry per journal (none at all when no file system has one)
    const journals = fs.existsSync('/proc/fs/jbd2') ? fs.readdirSync('/proc/fs/jbd2') : [];
    return !journals.some((j) => j.startsWith(`${dev}-`));
  } catch {
    return false;
  }
}

/**
 * For sections that time file creations: write back what is dirty (`sync`), then wait until
 * `afterMs` have passed since `since` (the end of the previous section), so that ext4 without a
 * journal no longer skips the inodes the earlier sections freed. Returns the ms waited (0 on a
 * file system that needs no wait).
 */
export async function settleFs(dir: string, since: number, afterMs = 80_000): Promise<number> {
  if (!ext4WithoutJournal(dir)) return 0;
  const t0 = performance.now();
  execFileSync('sync');
  const left = since + afterMs - performance.now();
  if (left > 0) await sleep(left);
  return performance.now() - t0;
}
