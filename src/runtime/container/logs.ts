/**
 * Container logs: the CRI-format file tsnet-init writes (`<time> <stdout|stderr> <F|P> <text>`)
 * turned into Docker's log stream (multiplexed frames, or raw bytes for a tty container).
 * Rotated files (`<log>.N` … `<log>.1`, `--log-opt max-size/max-file`) are read first, oldest
 * first; `follow` keeps reading across rotations; `until` ends a follow at that time.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';

export interface LogLine {
  time: string;
  stream: 'stdout' | 'stderr';
  text: string; // with its newline when the line was complete
}

export function parseLogLine(line: string): LogLine | undefined {
  const a = line.indexOf(' ');
  const b = line.indexOf(' ', a + 1);
  const c = line.indexOf(' ', b + 1);
  if (a < 0 || b < 0 || c < 0) return undefined;
  const stream = line.slice(a + 1, b);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const tag = line.slice(b + 1, c);
  return { time: line.slice(0, a), stream, text: line.slice(c + 1) + (tag === 'F' ? '\n' : '') };
}

export function frame(stream: 'stdout' | 'stderr', payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream === 'stdout' ? 1 : 2;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

export interface LogOptions {
  stdout: boolean;
  stderr: boolean;
  follow: boolean;
  tail?: number; // undefined = all
  timestamps: boolean;
  since?: number; // unix seconds
  until?: number;
  tty: boolean;
  isRunning: () => boolean;
}

/** Write the log to `out`; with follow, keep going until the container stops or `out` closes. */
export async function streamLogs(file: string, out: Writable, opts: LogOptions): Promise<void> {
  let offset = 0;
  let rest = '';
  let closed = false;
  out.on('close', () => (closed = true));
  out.on('error', () => (closed = true));

  const emit = (lines: string[]) => {
    const chunks: Buffer[] = [];
    for (const raw of lines) {
      const l = parseLogLine(raw);
      if (!l) continue;
      if ((l.stream === 'stdout' && !opts.stdout) || (l.stream === 'stderr' && !opts.stderr)) continue;
      const t = Date.parse(l.time) / 1000;
      if (opts.since !== undefined && t < opts.since) continue;
      if (opts.until !== undefined && t > opts.until) continue;
      const text = opts.timestamps ? `${l.time} ${l.text}` : l.text;
      const payload = Buffer.from(text, 'utf8');
      chunks.push(opts.tty ? payload : frame(l.stream, payload));
    }
    if (chunks.length && !closed) out.write(Buffer.concat(chunks));
  };

  // The live file, tracked by inode: after a rotation (the supervisor renames it to `.1`
  // and opens a new one) the rest of the old file is read from `.1`, then the new one from 0.
  let ino: number | undefined;
  const readFrom = (name: string, from: number, expectIno?: number): { text: string; size: number; ino: number } | undefined => {
    let fd: number;
    try {
      fd = fs.openSync(name, 'r');
    } catch {
      return undefined;
    }
    try {
      const st = fs.fstatSync(fd);
      if (expectIno !== undefined && st.ino !== expectIno) return undefined;
      const start = st.size < from ? 0 : from;
      const buf = Buffer.alloc(st.size - start);
      fs.readSync(fd, buf, 0, buf.length, start);
      return { text: buf.toString('utf8'), size: st.size, ino: st.ino };
    } finally {
      fs.closeSync(fd);
    }
  };
  const split = (text: string): string[] => {
    const lines = (rest + text).split('\n');
    rest = lines.pop() ?? '';
    return lines;
  };
  const readNew = (): string[] => {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      return [];
    }
    try {
      const st = fs.fstatSync(fd);
      let text = '';
      if (ino !== undefined && st.ino !== ino) {
        text = readFrom(`${file}.1`, offset, ino)?.text ?? '';
        offset = 0;
      }
      ino = st.ino;
      if (st.size < offset) offset = 0; // truncated in place (max-file=1)
      const buf = Buffer.alloc(st.size - offset);
      fs.readSync(fd, buf, 0, buf.length, offset);
      offset = st.size;
      return split(text + buf.toString('utf8'));
    } finally {
      fs.closeSync(fd);
    }
  };

  /** Rotated files, oldest first (`<log>.N` … `<log>.1`). */
  const rotated = (): string[] => {
    const dir = path.dirname(file);
    const base = path.basename(file);
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return [];
    }
    return names
      .map((n) => (n.startsWith(`${base}.`) ? Number(n.slice(base.length + 1)) : Number.NaN))
      .filter((n) => Number.isInteger(n) && n > 0)
      .sort((a, b) => b - a)
      .map((n) => `${file}.${n}`);
  };

  const old: string[] = [];
  for (const r of rotated()) {
    const got = readFrom(r, 0);
    if (got) old.push(...split(got.text));
  }
  let first = [...old, ...readNew()];
  if (opts.tail !== undefined) first = opts.tail === 0 ? [] : first.slice(-opts.tail);
  emit(first);
  if (!opts.follow) return;
  while (!closed) {
    if (opts.until !== undefined && Date.now() / 1000 > opts.until) return;
    const running = opts.isRunning();
    emit(readNew());
    if (!running) {
      emit(readNew());
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
