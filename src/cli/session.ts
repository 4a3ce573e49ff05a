/**
 * The attached session shared by `run` (without -d), `start -a` and `exec`: copy the
 * hijacked stream to stdout/stderr (demultiplexed unless TTY), forward stdin (half-close
 * on EOF), raw mode and resizes with a TTY, signal proxying without one, and the
 * `wait` request that reports the exit status.
 */
import type { Duplex } from 'node:stream';
import { parseJson, readBody, seg, type HijackedStream } from './api-client.js';
import type { Context } from './context.js';
import { configDetachKeys } from './credentials.js';
import { errorMessage, startFailureExitCode } from './errors.js';
import { copyStream, demuxStream } from './stream-demux.js';
import { isTerminal, makeRaw, watchTerminalSize } from './tty.js';

const noop = (): void => {};

const BENIGN = new Set(['ECONNRESET', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED']);

export interface Streaming {
  /** Resolves when the output stream ends (rejects on a daemon-side stream error). */
  done: Promise<void>;
  /** True once the detach keys were typed (the daemon then closes the stream; the container runs on). */
  detached(): boolean;
  /** Tear the stream down (start failed). */
  close(): void;
}

export function startStreaming(
  ctx: Context,
  hj: HijackedStream,
  opts: { tty: boolean; interactive: boolean; detachKeys?: string },
): Streaming {
  const keys = opts.tty ? detachKeyBytes(opts.detachKeys) : undefined;
  let matched = 0;
  let detached = false;
  const stream = hj.stream;
  stream.on('error', noop); // errors reach `done` through the reader; never crash on a late EPIPE
  const restoreRaw = opts.tty && opts.interactive && isTerminal(ctx.stdin) ? makeRaw(ctx.stdin, ctx.onExit) : noop;
  let stopInput = noop;
  if (opts.interactive && hj.upgraded) {
    const duplex = stream as Duplex;
    const stdin = ctx.stdin;
    const onData = (chunk: Buffer): void => {
      if (duplex.destroyed || duplex.writableEnded) return;
      // the daemon acts on the detach keys; this side only notes them, to not wait for an exit
      if (keys)
        for (const b of chunk) {
          matched = b === keys[matched] ? matched + 1 : b === keys[0] ? 1 : 0;
          if (matched === keys.length) detached = true;
        }
      if (!duplex.write(chunk)) {
        stdin.pause();
        duplex.once('drain', () => stdin.resume());
      }
    };
    const onEnd = (): void => {
      if (!duplex.destroyed && !duplex.writableEnded) duplex.end();
    };
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.resume();
    stopInput = () => {
      stdin.removeListener('data', onData);
      stdin.removeListener('end', onEnd);
      stdin.pause();
    };
  }
  const stdout = (): NodeJS.WriteStream => ctx.stdout;
  const stderr = (): NodeJS.WriteStream => ctx.stderr;
  const output = opts.tty ? copyStream(stream, stdout) : demuxStream(stream, stdout, stderr);
  const done = output
    .catch((err: unknown) => {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== undefined && BENIGN.has(code)) return;
      throw err;
    })
    .finally(() => {
      stopInput();
      restoreRaw();
    });
  done.catch(noop); // observed by the caller; avoid an unhandled rejection if it is not
  return {
    done,
    detached: () => detached,
    close: () => {
      stream.destroy();
    },
  };
}

/** Keep the container's (or exec's) TTY the size of ours: now and on every SIGWINCH. */
export function monitorResize(ctx: Context, path: string): () => void {
  let first = true;
  return watchTerminalSize(ctx.stdout, ({ rows, columns }) => {
    const attempt = (n: number): void => {
      ctx.client.call('POST', path, { query: { h: rows, w: columns } }).catch(() => {
        // The first resize can race the process start (docker retries too).
        if (n < 5) setTimeout(() => attempt(n + 1), 100 * (n + 1)).unref();
      });
    };
    if (first) {
      first = false;
      attempt(0);
    } else {
      attempt(5);
    }
  });
}

export const PROXIED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const;

/** Forward the signals this process gets to the container (`--sig-proxy`, no TTY). */
export function proxySignals(ctx: Context, id: string): () => void {
  const handler = (signal: NodeJS.Signals): void => {
    ctx.client.call('POST', `/containers/${seg(id)}/kill`, { query: { signal } }).catch((err: unknown) => {
      ctx.error(`forwarding ${signal}: ${errorMessage(err)}`);
    });
  };
  return ctx.onSignal(PROXIED_SIGNALS, handler);
}

export interface WaitResult {
  StatusCode: number;
  Error?: { Message?: string } | null;
}

export interface Waiter {
  result: Promise<WaitResult>;
  abort(): void;
}

/**
 * POST /containers/{id}/wait. Resolves once the daemon has answered with headers (it has
 * registered the waiter), so a container started afterwards cannot be missed; `result`
 * resolves when the container stops.
 */
export async function waitForExit(ctx: Context, id: string, condition: string): Promise<Waiter> {
  const res = await ctx.client.send('POST', `/containers/${seg(id)}/wait`, { query: { condition } });
  const result = readBody(res).then((body) => parseJson<WaitResult>(body, 'wait'));
  result.catch(noop);
  return {
    result,
    abort: () => {
      res.destroy();
    },
  };
}

export interface AttachOptions {
  id: string;
  tty: boolean;
  interactive: boolean;
  sigProxy: boolean;
  autoRemove: boolean;
  detachKeys?: string;
}

const CTRL: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };

/** The detach keys of a tty session: the flag, else the config file's `detachKeys`, else the daemon's default. */
export function detachKeysOf(ctx: Context, flag: string | undefined, tty: boolean): string | undefined {
  return flag ?? (tty ? configDetachKeys(ctx.env) : undefined);
}

/** Docker's detach keys (`ctrl-p,ctrl-q`, `a,ctrl-b`…) as bytes; undefined when they do not parse (the daemon says why). */
export function detachKeyBytes(text = 'ctrl-p,ctrl-q'): Buffer | undefined {
  const out: number[] = [];
  for (const key of text.split(',')) {
    if (key.length === 1) out.push(key.charCodeAt(0));
    else {
      const c = /^ctrl-(.)$/.exec(key)?.[1];
      const code = c === undefined ? undefined : /^[a-z]$/.test(c) ? c.charCodeAt(0) - 96 : CTRL[c];
      if (code === undefined) return undefined;
      out.push(code);
    }
  }
  return out.length ? Buffer.from(out) : undefined;
}

/**
 * docker run's foreground flow: attach (hijack) → wait → start → resize / signals → copy
 * until the stream ends → exit status. Returns the exit code for the process.
 */
export async function attachStartWait(ctx: Context, opts: AttachOptions): Promise<number> {
  const id = seg(opts.id);
  const detachKeys = detachKeysOf(ctx, opts.detachKeys, opts.tty && opts.interactive);
  const o = { ...opts, ...(detachKeys ? { detachKeys } : {}) };
  const hj = await ctx.client.hijack('POST', `/containers/${id}/attach`, {
    query: { stream: true, stdin: o.interactive, stdout: true, stderr: true, detachKeys: o.detachKeys },
  });
  const streaming = startStreaming(ctx, hj, {
    tty: o.tty,
    interactive: o.interactive,
    ...(o.detachKeys ? { detachKeys: o.detachKeys } : {}),
  });
  let waiter: Waiter;
  try {
    waiter = await waitForExit(ctx, o.id, o.autoRemove ? 'removed' : 'next-exit');
  } catch (err) {
    streaming.close();
    throw err;
  }
  try {
    await ctx.client.call('POST', `/containers/${id}/start`);
  } catch (err) {
    streaming.close();
    waiter.abort();
    await streaming.done.catch(noop);
    ctx.error(errorMessage(err));
    return startFailureExitCode(err);
  }
  return followToExit(ctx, streaming, waiter, { id: o.id, tty: o.tty, sigProxy: o.sigProxy, reportWaitError: true });
}

/**
 * The end of an attached session (run, start -a, attach): copy until the stream ends, resizing
 * the tty or proxying signals meanwhile; then 0 when the user detached, else the container's
 * exit status (125 when the stream failed, or, with `reportWaitError`, when the wait did).
 */
export async function followToExit(
  ctx: Context,
  streaming: Streaming,
  waiter: Waiter,
  o: { id: string; tty: boolean; sigProxy: boolean; reportWaitError: boolean },
): Promise<number> {
  const stopResize = o.tty ? monitorResize(ctx, `/containers/${seg(o.id)}/resize`) : noop;
  const stopSignals = o.sigProxy && !o.tty ? proxySignals(ctx, o.id) : noop;
  try {
    try {
      await streaming.done;
    } catch (err) {
      ctx.error(errorMessage(err));
      return 125;
    }
    if (streaming.detached()) {
      waiter.abort();
      return 0;
    }
    const status = await waiter.result;
    if (o.reportWaitError && status?.Error?.Message) {
      ctx.error(`error waiting for the container: ${status.Error.Message}`);
      return 125;
    }
    return typeof status?.StatusCode === 'number' ? status.StatusCode : 0;
  } finally {
    stopResize();
    stopSignals();
  }
}
