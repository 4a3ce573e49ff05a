/**
 * The wait before each bench section until the machine is quiet again. A section's teardown
 * leaves work to the kernel that goes on after the section ended: a removed network namespace is
 * dismantled by the kernel's `netns` workqueue later (with RTNL and the net mutex held while it
 * runs), dockerd's and Podman's containers are cleaned up behind their CLI's answer, and the
 * page cache writes back what the section wrote. The next section's first measurements would
 * otherwise share the CPUs and the kernel's locks with that cleanup — load the issue's "quiet
 * machine" excludes, and which lands on whichever section comes next.
 *
 * Quiet here: the CPUs' busy share (all of /proc/stat's first line but idle and iowait) below
 * `busyBelow` over `windows` consecutive windows of `windowMs`. Gives up after `maxMs` and says
 * so: a machine that is never quiet is measured as it is, with its load printed beside.
 */
import fs from 'node:fs';

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

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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
