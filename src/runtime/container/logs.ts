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

  // Rotated files are read whole, once, at the start.
  const readFrom = (name: string): string | undefined => {
    try {
      return fs.readFileSync(name, 'utf8');
    } catch {
      return undefined;
    }
  };
  const split = (text: string): string[] => {
    const lines = (rest + text).split('\n');
    rest = lines.pop() ?? '';
    return lines;
  };
  // The live file stays open while it is followed. After a rotation (the supervisor renames it to
  // `.1` and opens a new one) the rest of the old file is read through the open fd, then the new
  // one from 0. A container removed mid-follow (its dir moved to the trash: the Python SDK's
  // containers.run removes before it reads the stream) is read to its end the same way.
  let live: { fd: number; ino: number } | undefined;
  const readRest = (fd: number): string => {
    const size = fs.fstatSync(fd).size;
    if (size < offset) offset = 0; // truncated in place (max-file=1)
    const buf = Buffer.alloc(size - offset);
    const n = buf.length ? fs.readSync(fd, buf, 0, buf.length, offset) : 0;
    offset += n;
    return buf.subarray(0, n).toString('utf8');
  };
  const readNew = (): string[] => {
    let text = '';
    let pathIno: number | undefined;
    try {
      pathIno = fs.statSync(file).ino;
    } catch {
      pathIno = undefined;
    }
    if (live && pathIno !== undefined && pathIno !== live.ino) {
      text = readRest(live.fd);
      fs.closeSync(live.fd);
      live = undefined;
      offset = 0;
    }
    if (!live) {
      try {
        const fd = fs.openSync(file, 'r');
        live = { fd, ino: fs.fstatSync(fd).ino };
      } catch {
        return split(text);
      }
    }
    return split(text + readRest(live.fd));
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
    const got = readFrom(r);
    if (got) old.push(...split(got));
  }
  try {
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
  } finally {
    if (live) fs.closeSync(live.fd);
  }
}
