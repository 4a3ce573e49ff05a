/**
 * Starting host programs: the only place outside the firewall backends that spawns a process.
 * Plain values in (a command, its arguments, optional input), plain values out (exit code,
 * output); nothing here knows what the program is for.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TsnetError } from '../errors/index.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface RunOptions {
  /** Bytes for stdin: a whole string/Buffer or a stream of chunks; none means /dev/null. */
  input?: string | Buffer | AsyncIterable<Buffer | string | Uint8Array>;
  /** Environment (default: PATH only, the daemon's own). */
  env?: Record<string, string>;
  /** Kill the program (SIGKILL) after this long. */
  timeoutMs?: number;
  /** Keep at most this many bytes of stdout (default 16 MiB). */
  maxBuffer?: number;
  /** Discard stdout instead of collecting it. */
  ignoreStdout?: boolean;
}

export interface RunResult {
  /** The exit code; undefined when the program could not start or was killed by a signal. */
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
  /** Why the program could not be started (ENOENT: not installed). */
  startError?: NodeJS.ErrnoException;
  /** Reading `input` failed, or the program stopped reading it (EPIPE). */
  inputError?: unknown;
  timedOut: boolean;
}

/** `kill` after `ms` (none: never); `timedOut` says whether it came to that. */
export function killAfter(ms: number | undefined, kill: () => void): { readonly timedOut: boolean; clear(): void } {
  let fired = false;
  const timer =
    ms === undefined
      ? undefined
      : setTimeout(() => {
          fired = true;
          kill();
        }, ms);
  return {
    get timedOut() {
      return fired;
    },
    clear: () => clearTimeout(timer),
  };
}

/** Run a program to its end. Never rejects: every failure is in the result. */
export function runProgram(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const max = opts.maxBuffer ?? 16 << 20;
  const child = spawn(cmd, args, {
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', opts.ignoreStdout ? 'ignore' : 'pipe', 'pipe'],
    env: opts.env ?? { PATH: process.env.PATH ?? DEFAULT_PATH },
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let outLen = 0;
  let errLen = 0;
  child.stdout?.on('data', (d: Buffer) => {
    if (outLen < max) out.push(d);
    outLen += d.length;
  });
  child.stderr?.on('data', (d: Buffer) => {
    if (errLen < max) err.push(d);
    errLen += d.length;
  });
  let inputError: unknown;
  let feed: Promise<void> = Promise.resolve();
  const stdin = child.stdin;
  if (stdin && opts.input !== undefined) {
    const input = opts.input;
    if (typeof input === 'string' || Buffer.isBuffer(input)) {
      // an EPIPE on a stdin nobody reads must not become an uncaught exception
      stdin.on('error', (e) => (inputError ??= e));
      stdin.end(input);
    } else {
      feed = pipeline(Readable.from(input, { objectMode: false }), stdin).catch((e: unknown) => {
        inputError ??= e;
      });
    }
  }
  const deadline = killAfter(opts.timeoutMs, () => child.kill('SIGKILL'));
  return new Promise<RunResult>((resolve) => {
    let settled = false;
    const settle = (exitCode: number | undefined, signal: string | undefined, startError?: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      deadline.clear();
      void feed.then(() =>
        resolve({
          exitCode,
          signal,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          ...(startError ? { startError } : {}),
          ...(inputError !== undefined ? { inputError } : {}),
          timedOut: deadline.timedOut,
        }),
      );
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (child.pid === undefined) settle(undefined, undefined, e);
    });
    child.on('close', (code, signal) => settle(code ?? undefined, signal ?? undefined));
  });
}

/** The handle of a detached program: its pid, its stdin/stdout pipes and its end (a ChildProcess, or ./spawn.ts's). */
export interface DetachedProgram {
  readonly pid?: number | undefined;
  readonly exitCode: number | null;
  stdin: Writable | null;
  stdout: Readable | null;
  kill(signal?: NodeJS.Signals | number): boolean;
  on(event: 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  removeAllListeners(event?: string): this;
  unref(): void;
}

/**
 * Start a program in its own process group that may outlive the daemon (a supervisor): stdin
 * and stdout are pipes, stderr goes to `stderrFile` (created, mode 0600).
 */
export function spawnDetached(
  cmd: string,
  args: readonly string[],
  opts: { stderrFile: string; env?: Record<string, string> },
): DetachedProgram {
  const errFd = fs.openSync(opts.stderrFile, 'w', 0o600);
  try {
    return spawn(cmd, args, {
      detached: true,
      stdio: ['pipe', 'pipe', errFd],
      env: opts.env ?? { PATH: DEFAULT_PATH },
    });
  } finally {
    fs.closeSync(errFd);
  }
}

/** Flush the filesystem holding `path` to disk (`sync -f`: syncfs(2)); fails with one line. */
export async function syncFilesystem(path: string): Promise<void> {
  const r = await runProgram('sync', ['-f', path]);
  if (r.exitCode !== 0) {
    const why = r.stderr.trim().split('\n')[0] || r.startError?.message || `killed by ${r.signal}`;
    throw new TsnetError('TSNET_INTERNAL', `sync -f ${path}: ${why}`);
  }
}
