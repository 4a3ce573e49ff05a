/**
 * Not a benchmark section: a profiling aid for issue 14. Drives the daemon side of
 * `run --rm --network <user bridge> busybox true` as raw requests (create, start, wait,
 * delete; the CLI's attach is left out) N times in a throwaway world and prints the median of
 * each request, the daemon's CPU time per run (own and its children's, from /proc: a loaded
 * machine disturbs it less than wall time) and the median of every step of the daemon's timing
 * log (TSNET_TIMING=1: wall time per step, see src/errors/rollback.ts).
 *
 * - `--attach`: only create and delete (the attach of bench `network`), no start.
 * - `--rm`: the flow of bench `network`'s daemon-run row (create with AutoRemove, wait for
 *   `removed` registered before the start, start; no delete). `wait open` is the time from the
 *   create's answer to the wait's headers (the registration the start is sent after).
 * - `--ab DIR`: a second world whose daemon is the build of the checkout DIR (e.g. a worktree of
 *   main), measured in the same run, alternating A and B run by run: an A/B on a shared machine.
 * - `--cpu-prof DIR`: tsnetd runs with `--cpu-prof` and writes its profile there at exit;
 *   `--ab-self 'FLAGS'`: the same, with this checkout's daemon given FLAGS in world A.
 *   `--ab-env 'K=V …'`: the same, with this checkout's daemon given these environment variables
 *   in world A. `--ab-node 'FLAGS'`: the same, with this checkout's daemon's node given these
 *   options (V8 flags) in world A; `--node 'FLAGS'`: options for node of this checkout's daemon
 *   (world B, or the only one). `--strace FILE`: it runs under `strace -f -e trace=execve` (other strace options
 *   from STRACE_OPTS, e.g. `STRACE_OPTS='-tt -T'`); `--log FILE`: the daemon's log (with the
 *   timing lines) is copied there.
 * - `--scale N`: N creates on one bridge instead: per block of 50, the medians of the creates
 *   and of each timing step, the frames the bridge's ports sent, softirq and daemon CPU time.
 *   `--control`: after each, a create on a second bridge that is made anew every 50 (the same
 *   load on a small bridge: what grows on the big one only grows with the bridge).
 * - `--exec-tmpfs [B]`: the worlds' exec-root on a tmpfs, as tsnetd's default /run/tsnet and bench
 *   worlds have it (benchWorld); `B`: only world B's (an A/B of that alone, with `--ab .`).
 * - `--no-timing`: the daemons run without TSNET_TIMING, as bench worlds do (its log lines cost
 *   CPU too; no steps are printed then).
 * - `--cni`: after each run, the CNI half of bench network's attach round in that world (a netns
 *   made, the CNI bridge plugin's ADD and DEL, the netns removed): the kernel's state the bench's
 *   creates meet.
 * - `--spans FILE`: each kept create's start and end on the monotonic clock (µs, the clock of a
 *   `--cpu-prof` profile's sample times and of `perf`'s), one line per create, `side start end`,
 *   written to FILE at the end: a profile cut to the create requests.
 * - `--gap MS`: a pause after each run, as a user's next command or bench network's CNI half
 *   leaves one (the daemon's background work, e.g. the netns pool's refill, happens there).
 *
 * - Environment: `TSNET_DAEMON_PREFIX='chrt -f 50'` runs both sides' daemons under that command
 *   (real-time priority: on a machine other sessions load, what the scheduler does to the daemon
 *   moves medians more than a change does; never the client: this script at real-time priority
 *   with `--ab` once spun at 187 % CPU for 15 minutes, its polls starving the kernel work they
 *   wait for);
 *   `TSNET_NODE_FLAGS='--perf-basic-prof --interpreted-frames-native-stack'` gives their node
 *   flags (JavaScript names in `perf record -p <daemon pid>`).
 *
 *   node --import tsx bench/profile-run.ts [--n 30] [--attach] [--ab DIR] [--ports] [--net-create]
 *     [--cpu-prof DIR] [--strace FILE] [--log FILE] [--backend nftables] [--scale N [--control]] [--gap MS] [--no-timing] [--cni]
 *     [--exec-tmpfs [B]] [--spans FILE]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createWorld, type World } from '../test/helpers/world.js';
import { apiOk, argOption, createBody, daemonWrapper, median } from './lib.js';
import { cniRound, openRequest } from './network.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => argOption(args, name);
const N = Number(opt('--n') ?? 30);
const prof = opt('--cpu-prof');
const logOut = opt('--log');
const backend = opt('--backend');
const ports = args.includes('--ports');
const stracePath = opt('--strace');
const attachOnly = args.includes('--attach');
// --rm: as bench network's daemon-run row: create with AutoRemove, wait (removed), start; no delete
const autoRemove = args.includes('--rm');
const other = opt('--ab');
// --net-create: a network create/rm after each run too (timed; the old default)
const netCreate = args.includes('--net-create');
const gapMs = Number(opt('--gap') ?? 0);
// --spans FILE: the kept creates' start and end (monotonic µs), to cut a profile to them
const spansOut = opt('--spans');
const spans: string[] = [];
// --no-timing: the daemons without TSNET_TIMING (as the bench runs them; no steps printed)
const noTiming = args.includes('--no-timing');
// --cni: after each run, bench network's CNI half of an attach round in that world (untimed)
const cniGap = args.includes('--cni');
// --exec-tmpfs [all|B]: the worlds' exec-root on a tmpfs (as /run/tsnet is), in every world or only in B
const execTmpfs = args.includes('--exec-tmpfs') ? (opt('--exec-tmpfs') === 'B' ? 'B' : 'all') : 'none';
const HERE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Side {
  name: string;
  repo: string;
  w: World;
  t: Record<string, number[]>;
  cpu0: { self: number; children: number };
  cpu1: { self: number; children: number };
  /** On-CPU time of the daemon's main thread and of all its threads (schedstat, ns precision). */
  sched0: { main: number; mainWait: number; all: number; threads: Map<string, number> };
  sched1: { main: number; mainWait: number; all: number; threads: Map<string, number> };
  logFrom: number;
  /** On-CPU ms of each thread during the create requests (summed, by tid). */
  inCreates: Map<string, number>;
}

async function makeSide(
  name: string,
  repo: string,
  extra: string[] = [],
  env: Record<string, string> = {},
  nodeFlags = '',
): Promise<Side> {
  const w = await createWorld({
    execRootTmpfs: execTmpfs === 'all' || (execTmpfs === 'B' && name === 'B'),
    daemonArgs: ['--log-level', 'info', ...(backend ? ['--firewall-backend', backend] : []), ...extra],
  });
  // restart with the profiler / timing log on
  await w.killDaemon('SIGTERM');
  process.env.TSNET_DAEMON_WRAP = [
    ...(stracePath
      ? [`strace -f -qq ${process.env.STRACE_OPTS ?? '-e trace=execve'} -o ${stracePath}.${name.replace(/[^A-Za-z0-9]+/g, '-')}`]
      : []),
    daemonWrapper(name, repo, prof, nodeFlags),
  ].join(' ');
  try {
    await w.startDaemon([], { ...(noTiming ? {} : { TSNET_TIMING: '1' }), ...env });
  } finally {
    process.env.TSNET_DAEMON_WRAP = '';
  }
  await w.ok(['network', 'create', 'profnet']);
  const zero = { self: 0, children: 0 };
  return {
    name,
    repo: path.resolve(repo),
    w,
    t: {
      create: [],
      'create CPU main': [],
      'create CPU all': [],
      start: [],
      'wait open': [],
      wait: [],
      delete: [],
      total: [],
      netCreate: [],
    },
    cpu0: zero,
    cpu1: zero,
    sched0: { main: 0, mainWait: 0, all: 0, threads: new Map() },
    sched1: { main: 0, mainWait: 0, all: 0, threads: new Map() },
    logFrom: 0,
    inCreates: new Map(),
  };
}

/** The daemon's CPU time (its own, and its reaped children's), in ms (10 ms ticks). */
function cpuOf(w: World): { self: number; children: number } {
  const pid = w.daemon?.pid;
  if (!pid) return { self: 0, children: 0 };
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const v = f
    .slice(f.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  const tick = 1000 / 100; // USER_HZ
  return { self: (v[11]! + v[12]!) * tick, children: (v[13]! + v[14]!) * tick };
}

/** ms on a CPU of the daemon's main thread, of all its live threads and of each (/proc/…/schedstat). */
function schedOf(w: World): { main: number; mainWait: number; all: number; threads: Map<string, number> } {
  const pid = w.daemon?.pid;
  const threads = new Map<string, number>();
  if (!pid) return { main: 0, mainWait: 0, all: 0, threads };
  // schedstat: ns on a CPU, ns runnable but waiting for one, timeslices
  const field = (tid: string, i: number): number => {
    try {
      return Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[i]) / 1e6;
    } catch {
      return 0;
    }
  };
  const onCpu = (tid: string): number => field(tid, 0);
  let all = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    threads.set(tid, onCpu(tid));
    all += threads.get(tid)!;
  }
  return { main: onCpu(String(pid)), mainWait: field(String(pid), 1), all, threads };
}

const logSize = (w: World): number => fs.statSync(path.join(w.dir, 'daemon.log')).size;

const portMap: Record<string, Array<{ HostIp: string; HostPort: string }>> = ports
  ? { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '18080' }] }
  : {};

/** One run (or, with --attach, one create + delete); the times go to `s.t` when `keep`. */
async function oneRun(s: Side, i: number, keep: boolean): Promise<void> {
  const sock = s.w.socket;
  const t0 = performance.now();
  const body = createBody('profnet', ['true'], portMap) as { HostConfig: Record<string, unknown> };
  if (autoRemove) body.HostConfig.AutoRemove = true;
  const before = schedOf(s.w);
  const m0 = process.hrtime.bigint();
  const c = await apiOk(sock, 'POST', '/containers/create', body);
  const m1 = process.hrtime.bigint();
  const after = schedOf(s.w);
  const id = (JSON.parse(c.body) as { Id: string }).Id;
  let startMs = 0;
  let waitMs = 0;
  let waitOpenMs = 0;
  if (autoRemove) {
    // as the CLI's run --rm: the wait for `removed` registered (headers) before the start
    const tw = performance.now();
    const waiting = await openRequest(sock, 'POST', `/containers/${id}/wait?condition=removed`);
    waitOpenMs = performance.now() - tw;
    const st = await apiOk(sock, 'POST', `/containers/${id}/start`);
    const tStarted = performance.now();
    await waiting.body;
    startMs = st.ms;
    waitMs = performance.now() - tStarted;
  } else if (!attachOnly) {
    const waiting = apiOk(sock, 'POST', `/containers/${id}/wait?condition=next-exit`);
    const st = await apiOk(sock, 'POST', `/containers/${id}/start`);
    const tStarted = performance.now();
    await waiting;
    startMs = st.ms;
    waitMs = performance.now() - tStarted;
  }
  const d = autoRemove ? { ms: 0 } : await apiOk(sock, 'DELETE', `/containers/${id}?force=1`);
  const total = performance.now() - t0;
  const nc =
    netCreate && keep ? await apiOk(sock, 'POST', '/networks/create', { Name: `pn${i}`, CheckDuplicate: true }) : undefined;
  if (nc) await apiOk(sock, 'DELETE', `/networks/pn${i}`);
  if (!keep) return;
  if (spansOut) spans.push(`${s.name} ${m0 / 1000n} ${m1 / 1000n}`);
  s.t.create!.push(c.ms);
  // on-CPU time of the daemon during the create request (its main thread; all its threads; each)
  s.t['create CPU main']!.push(after.main - before.main);
  s.t['create CPU all']!.push(after.all - before.all);
  for (const [tid, ms] of after.threads) s.inCreates.set(tid, (s.inCreates.get(tid) ?? 0) + ms - (before.threads.get(tid) ?? 0));
  if (!attachOnly) {
    s.t.start!.push(startMs);
    if (autoRemove) s.t['wait open']!.push(waitOpenMs);
    s.t.wait!.push(waitMs);
  }
  if (!autoRemove) s.t.delete!.push(d.ms);
  s.t.total!.push(total);
  if (nc) s.t.netCreate!.push(nc.ms);
}

/** Median of each step of the timing log written since `from`, in first-seen order, and how often it came per run. */
function steps(w: World, from: number): string[] {
  return [...stepTimes(w, from)].map(
    ([name, xs]) => `  ${median(xs).toFixed(2).padStart(8)} ms  ×${(xs.length / N).toFixed(1)}  ${name}`,
  );
}

/** Every step of the timing log written since `from` (ids folded), in first-seen order, with its times. */
function stepTimes(w: World, from: number): Map<string, number[]> {
  const fd = fs.openSync(path.join(w.dir, 'daemon.log'), 'r');
  const buf = Buffer.alloc(logSize(w) - from);
  fs.readSync(fd, buf, 0, buf.length, from);
  fs.closeSync(fd);
  const by = new Map<string, number[]>();
  for (const line of buf.toString('utf8').split('\n')) {
    const m = /^timing (-?[0-9.]+) ms (.*)$/.exec(line);
    if (!m) continue;
    const name = m[2]!.replace(/[0-9a-f]{12,}[^?/ ]*/g, '{id}').replace(/\?.*$/, '');
    by.set(name, [...(by.get(name) ?? []), Number(m[1])]);
  }
  return by;
}

/** Frames sent by the ports of network profnet's bridge (what it floods into the containers), summed. */
async function vethTxFrames(w: World): Promise<number> {
  const id = (JSON.parse((await apiOk(w.socket, 'GET', '/networks/profnet')).body) as { Id: string }).Id;
  const r = await w.inHost(['ip', '-s', '-j', 'link', 'show', 'master', `br-${id.slice(0, 12)}`]);
  const links = JSON.parse(r.stdout || '[]') as Array<{ stats64?: { tx?: { packets?: number } } }>;
  return links.reduce((sum, l) => sum + (l.stats64?.tx?.packets ?? 0), 0);
}

/** The machine's softirq time over all CPUs (/proc/stat), in ms. */
function softirqMs(): number {
  const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/);
  return Number(cpu[7]) * 10; // USER_HZ ticks
}

async function scaleRun(s: Side, scale: number): Promise<void> {
  // create `scale` containers (not started) on one bridge; the daemon's timing log has each step.
  // With --control: after each, one create on a second bridge that is made anew every block of 50
  // (so it never has more than 50 ports), timed and logged apart: the same load, a small bridge.
  const control = args.includes('--control');
  const xs: number[] = [];
  const cs: number[] = [];
  // per block of 50 creates: the median of each timing step (which step grows with the bridge)
  const blocks: Array<{ big: Map<string, number>; ctl: Map<string, number> }> = [];
  let big = new Map<string, number[]>();
  let ctl = new Map<string, number[]>();
  let ctlIds: string[] = [];
  const ctlNet = async (make: boolean) => {
    for (const id of ctlIds) await apiOk(s.w.socket, 'DELETE', `/containers/${id}?force=1`);
    ctlIds = [];
    if (!make) return apiOk(s.w.socket, 'DELETE', '/networks/ctlnet');
    return apiOk(s.w.socket, 'POST', '/networks/create', { Name: 'ctlnet', CheckDuplicate: true });
  };
  if (control) await ctlNet(true);
  // frames the world's veths sent (host ends: what the bridge floods into the containers) and
  // the machine's softirq time, per block
  let frames = await vethTxFrames(s.w);
  let soft = softirqMs();
  let cpu = cpuOf(s.w).self;
  for (let i = 0; i < scale; i++) {
    let from = logSize(s.w);
    const c = await apiOk(s.w.socket, 'POST', '/containers/create', createBody('profnet'));
    xs.push(c.ms);
    addTimes(big, stepTimes(s.w, from));
    if (control) {
      from = logSize(s.w);
      const k = await apiOk(s.w.socket, 'POST', '/containers/create', createBody('ctlnet'));
      cs.push(k.ms);
      ctlIds.push((JSON.parse(k.body) as { Id: string }).Id);
      addTimes(ctl, stepTimes(s.w, from));
    }
    if (i % 50 === 49) {
      const fds = s.w.daemon?.pid ? fs.readdirSync(`/proc/${s.w.daemon.pid}/fd`).length : 0;
      const [f, so, cp] = [await vethTxFrames(s.w), softirqMs(), cpuOf(s.w).self];
      console.log(
        `#${i + 1 - 9}..#${i + 1} median ${median(xs.slice(-10)).toFixed(1)} ms, block of 50 ${median(xs.slice(-50)).toFixed(1)} ms${control ? ` (control ${median(cs.slice(-50)).toFixed(1)} ms)` : ''}; in the block: veth tx frames ${f - frames}, machine softirq ${(so - soft).toFixed(0)} ms, daemon CPU ${cp - cpu} ms; daemon fds ${fds}`,
      );
      [frames, soft, cpu] = [f, so, cp];
      const med = (m: Map<string, number[]>) => new Map([...m].map(([n, v]) => [n, median(v)]));
      blocks.push({ big: med(big), ctl: med(ctl) });
      big = new Map();
      ctl = new Map();
      if (control) {
        await ctlNet(false);
        await ctlNet(true);
      }
    }
  }
  const names = [...new Set(blocks.flatMap((b) => [...b.big.keys()]))];
  const row = (m: (b: (typeof blocks)[number]) => Map<string, number>, n: string) =>
    blocks.map((b) => (m(b).get(n) ?? NaN).toFixed(2).padStart(6)).join(' ');
  console.log(`step medians (ms) per block of 50 creates, ${s.name}${control ? ' (second line: the control bridge)' : ''}:`);
  for (const n of names) {
    console.log(`  ${row((b) => b.big, n)}  ${n}`);
    if (control) console.log(`  ${row((b) => b.ctl, n)}  (control)`);
  }
  console.log(`#1..#10 median ${median(xs.slice(0, 10)).toFixed(1)} ms`);
  if (control) await ctlNet(false);
  const t0 = performance.now();
  await apiOk(s.w.socket, 'GET', '/containers/json?all=1');
  const tPs = performance.now() - t0;
  const t1 = performance.now();
  await apiOk(s.w.socket, 'GET', '/networks/profnet');
  console.log(`GET /containers/json?all=1 ${tPs.toFixed(1)} ms, GET /networks/profnet ${(performance.now() - t1).toFixed(1)} ms`);
}

function addTimes(into: Map<string, number[]>, from: Map<string, number[]>): void {
  for (const [n, v] of from) into.set(n, [...(into.get(n) ?? []), ...v]);
}

async function main(sides: Side[]): Promise<void> {
  const scale = Number(opt('--scale') ?? 0);
  if (scale > 0) {
    for (const s of sides) await scaleRun(s, scale);
    return;
  }
  for (let i = -2; i < N; i++) {
    if (i === 0)
      for (const s of sides) {
        s.cpu0 = cpuOf(s.w);
        s.sched0 = schedOf(s.w);
        s.logFrom = logSize(s.w);
      }
    // alternate which side goes first
    const order = i % 2 === 0 ? sides : [...sides].reverse();
    for (const s of order) {
      await oneRun(s, i + 2, i >= 0);
      if (cniGap) {
        const tmp = path.join(s.w.dir, 'bench-cni');
        fs.mkdirSync(tmp, { recursive: true });
        await cniRound(s.w.hostNetns, tmp, i + 3);
      }
      if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
    }
  }
  for (const s of sides) {
    s.cpu1 = cpuOf(s.w);
    s.sched1 = schedOf(s.w);
  }
  console.log(
    `load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}; ${N} runs per side${attachOnly ? ' (create + delete only)' : ''}`,
  );
  for (const s of sides) {
    const links = await s.w.inHost(['ip', '-o', 'link', 'show', 'type', 'veth']);
    console.log(
      `\n== ${s.name}: ${s.repo} (veths left in the world host netns: ${links.stdout.split('\n').filter(Boolean).length})`,
    );
    for (const [k, xs] of Object.entries(s.t))
      if (xs.length) console.log(`${k.padEnd(15)} median ${median(xs).toFixed(1)} ms  (min ${Math.min(...xs).toFixed(1)})`);
    const perRun = (x: number) => (x / N).toFixed(1);
    const perRun2 = (x: number) => (x / N).toFixed(2);
    console.log(
      `daemon CPU per run: ${perRun(s.cpu1.self - s.cpu0.self)} ms, its children ${perRun(s.cpu1.children - s.cpu0.children)} ms (10 ms ticks, over ${N} runs${netCreate ? ', network create/rm included' : ''})`,
    );
    console.log(
      `on-CPU per run (schedstat): main thread ${perRun2(s.sched1.main - s.sched0.main)} ms, all threads ${perRun2(s.sched1.all - s.sched0.all)} ms; main thread runnable but not on a CPU ${perRun2(s.sched1.mainWait - s.sched0.mainWait)} ms`,
    );
    // per thread (tids in the order made: main, V8's platform threads, libuv's pool, worker threads)
    const per = [...s.sched1.threads]
      .map(([tid, ms]) => [tid, (ms - (s.sched0.threads.get(tid) ?? 0)) / N] as const)
      .filter(([, ms]) => ms >= 0.05)
      .map(([tid, ms]) => `${Number(tid) - (s.w.daemon?.pid ?? 0)}:${ms.toFixed(2)}`);
    console.log(`  per thread (tid - pid: ms per run): ${per.join(' ')}`);
    const inCreates = [...s.inCreates]
      .filter(([, ms]) => ms / N >= 0.05)
      .map(([tid, ms]) => `${Number(tid) - (s.w.daemon?.pid ?? 0)}:${(ms / N).toFixed(2)}`);
    console.log(`  during the creates (tid - pid: ms per create): ${inCreates.join(' ')}`);
    console.log('steps (TSNET_TIMING, median wall ms, occurrences per run):');
    for (const l of steps(s.w, s.logFrom)) console.log(l);
  }
  if (spansOut) fs.writeFileSync(spansOut, `${spans.join('\n')}\n`);
}

const sides: Side[] = [];
try {
  // --ab-self 'ARGS': A is this checkout too, its daemon started with these extra flags
  const selfArgs = opt('--ab-self');
  if (other) sides.push(await makeSide('A', other));
  else if (selfArgs !== undefined) sides.push(await makeSide(`A (${selfArgs})`, HERE, selfArgs.split(' ').filter(Boolean)));
  // --ab-env 'K=V …': A is this checkout too, its daemon started with these environment variables
  const selfEnv = opt('--ab-env');
  if (selfEnv !== undefined)
    sides.push(
      await makeSide(
        `A (${selfEnv})`,
        HERE,
        [],
        Object.fromEntries(
          selfEnv
            .split(' ')
            .filter(Boolean)
            .map((kv) => kv.split('=') as [string, string]),
        ),
      ),
    );
  // --ab-node 'FLAGS': A is this checkout too, its daemon's node started with these options (V8 flags)
  const selfNode = opt('--ab-node');
  if (selfNode !== undefined) sides.push(await makeSide(`A (${selfNode})`, HERE, [], {}, selfNode));
  // --node 'FLAGS': this checkout's daemon (B, or the only side) with these node options
  sides.push(
    await makeSide(
      other || selfArgs !== undefined || selfEnv !== undefined || selfNode !== undefined ? 'B' : 'run',
      HERE,
      [],
      {},
      opt('--node') ?? '',
    ),
  );
  await main(sides);
  for (const s of sides) await s.w.killDaemon('SIGTERM');
} finally {
  for (const s of sides) {
    if (logOut) fs.copyFileSync(path.join(s.w.dir, 'daemon.log'), sides.length > 1 ? `${logOut}.${s.name}` : logOut);
    await s.w.teardown();
  }
}
