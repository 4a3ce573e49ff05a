/**
 * Container logs: the CRI-format file tsnet-init writes (`<time> <stdout|stderr> <F|P> <text>`)
 * turned into Docker's log stream (multiplexed frames, or raw bytes for a tty container).
 */
import fs from 'node:fs';
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

  const readNew = (): string[] => {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      return [];
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < offset) offset = 0;
      if (size === offset) return [];
      const buf = Buffer.alloc(size - offset);
      fs.readSync(fd, buf, 0, buf.length, offset);
      offset = size;
      const text = rest + buf.toString('utf8');
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      return lines;
    } finally {
      fs.closeSync(fd);
    }
  };

  let first = readNew();
  if (opts.tail !== undefined) first = opts.tail === 0 ? [] : first.slice(-opts.tail);
  emit(first);
  if (!opts.follow) return;
  while (!closed) {
    const running = opts.isRunning();
    emit(readNew());
    if (!running) {
      emit(readNew());
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
