/**
 * The test world: a throwaway "host" network namespace, its own tsnetd with temp --root and
 * --exec-root and its own cgroup parent, and a teardown that removes every process, mount,
 * namespace and cgroup it made — also when the test failed. Tests never touch the machine's
 * own interfaces or firewall: everything network-related happens inside the world's netns.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendArgs } from './firewall.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUSYBOX_TAR = path.join(REPO, 'build', 'busybox-rootfs.tar');
// what bin/tsnet runs: the launcher (node from the CLI's start-up snapshot, or from its bundle)
export const CLI_ENTRY = path.join(REPO, 'dist', 'cli-bundle', 'tsnet');
const CLI = CLI_ENTRY;
const DAEMON = path.join(REPO, 'dist', 'daemon', 'main.js');

/** A clean environment for the node processes we spawn (no NODE_EXTRA_CA_CERTS: +40 ms each). */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: process.env.HOME ?? '/root',
    LANG: 'C.UTF-8',
    ...extra,
  };
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  ms: number;
}

export interface RunOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  env?: Record<string, string>;
}

/** A command still running: its output so far, and its result once it ends. */
export interface Started {
  stdout(): string;
  stderr(): string;
  /** Settles when the process has ended (never rejects on a non-zero exit). */
  done: Promise<RunResult>;
  kill(signal?: NodeJS.Signals): void;
}

/** Start a command (stdin as `opts.input`, or closed); it is killed at the timeout. */
export function start(cmd: string, args: string[], opts: RunOptions = {}): Started {
  const started = performance.now();
  const child = spawn(cmd, args, { env: opts.env ?? cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => err.push(d));
  const done = new Promise<RunResult>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        exitCode: code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1),
        ms: performance.now() - started,
      });
    });
  });
  child.stdin.on('error', () => undefined);
  if (opts.input !== undefined) child.stdin.end(opts.input);
  else child.stdin.end();
  return {
    stdout: () => Buffer.concat(out).toString('utf8'),
    stderr: () => Buffer.concat(err).toString('utf8'),
    done,
    kill: (signal = 'SIGKILL') => child.kill(signal),
  };
}

/** Run a command, never throwing on a non-zero exit; kills it at the timeout. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return start(cmd, args, opts).done;
}

export interface World {
  id: string;
  dir: string;
  root: string;
  execRoot: string;
  socket: string;
  hostNetns: string;
  cgroupParent: string;
  daemon: ChildProcess | undefined;
  /** Run the tsnet CLI against this world's daemon. */
  cli(args: string[], opts?: RunOptions): Promise<RunResult>;
  /** Start the tsnet CLI against this world's daemon and go on while it runs (`logs -f`, `events`). */
  startCli(args: string[], opts?: RunOptions): Started;
  /** Run the CLI and return its trimmed stdout; throws with the command and its stderr on failure. */
  ok(args: string[], opts?: RunOptions): Promise<string>;
  /** Run a command inside the world's host netns. */
  inHost(args: string[], opts?: RunOptions): Promise<RunResult>;
  /**
   * `env`: extra environment of this daemon (e.g. TSNET_FAILPOINTS). Resolves once it listens and
   * has logged that its restore is done (the kernel state of its containers is back; it answers
   * reads before that) — with `{ restored: false }` as soon as it listens.
   */
  startDaemon(extraArgs?: string[], env?: Record<string, string>, o?: { restored?: boolean }): Promise<void>;
  /** Kill the daemon (SIGKILL by default), leaving its containers running. */
  killDaemon(signal?: NodeJS.Signals): Promise<void>;
  daemonLog(): string;
  /**
   * A "client" namespace beside the world's host netns, joined by a veth: the host side gets
   * `hostIp`, the client `clientIp` (192.0.2.0/24, TEST-NET-1, only inside these namespaces).
   */
  addClient(): Promise<Client>;
  teardown(): Promise<void>;
}

export interface Client {
  netns: string;
  hostIp: string;
  clientIp: string;
  run(args: string[], opts?: RunOptions): Promise<RunResult>;
}

export interface WorldOptions {
  busybox?: boolean;
  daemonArgs?: string[];
  /**
   * The exec-root on a tmpfs of its own, as tsnetd's default /run/tsnet is on a systemd host
   * (the bench: bundles, netns files and sockets then cost what they cost a user; under the
   * world dir they are files on the disk's file system).
   */
  execRootTmpfs?: boolean;
}

/** Make a world; register `teardown` with `t.teardown` (or after.always) right away. */
export async function createWorld(opts: WorldOptions = {}): Promise<World> {
  const id = crypto.randomBytes(4).toString('hex');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tsnet-w${id}-`));
  const root = path.join(dir, 'root');
  const execRoot = path.join(dir, 'run');
  const hostNetns = path.join(dir, 'hostns');
  const socket = path.join(execRoot, 'tsnet.sock');
  const cgroupParent = `tsnet-test-${id}`;
  fs.mkdirSync(execRoot, { recursive: true });
  if (opts.execRootTmpfs) {
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'mode=0711,size=256m', `tsnet-w${id}`, execRoot]);
    if (m.status !== 0) throw new Error(`cannot mount a tmpfs on the test exec-root: ${m.stderr.toString()}`);
  }
  fs.writeFileSync(hostNetns, '');
  const made = spawnSync('unshare', [`--net=${hostNetns}`, 'true']);
  if (made.status !== 0) throw new Error(`cannot make the test host netns: ${made.stderr.toString()}`);
  spawnSync('nsenter', [`--net=${hostNetns}`, 'ip', 'link', 'set', 'lo', 'up']);

  let clients = 0;
  const world: World = {
    id,
    dir,
    root,
    execRoot,
    socket,
    hostNetns,
    cgroupParent,
    daemon: undefined,
    cli: (args, o = {}) => world.startCli(args, o).done,
    startCli: (args, o = {}) => start(CLI, ['-H', `unix://${socket}`, ...args], { ...o, env: cleanEnv(o.env) }),
    async ok(args, o = {}) {
      const r = await world.cli(args, o);
      if (r.exitCode !== 0)
        throw new Error(
          `tsnet ${args.join(' ')} failed (${r.exitCode}): ${r.stderr}${r.stdout}\n--- daemon log (tail) ---\n${world.daemonLog().split('\n').slice(-30).join('\n')}`,
        );
      return r.stdout.trim();
    },
    inHost: (args, o = {}) => run('nsenter', [`--net=${hostNetns}`, ...args], o),
    async startDaemon(extraArgs = [], env = {}, o = {}) {
      const logFrom = world.daemonLog().length;
      const log = fs.openSync(path.join(dir, 'daemon.log'), 'a');
      const child = spawn(
        'nsenter',
        [
          `--net=${hostNetns}`,
          ...(process.env.TSNET_DAEMON_WRAP ?? '').split(' ').filter(Boolean),
          'node',
          '--enable-source-maps',
          DAEMON,
          '--root',
          root,
          '--exec-root',
          execRoot,
          '--cgroup-parent',
          cgroupParent,
          '--log-level',
          'debug',
          // TSNET_TEST_FIREWALL=nftables|iptables: the firewall backend under test
          ...backendArgs(),
          ...(opts.daemonArgs ?? []),
          ...extraArgs,
        ],
        { env: cleanEnv(env), stdio: ['ignore', log, log] },
      );
      fs.closeSync(log);
      world.daemon = child;
      child.once('exit', (code, signal) => {
        if (world.daemon === child) {
          // An unexpected death: show why (the world dir is removed at teardown).
          process.stderr.write(
            `\n[world ${id}] tsnetd exited (${code ?? signal}); last log lines:\n${world.daemonLog().split('\n').slice(-40).join('\n')}\n`,
          );
        }
      });
      await untilListening(
        child,
        socket,
        () => world.daemonLog(),
        () => world.daemonLog().slice(logFrom),
      );
      if (o.restored !== false) await untilRestored(child, () => world.daemonLog().slice(logFrom));
    },
    async killDaemon(signal = 'SIGKILL') {
      const child = world.daemon;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      world.daemon = undefined;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      // a killed process goes once its threads leave the kernel (an uninterruptible wait may
      // take a while on a loaded machine); until then it still holds its listening socket
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 30_000)))]);
      clearTimeout(timer); // (a pending timer would keep the test process alive for 30 s)
      world.daemon = undefined;
      if (child.exitCode === null && child.signalCode === null) {
        const pid = child.pid ?? 0;
        const state = readOr(`/proc/${pid}/stat`, '?').split(') ')[1]?.split(' ')[0] ?? '?';
        throw new Error(
          `tsnetd (pid ${pid}) did not exit within 30 s of ${signal} (state ${state}, wchan ${readOr(`/proc/${pid}/wchan`, '?')})`,
        );
      }
    },
    daemonLog: () => {
      try {
        return fs.readFileSync(path.join(dir, 'daemon.log'), 'utf8');
      } catch {
        return '';
      }
    },
    async addClient() {
      const n = clients++;
      const netnsFile = path.join(dir, `client${n}`);
      fs.writeFileSync(netnsFile, '');
      const made = spawnSync('unshare', [`--net=${netnsFile}`, 'true']);
      if (made.status !== 0) throw new Error(`cannot make the client netns: ${made.stderr.toString()}`);
      const hostIp = `192.0.2.${1 + n * 4}`;
      const clientIp = `192.0.2.${2 + n * 4}`;
      const host = `wcl${id}${n}`.slice(0, 15); // not a tsnet name: the sweep must leave it alone
      const steps: string[][] = [
        ['nsenter', `--net=${hostNetns}`, 'ip', 'link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netnsFile],
        ['nsenter', `--net=${hostNetns}`, 'ip', 'addr', 'add', `${hostIp}/30`, 'dev', host],
        ['nsenter', `--net=${hostNetns}`, 'ip', 'link', 'set', host, 'up'],
        ['nsenter', `--net=${netnsFile}`, 'ip', 'addr', 'add', `${clientIp}/30`, 'dev', 'eth0'],
        ['nsenter', `--net=${netnsFile}`, 'ip', 'link', 'set', 'eth0', 'up'],
        ['nsenter', `--net=${netnsFile}`, 'ip', 'link', 'set', 'lo', 'up'],
        ['nsenter', `--net=${netnsFile}`, 'ip', 'route', 'add', 'default', 'via', hostIp],
      ];
      for (const [cmd, ...args] of steps) {
        const r = spawnSync(cmd!, args);
        if (r.status !== 0) throw new Error(`client setup ${args.join(' ')}: ${r.stderr.toString()}`);
      }
      return { netns: netnsFile, hostIp, clientIp, run: (args, o = {}) => run('nsenter', [`--net=${netnsFile}`, ...args], o) };
    },
    teardown: () => teardownWorld(world),
  };
  try {
    await world.startDaemon();
    if (opts.busybox !== false) {
      const r = await world.cli(['image', 'import', BUSYBOX_TAR, '--tag', 'busybox:latest']);
      if (r.exitCode !== 0) throw new Error(`busybox import failed: ${r.stderr}`);
    }
  } catch (err) {
    await world.teardown();
    throw err;
  }
  return world;
}

async function teardownWorld(w: World): Promise<void> {
  if (process.env.TSNET_TEST_LOGS) {
    fs.mkdirSync(process.env.TSNET_TEST_LOGS, { recursive: true });
    fs.writeFileSync(path.join(process.env.TSNET_TEST_LOGS, `daemon-${w.id}.log`), w.daemonLog());
  }
  await w.killDaemon('SIGKILL');
  // Every process of ours mentions the world dir on its command line (tsnet-init <bundle>);
  // container processes die with their PID 1, which dies with its supervisor's SIGKILL.
  for (let round = 0; round < 3; round++) {
    const pids = processesMentioning(w.dir);
    for (const dir of [path.join(w.execRoot, 'c'), path.join(w.execRoot, 'x')]) {
      for (const b of safeReaddir(dir)) {
        for (const f of ['pid', 'supervisor.pid']) {
          const pid = Number(readOr(path.join(dir, b, f), '0'));
          if (pid > 1) pids.add(pid);
        }
      }
    }
    // and whatever is left in the world's cgroups (a container process whose supervisor is gone)
    for (const pid of cgroupProcs(w.cgroupParent)) pids.add(pid);
    if (pids.size === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await sleep(100);
  }
  // Mounts under the world dir, deepest first.
  for (let round = 0; round < 3; round++) {
    const mounts = fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((m) => m.startsWith(w.dir))
      .sort((a, b) => b.length - a.length);
    if (mounts.length === 0) break;
    for (const m of mounts) spawnSync('umount', ['-l', m]);
  }
  // cgroups of this world (v1: one dir per controller; v2: one tree).
  for (const base of cgroupBases()) {
    const parent = path.join(base, w.cgroupParent);
    for (const child of safeReaddir(parent)) {
      const p = path.join(parent, child);
      if (fs.statSync(p, { throwIfNoEntry: false })?.isDirectory()) rmdirRetry(p);
    }
    rmdirRetry(parent);
  }
  fs.rmSync(w.dir, { recursive: true, force: true });
}

/** Every pid in the cgroup tree `parent` of each hierarchy. */
function cgroupProcs(parent: string): Set<number> {
  const out = new Set<number>();
  const walk = (dir: string): void => {
    for (const pid of readOr(path.join(dir, 'cgroup.procs'), '').split('\n')) if (Number(pid) > 1) out.add(Number(pid));
    for (const e of safeReaddir(dir)) {
      const p = path.join(dir, e);
      if (fs.statSync(p, { throwIfNoEntry: false })?.isDirectory()) walk(p);
    }
  };
  for (const base of cgroupBases()) {
    const dir = path.join(base, parent);
    if (fs.existsSync(dir)) walk(dir);
  }
  return out;
}

function cgroupBases(): string[] {
  const root = '/sys/fs/cgroup';
  if (fs.existsSync(path.join(root, 'cgroup.controllers'))) return [root];
  return safeReaddir(root).map((c) => path.join(root, c));
}

function rmdirRetry(dir: string): void {
  for (let i = 0; i < 20; i++) {
    try {
      fs.rmdirSync(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      spawnSync('sleep', ['0.05']);
    }
  }
}

function processesMentioning(dir: string): Set<number> {
  const out = new Set<number>();
  for (const p of safeReaddir('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    const cmd = readOr(`/proc/${p}/cmdline`, '');
    if (cmd.includes(dir)) out.add(Number(p));
  }
  return out;
}

/**
 * The bounds of a daemon's start. Starting costs tsnetd about 1.5 s of CPU, nearly all of it
 * loading modules; on a loaded box it gets a sliver of a core and the wall time grows with the
 * load (34 s at load 40 on this 2-core machine, over 60 s at load 60+). So a stuck daemon is told
 * from a starved one by the CPU it has used; the wall-clock bound, far above any start seen under
 * load, catches a daemon that waits on something forever.
 */
const START_CPU_S = 20;
const START_WALL_MS = 300_000;

/** Wait until the daemon accepts on its socket; throws one line (then the log) when it died or is stuck. */
/**
 * Wait until this start's daemon listens: it has logged its "listening on" line (since `fresh`)
 * and the socket takes a connection. The connection alone is not enough: a daemon killed a
 * moment before whose process has not yet gone (a thread in an uninterruptible syscall) still
 * holds its listening socket, and a connection lands in that socket's backlog.
 */
async function untilListening(child: ChildProcess, socket: string, log: () => string, fresh: () => string): Promise<void> {
  const started = Date.now();
  for (let round = 0; ; round++) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`tsnetd exited with ${child.exitCode ?? child.signalCode} before listening on ${socket}:\n${log()}`);
    if (/ listening on unix:\/\//.test(fresh()) && (await canConnect(socket))) return;
    const waited = Date.now() - started;
    // the daemon's own CPU (nsenter execs node; with TSNET_DAEMON_WRAP, the wrapper's), every ~1 s
    const cpu = round % 40 === 0 || waited > START_WALL_MS ? cpuSeconds(child.pid) : 0;
    if (cpu > START_CPU_S || waited > START_WALL_MS) {
      const load = readOr('/proc/loadavg', '?').split(' ')[0];
      throw new Error(
        `tsnetd did not listen on ${socket} within ${Math.round(waited / 1000)} s; it used ${cpu.toFixed(1)} s of CPU ` +
          `(a start needs about 1.5 s; load average ${load}): ${cpu > START_CPU_S ? 'busy without listening' : 'waiting on something'}; its log:\n${log()}`,
      );
    }
    await sleep(25);
  }
}

/**
 * Wait until the daemon logs "restore done" (src/daemon/main.ts); a daemon that does not log
 * "restore starts" (another build) restored before it listened. Throws when it dies first.
 */
async function untilRestored(child: ChildProcess, log: () => string): Promise<void> {
  if (!/restore starts/.test(log())) return;
  const started = Date.now();
  while (!/restore done in/.test(log())) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`tsnetd exited with ${child.exitCode ?? child.signalCode} before its restore was done:\n${log()}`);
    if (Date.now() - started > START_WALL_MS)
      throw new Error(`tsnetd's restore was not done within ${START_WALL_MS / 1000} s:\n${log()}`);
    await sleep(10);
  }
}

/** User + system CPU seconds of a live process and its waited-for children (0 when unknown). */
function cpuSeconds(pid: number | undefined): number {
  const stat = readOr(`/proc/${pid}/stat`, '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // after "pid (comm) ", index 0 is field 3 (state): utime, stime, cutime, cstime are fields 14–17
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0);
  return Number.isFinite(ticks) ? ticks / CLOCK_TICKS : 0;
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;

function canConnect(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(socket);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return fallback;
  }
}

/** Poll `fn` until it returns a truthy value or the time is up. */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 10_000, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await fn();
  while (!last && Date.now() < deadline) {
    await sleep(stepMs);
    last = await fn();
  }
  return last;
}
