/**
 * Starting programs (a supervisor, a firewall command) with posix_spawnp(3) through koffi (a
 * bare name is looked up in the daemon's own PATH) instead of Node's child_process. glibc's posix_spawn is clone(CLONE_VM|CLONE_VFORK) + execve: its cost
 * does not grow with the daemon's memory, where libuv's fork() copies the page tables of the
 * whole daemon first (measured on this box with a 144 MB process: spawn() 13 ms, posix_spawn
 * 0.9 ms, loaded; the daemon's own RSS is ~90–125 MB and grows with its containers).
 *
 * The child gets what Node would give it: stdin and stdout pipes, stderr on a file, its own
 * session (POSIX_SPAWN_SETSID), every signal at its default disposition and an empty signal
 * mask (Node ignores SIGPIPE; a child must not inherit that). The daemon's own fds are all
 * close-on-exec.
 *
 * Node does not reap a child it did not spawn: the spawner keeps the pids it started and reaps
 * each with waitpid(pid, WNOHANG) on SIGCHLD (never waitpid(-1): that would take libuv's
 * children from it). A program's 'close' event comes once it is reaped and its stdout ended.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import koffi from 'koffi';
import { errnoName } from './errno.js';
import { callOnPool } from './koffi-async.js';
import { DEFAULT_PATH, type DetachedProgram, killAfter } from './process.js';

const O_CLOEXEC = 0o2000000;
const WNOHANG = 1;
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;
// glibc x86_64/aarch64 sizes (generous: the buffers only need to be at least as large)
const FILE_ACTIONS_SIZE = 128;
const ATTR_SIZE = 512;
const SIGSET_SIZE = 128;
/** posix_spawn calls on libuv's pool at once (spawnDetachedAsync). */
const SPAWNS_AT_ONCE = 2;

type Fn = (...args: unknown[]) => number;

/** The end of a program run by `Spawner.run`. */
export interface ProgramResult {
  /** undefined when it could not start or was killed by a signal. */
  exitCode: number | undefined;
  signal: NodeJS.Signals | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Why it could not start (ENOENT: not installed). */
  startError?: string;
}

export interface Spawner {
  spawnDetached(
    cmd: string,
    args: readonly string[],
    opts: { stderrFile: string; env?: Record<string, string> },
  ): DetachedProgram;
  /**
   * spawnDetached with the posix_spawn on a thread of libuv's pool (koffi's async call): a
   * vfork-style spawn suspends the calling thread until the program has exec'd (~0.6 ms quiet,
   * 2–4 ms on a loaded machine for tsnet-init), which on the daemon's thread held up everything
   * else — a create's netlink work beside its prelaunch (decision 47). Resolves once it runs.
   */
  spawnDetachedAsync(
    cmd: string,
    args: readonly string[],
    opts: { stderrFile: string; env?: Record<string, string> },
  ): Promise<DetachedProgram>;
  /** Run a program to its end, `input` on its stdin, output collected (firewall commands). Never rejects. */
  run(
    cmd: string,
    args: readonly string[],
    opts?: { input?: string; env?: Record<string, string>; timeoutMs?: number },
  ): Promise<ProgramResult>;
}

class Program extends EventEmitter {
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  stdin: net.Socket | null;
  stdout: net.Socket | null;
  private reaped = false;
  private ended = false;

  get isReaped(): boolean {
    return this.reaped;
  }
  private closed = false;

  constructor(
    readonly pid: number,
    stdinFd: number,
    stdoutFd: number,
  ) {
    super();
    this.stdin = new net.Socket({ fd: stdinFd, readable: false, writable: true });
    this.stdout = new net.Socket({ fd: stdoutFd, readable: true, writable: false });
    // an EPIPE on a stdin the program no longer reads is not the daemon's crash
    this.stdin.on('error', () => undefined);
    this.stdout.on('error', () => undefined);
    this.stdout.once('close', () => {
      this.ended = true;
      this.maybeClose();
    });
  }

  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    if (this.reaped) return false;
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  unref(): void {
    this.stdin?.unref();
    this.stdout?.unref();
  }

  /** Called by the spawner's reaper with the waitpid status. */
  exited(status: number): void {
    this.reaped = true;
    const sig = status & 0x7f;
    if (sig === 0) this.exitCode = (status >> 8) & 0xff;
    else this.signalCode = (Object.entries(os.constants.signals).find(([, n]) => n === sig)?.[0] as NodeJS.Signals) ?? null;
    // stdout was destroyed by its reader (after the handshake): it will not end by itself
    if (this.stdout?.destroyed) this.ended = true;
    this.maybeClose();
  }

  private maybeClose(): void {
    if (this.closed || !this.reaped || !this.ended) return;
    this.closed = true;
    this.emit('close', this.exitCode, this.signalCode);
  }
}

export function createSpawner(): Spawner {
  const lib = koffi.load('libc.so.6');
  const f = (proto: string) => lib.func(proto) as Fn;
  const posixSpawn = f(
    'int posix_spawnp(void *pid, const char *file, void *fa, void *attr, const char **argv, const char **envp)',
  );
  const faInit = f('int posix_spawn_file_actions_init(void *fa)');
  const faDestroy = f('int posix_spawn_file_actions_destroy(void *fa)');
  const faDup2 = f('int posix_spawn_file_actions_adddup2(void *fa, int fd, int newfd)');
  const attrInit = f('int posix_spawnattr_init(void *attr)');
  const attrDestroy = f('int posix_spawnattr_destroy(void *attr)');
  const attrFlags = f('int posix_spawnattr_setflags(void *attr, short flags)');
  const attrMask = f('int posix_spawnattr_setsigmask(void *attr, const void *set)');
  const attrDefault = f('int posix_spawnattr_setsigdefault(void *attr, const void *set)');
  const sigEmpty = f('int sigemptyset(void *set)');
  const sigFill = f('int sigfillset(void *set)');
  const pipe2 = f('int pipe2(void *fds, int flags)');
  const waitpid = f('int waitpid(int pid, void *status, int options)');

  const children = new Map<number, Program>();
  const status = Buffer.alloc(4);
  const reapOne = (p: Program): void => {
    if (waitpid(p.pid, status, WNOHANG) === p.pid) {
      children.delete(p.pid);
      p.exited(status.readInt32LE(0));
    }
  };
  const reap = (): void => {
    for (const p of children.values()) reapOne(p);
  };
  let listening = false;

  const pipe = (): [number, number] => {
    const fds = Buffer.alloc(8);
    if (pipe2(fds, O_CLOEXEC) !== 0) throw new Error(`pipe2: ${errnoName(koffi.errno() as number)}`);
    return [fds.readInt32LE(0), fds.readInt32LE(4)];
  };

  /**
   * posix_spawn with stdin/stdout pipes and stderr on `errFd` (kept open by the caller until the
   * spawn is done); the child's pipe ends are closed here. `call`: the posix_spawnp call itself,
   * made synchronously or on another thread; it gets the prepared arguments.
   */
  const start = <R>(
    cmd: string,
    args: readonly string[],
    env: Record<string, string> | undefined,
    errFd: number,
    setsid: boolean,
    call: (argv: unknown[], done: (rc: number, late?: boolean) => Program | { error: string }) => R,
  ): R => {
    if (!listening) {
      process.on('SIGCHLD', reap);
      listening = true;
    }
    const [inR, inW] = pipe();
    const [outR, outW] = pipe();
    const fa = Buffer.alloc(FILE_ACTIONS_SIZE);
    const attr = Buffer.alloc(ATTR_SIZE);
    const sigs = Buffer.alloc(SIGSET_SIZE);
    faInit(fa);
    attrInit(attr);
    const release = (): void => {
      faDestroy(fa);
      attrDestroy(attr);
      for (const fd of [inR, outW]) fs.closeSync(fd);
    };
    const pidBuf = Buffer.alloc(4);
    const done = (rc: number, late = false): Program | { error: string } => {
      release();
      if (rc !== 0) {
        for (const fd of [inW, outR]) fs.closeSync(fd);
        return { error: errnoName(rc) };
      }
      const p = new Program(pidBuf.readInt32LE(0), inW, outR);
      children.set(p.pid, p);
      // an asynchronous spawn registers the child after it ran: it may be gone already, and its
      // SIGCHLD came before it was known
      if (late) reapOne(p);
      return p;
    };
    try {
      faDup2(fa, inR, 0);
      faDup2(fa, outW, 1);
      faDup2(fa, errFd, 2);
      attrFlags(attr, (setsid ? POSIX_SPAWN_SETSID : 0) | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
      sigEmpty(sigs);
      attrMask(attr, sigs);
      sigFill(sigs);
      attrDefault(attr, sigs);
    } catch (err) {
      release();
      for (const fd of [inW, outR]) fs.closeSync(fd);
      throw err;
    }
    const envp = Object.entries(env ?? { PATH: DEFAULT_PATH }).map(([k, v]) => `${k}=${v}`);
    return call([pidBuf, cmd, fa, attr, [cmd, ...args, null], [...envp, null]], done);
  };
  const syncCall = (argv: unknown[], done: (rc: number) => Program | { error: string }) => done(posixSpawn(...argv));

  // koffi runs a bounded number of asynchronous calls at once (and throws beyond it): spawns
  // wait in a queue, a few on the pool's threads at a time
  const queued: Array<() => void> = [];
  let spawning = 0;
  const nextSpawn = (): void => {
    while (spawning < SPAWNS_AT_ONCE && queued.length > 0) {
      spawning++;
      queued.shift()!();
    }
  };
  const asyncCall = (argv: unknown[], done: (rc: number, late?: boolean) => Program | { error: string }) =>
    new Promise<Program | { error: string }>((resolve) => {
      queued.push(() => {
        const call = callOnPool(posixSpawn, argv);
        if (!call) {
          // koffi refused the call (too many asynchronous calls at once): made here instead
          spawning--;
          resolve(syncCall(argv, done));
          return;
        }
        void call
          .catch(() => 12 /* ENOMEM: the call did not run */)
          .then((rc) => {
            spawning--;
            nextSpawn();
            resolve(done(rc, true));
          });
      });
      nextSpawn();
    });

  /** The program, or a stand-in that reports the start error (as Node's spawn does). */
  const detached = (cmd: string, p: Program | { error: string }): DetachedProgram => {
    if (p instanceof Program) return p;
    const code = p.error;
    const err = Object.assign(new Error(`spawn ${cmd} ${code}`), { code, syscall: 'posix_spawn', path: cmd });
    const failed = new EventEmitter() as EventEmitter & DetachedProgram;
    Object.assign(failed, {
      pid: undefined,
      exitCode: null,
      stdin: null,
      stdout: null,
      kill: () => false,
      unref: () => undefined,
    });
    process.nextTick(() => failed.emit('error', err));
    return failed;
  };

  return {
    spawnDetached(cmd, args, opts) {
      const errFd = fs.openSync(opts.stderrFile, 'w', 0o600);
      try {
        return detached(cmd, start(cmd, args, opts.env, errFd, true, syncCall));
      } finally {
        fs.closeSync(errFd);
      }
    },

    async spawnDetachedAsync(cmd, args, opts) {
      const errFd = fs.openSync(opts.stderrFile, 'w', 0o600);
      try {
        return detached(cmd, await start(cmd, args, opts.env, errFd, true, asyncCall));
      } finally {
        fs.closeSync(errFd);
      }
    },

    run(cmd, args, opts = {}) {
      const [errR, errW] = pipe();
      let p: Program | { error: string };
      try {
        p = start(cmd, args, opts.env, errW, false, syncCall);
      } finally {
        fs.closeSync(errW);
      }
      if (!(p instanceof Program)) {
        fs.closeSync(errR);
        const none = { exitCode: undefined, signal: undefined, stdout: '', stderr: '', timedOut: false };
        return Promise.resolve({ ...none, startError: p.error });
      }
      const prog = p;
      const stderr = new net.Socket({ fd: errR, readable: true, writable: false });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      prog.stdout?.on('data', (d: Buffer) => out.push(d));
      stderr.on('data', (d: Buffer) => err.push(d));
      stderr.on('error', () => undefined);
      prog.stdin?.end(opts.input ?? '');
      const deadline = killAfter(opts.timeoutMs, () => prog.kill('SIGKILL'));
      const errClosed = new Promise<void>((r) => stderr.once('close', () => r()));
      const outClosed = new Promise<void>((r) => (prog.stdout ? prog.stdout.once('close', () => r()) : r()));
      const ended = new Promise<void>((r) => prog.once('close', () => r()));
      // once both outputs closed the program is about to be reaped: do not rely on SIGCHLD
      // alone (its watcher does not keep the event loop alive)
      const reapSoon = (): void => {
        reap();
        if (!prog.isReaped) setTimeout(reapSoon, 2);
      };
      void Promise.all([outClosed, errClosed]).then(reapSoon);
      return Promise.all([ended, errClosed]).then(() => {
        deadline.clear();
        return {
          exitCode: prog.exitCode ?? undefined,
          signal: prog.signalCode ?? undefined,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          timedOut: deadline.timedOut,
        };
      });
    },
  };
}
