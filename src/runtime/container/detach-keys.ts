/**
 * Detach keys (Docker's `--detach-keys`, default ctrl-p,ctrl-q): the bytes a client sends on an
 * attached tty's stdin are scanned for the sequence; bytes that start it are held back until it
 * is complete (the session detaches: the client's connection is closed, the container keeps
 * running) or broken (they are passed on). As Docker, only tty sessions are scanned.
 */
import type { Duplex, Writable } from 'node:stream';
import { TsnetError } from '../../errors/index.js';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

const CTRL: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };

/** moby/term's ToBytes: `a`, `ctrl-a`…`ctrl-z`, `ctrl-@`, `ctrl-[`, `ctrl-\`, `ctrl-]`, `ctrl-^`, `ctrl-_`, comma-separated. */
export function parseDetachKeys(text: string): Buffer {
  const out: number[] = [];
  for (const key of text.split(',')) {
    if (key.length === 1) {
      out.push(key.charCodeAt(0));
      continue;
    }
    const m = /^ctrl-(.)$/.exec(key);
    const c = m?.[1];
    const code = c === undefined ? undefined : /^[a-z]$/.test(c) ? c.charCodeAt(0) - 96 : CTRL[c];
    if (code === undefined || key.length > 6)
      throw new TsnetError('TSNET_INVALID_ARGUMENT', `Invalid detach keys (${text}) provided: unknown key '${key}'`);
    out.push(code);
  }
  if (out.length === 0) throw new TsnetError('TSNET_INVALID_ARGUMENT', `Invalid detach keys (${text}) provided`);
  return Buffer.from(out);
}

/**
 * Copy a client's stdin into `sink`, watching for `keys`. On the full sequence `onDetach` runs
 * and nothing more is copied; the end of the client's input ends `sink` (unless detached).
 */
export function copyStdin(conn: Duplex, sink: Writable, keys: Buffer | undefined, onDetach: () => void): void {
  if (!keys) {
    conn.pipe(sink);
    return;
  }
  let matched = 0;
  let detached = false;
  conn.on('data', (chunk: Buffer) => {
    if (detached) return;
    const pass: number[] = [];
    for (const b of chunk) {
      if (b === keys[matched]) {
        matched++;
        if (matched === keys.length) {
          detached = true;
          break;
        }
        continue;
      }
      // the held-back bytes were not the sequence: pass them on, then look at this byte afresh
      for (let i = 0; i < matched; i++) pass.push(keys[i]!);
      matched = 0;
      if (b === keys[0]) matched = 1;
      else pass.push(b);
    }
    if (pass.length && !sink.destroyed) {
      if (!sink.write(Buffer.from(pass))) {
        conn.pause();
        sink.once('drain', () => conn.resume());
      }
    }
    if (detached) onDetach();
  });
  conn.on('end', () => {
    if (!detached && !sink.destroyed) sink.end();
  });
  // A 'data' listener does not start a stream that was paused explicitly, and an upgraded
  // connection is, when its request body came in a read of its own (body.ts).
  conn.resume();
}

/** The keys for a session: its own, else the default; none without a tty. */
export function detachKeysFor(tty: boolean, requested: string | undefined | null): Buffer | undefined {
  if (!tty) return undefined;
  return parseDetachKeys(requested || DEFAULT_DETACH_KEYS);
}
