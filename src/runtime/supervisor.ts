/**
 * The daemon's side of tsnet-init (docs/tsnet-init.md): spawn it, drive the ready/go/started
 * handshake, and talk to its attach socket (attach, wait, signal, resize).
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { TsnetError, type ErrorCode } from '../errors/index.js';
import { type DetachedProgram, spawnDetached } from '../kernel/process.js';
import { timingLine } from '../errors/rollback.js';

export interface Launched {
  supervisorPid: number;
  pid: number;
}

export interface LaunchOptions {
  initPath: string;
  mode: 'run' | 'exec';
  bundleDir: string;
  /**
   * How tsnet-init is started (default: Node's spawn; the daemon passes ../kernel/spawn.ts's
   * posix_spawn, made on a pool thread: then it resolves once the program runs).
   */
  spawn?: (cmd: string, args: readonly string[], opts: { stderrFile: string }) => DetachedProgram | Promise<DetachedProgram>;
  /** Runs between `ready` and `go`: connect attach clients here. */
  beforeGo?: (pid: number) => Promise<void>;
  timeoutMs?: number;
}

const START_ERRORS: Record<string, ErrorCode> = {
  '127': 'TSNET_COMMAND_NOT_FOUND',
  '126': 'TSNET_COMMAND_NOT_EXECUTABLE',
};

export function attachSocketPath(bundleDir: string): string {
  return path.join(bundleDir, 'attach.sock');
}

/**
 * A tsnet-init spawned and setting up (up to `ready`): `start` says `go` once ready (after
 * `beforeGo`) and resolves at `started`; `abort` ends it before that (its child goes with it).
 */
export interface PendingInit {
  /** The supervisor's pid. */
  readonly supervisorPid: number;
  /** Resolves with the container's pid at `ready`; rejects when tsnet-init fails or ends first. */
  readonly ready: Promise<number>;
  /** `afterGo`: runs once `go` is written, while the container's process execs. */
  start(beforeGo?: (pid: number) => Promise<void>, afterGo?: (pid: number) => void): Promise<Launched>;
  /** Kill it (supervisor and child) and wait for its end. Idempotent; a no-op once started. */
  abort(): Promise<void>;
}

/** Spawn tsnet-init and follow its setup; nothing waits for `ready` until `start` is called. */
export async function spawnInit(opts: Omit<LaunchOptions, 'beforeGo'>): Promise<PendingInit> {
  const tL = performance.now();
  const child = await (opts.spawn ?? spawnDetached)(opts.initPath, [opts.mode, opts.bundleDir], {
    stderrFile: path.join(opts.bundleDir, 'init.err'),
  });
  timingLine('launch: tsnet-init spawned', tL);
  let buffered = '';
  let done = false;
  let started: { resolve: (l: Launched) => void; reject: (e: Error) => void } | undefined;
  let readyResolve: (pid: number) => void = () => undefined;
  let readyReject: (e: Error) => void = () => undefined;
  const ready = new Promise<number>((resolve, reject) => {
    readyResolve = resolve;
    readyReject = reject;
  });
  ready.catch(() => undefined); // reported through start(), or dropped by abort()
  let pid = 0;
  let markClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });
  const timer = setTimeout(
    () => fail(new TsnetError('TSNET_START_FAILED', `tsnet-init did not answer within ${opts.timeoutMs ?? 30000} ms`)),
    opts.timeoutMs ?? 30000,
  );
  timer.unref();
  const finish = () => {
    done = true;
    clearTimeout(timer);
    child.stdout?.removeAllListeners();
    child.stdout?.destroy();
    child.stdin?.destroy();
    child.unref();
  };
  const fail = (err: Error) => {
    if (done) return;
    finish();
    if (child.exitCode === null) child.kill('SIGKILL');
    readyReject(err);
    started?.reject(err);
  };
  const onLine = (line: string) => {
    const [word, ...rest] = line.split(' ');
    if (word === 'ready') {
      timingLine('launch: ready (cumulative)', tL);
      pid = Number(rest[0]);
      readyResolve(pid);
    } else if (word === 'error') {
      const code = rest[0] ?? '125';
      fail(
        new TsnetError(START_ERRORS[code] ?? 'TSNET_START_FAILED', rest.slice(1).join(' ') || 'tsnet-init failed', {
          details: { exitCode: Number(code) },
        }),
      );
    }
  };
  // `started`: after `go` the pipe's only writer is the container's process, close-on-exec: its
  // end is the execve (an exec error comes as a line first). Before `go` an end is a failure
  // ('close' below says which).
  let goWritten = false;
  child.stdout?.on('end', () => {
    if (!goWritten || done) return;
    timingLine('launch: started (cumulative)', tL);
    finish();
    started?.resolve({ supervisorPid: child.pid ?? 0, pid });
  });
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (d: string) => {
    buffered += d;
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      onLine(line);
    }
  });
  child.on('error', (err) =>
    fail(new TsnetError('TSNET_START_FAILED', `cannot run ${opts.initPath}: ${err.message}`, { cause: err })),
  );
  // 'close', not 'exit': the stdout line `started` must be read before we judge the exit.
  child.on('close', (code) => {
    markClosed();
    if (done) return;
    let why = '';
    try {
      why = fs.readFileSync(path.join(opts.bundleDir, 'init.err'), 'utf8').trim().split('\n').pop() ?? '';
    } catch {
      /* nothing logged */
    }
    fail(
      new TsnetError(
        'TSNET_START_FAILED',
        `tsnet-init exited with ${code} before starting the container${why ? `: ${why}` : ''}`,
      ),
    );
  });
  return {
    supervisorPid: child.pid ?? 0,
    ready,
    start(beforeGo, afterGo) {
      const launched = new Promise<Launched>((resolve, reject) => {
        started = { resolve, reject };
      });
      const tS = performance.now();
      ready.then(
        async (p) => {
          // TSNET_TIMING: how long the start waited for tsnet-init's setup (~0 when it was ready)
          timingLine('launch: start waited for ready', tS);
          try {
            await beforeGo?.(p);
            if (done) return;
            goWritten = true;
            child.stdin?.write('go\n');
            timingLine('launch: go written', tS);
            afterGo?.(p);
          } catch (err) {
            fail(err as Error);
          }
        },
        (err: Error) => started?.reject(err),
      );
      return launched;
    },
    async abort() {
      if (started) return;
      // the child's pid comes with `ready` (a setup under way is let finish: a few ms)
      const childPid = await Promise.race([ready.catch(() => 0), new Promise<number>((r) => setTimeout(() => r(0), 2000))]);
      fail(new TsnetError('TSNET_START_FAILED', 'the start was given up'));
      if (childPid > 1) {
        try {
          process.kill(childPid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      if (child.pid) await closed;
      for (let i = 0; i < 100 && processAlive(childPid); i++) await new Promise((r) => setTimeout(r, 10));
    },
  };
}

export async function launch(opts: LaunchOptions): Promise<Launched> {
  return (await spawnInit(opts)).start(opts.beforeGo);
}

/** Open the attach socket and send one command line; resolves with the connected socket. */
export function connectSupervisor(bundleDir: string, line: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(attachSocketPath(bundleDir));
    sock.once('connect', () => {
      sock.removeListener('error', reject);
      // A supervisor that exits now fails this write with EPIPE, reported on the next tick, before
      // the caller's own listeners are on: the caller sees the socket close instead.
      sock.on('error', () => undefined);
      sock.write(`${line}\n`);
      resolve(sock);
    });
    sock.once('error', reject);
  });
}

/** Send a one-shot command (`signal 15`, `resize 24 80`) and read the one-line answer. */
export async function supervisorCommand(bundleDir: string, line: string): Promise<string> {
  const sock = await connectSupervisor(bundleDir, line);
  return new Promise((resolve, reject) => {
    let out = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (out += d));
    sock.on('end', () => resolve(out.trim()));
    sock.on('close', () => resolve(out.trim()));
    sock.on('error', reject);
  });
}

/** Resolves when the supervised process exits: its code if told, undefined if the socket just closed. */
export async function waitForExit(bundleDir: string): Promise<number | undefined> {
  let sock: net.Socket;
  try {
    sock = await connectSupervisor(bundleDir, 'wait');
  } catch {
    return undefined;
  }
  return new Promise((resolve) => {
    let out = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      out += d;
      const m = /exit (-?\d+)/.exec(out);
      if (m) {
        sock.destroy();
        resolve(Number(m[1]));
      }
    });
    sock.on('close', () => resolve(undefined));
    sock.on('error', () => resolve(undefined));
  });
}

export function processAlive(pid: number): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Is `pid` a tsnet-init supervising `bundleDir`? Guards against pid reuse after a reboot. */
export function isSupervisorOf(pid: number, bundleDir: string): boolean {
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return (cmdline[0] ?? '').endsWith('tsnet-init') && cmdline.includes(bundleDir);
  } catch {
    return false;
  }
}

/** The parent pid of `pid` (0 when it is gone). */
export function parentOf(pid: number): number {
  try {
    const m = /^PPid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * SIGKILL the tsnet-init supervising `bundleDir` (checked by /proc: pid reuse) and its child
 * `child` when that is still its child; returns the pids signalled.
 */
export function killSupervisor(sup: number, bundleDir: string, child: number): number[] {
  if (!(sup > 1 && isSupervisorOf(sup, bundleDir))) return [];
  const victims = [sup, ...(child > 1 && parentOf(child) === sup ? [child] : [])];
  return victims.filter((pid) => {
    try {
      process.kill(pid, 'SIGKILL');
      return true;
    } catch {
      return false; // already gone
    }
  });
}

/**
 * killSupervisor for the tsnet-init of `bundleDir` as the bundle's pid files name it
 * (`supervisor.pid`, `pid`; a file missing or unreadable: nothing of it is signalled).
 */
export function killBundleSupervisor(bundleDir: string): number[] {
  const pidIn = (name: string): number => {
    try {
      return Number(fs.readFileSync(path.join(bundleDir, name), 'utf8').trim()) || 0;
    } catch {
      return 0;
    }
  };
  return killSupervisor(pidIn('supervisor.pid'), bundleDir, pidIn('pid'));
}

/** Wait until none of `pids` is alive (polled every 20 ms), `ms` at most. */
export async function waitGone(pids: number[], ms = 5000): Promise<void> {
  for (let i = 0; i < ms / 20 && pids.some(processAlive); i++) await new Promise((r) => setTimeout(r, 20));
}
