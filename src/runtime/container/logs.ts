/**
 * Container logs: the CRI-format file tsnet-init writes (`<time> <stdout|stderr> <F|P> <text>`)
 * turned into Docker's log stream (multiplexed frames, or raw bytes for a tty container).
 * Rotated files (`<log>.N` … `<log>.1`, `--log-opt max-size/max-file`) are read first, oldest
 * first; `follow` keeps reading across rotations; `until` ends a follow at that time.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';

export function frame(stream: 'stdout' | 'stderr', payload: Buffer): Buffer {
  return Buffer.concat([frameHeader(stream, payload.length), payload]);
}

/** The 8-byte header of a multiplexed frame of `size` bytes. */
function frameHeader(stream: 'stdout' | 'stderr', size: number): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream === 'stdout' ? 1 : 2;
  header.writeUInt32BE(size, 4);
  return header;
}

const SPACE = 0x20;
const SPACE_BYTE = Buffer.from(' ');
const NEWLINE_BYTE = Buffer.from('\n');
const STDOUT = Buffer.from('stdout');
const STDERR = Buffer.from('stderr');

/**
 * One line of the CRI log (`<time> <stdout|stderr> <F|P> <text>`; F: the text ended with a
 * newline, P: a part of a longer one) as views into `raw`, valid until the next read into its buffer.
 */
function parseRawLine(raw: Buffer): { time: Buffer; stdout: boolean; full: boolean; text: Buffer } | undefined {
  const a = raw.indexOf(SPACE);
  const b = a < 0 ? -1 : raw.indexOf(SPACE, a + 1);
  const c = b < 0 ? -1 : raw.indexOf(SPACE, b + 1);
  if (c < 0) return undefined;
  const stream = raw.subarray(a + 1, b);
  const stdout = stream.equals(STDOUT);
  if (!stdout && !stream.equals(STDERR)) return undefined;
  return { time: raw.subarray(0, a), stdout, full: c === b + 2 && raw[b + 1] === 0x46 /* F */, text: raw.subarray(c + 1) };
}

export interface LogOptions {
  stdout: boolean;
  stderr: boolean;
  follow: boolean;
  tail?: number; // undefined = all
  timestamps: boolean;
  /** `details=1`: put before each line's text, after its timestamp (log-details.ts) */
  details?: Buffer;
  since?: number; // unix seconds
  until?: number;
  tty: boolean;
  isRunning: () => boolean;
}

/** Bytes read from a log file at a time: what a logs request holds in memory, whatever the log's size. */
const CHUNK = 256 * 1024;
const NEWLINE = 0x0a;

/** Bytes → complete lines (without their newline); a line cut by a chunk's end waits for the next. */
class LineSplitter {
  private rest: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    const data = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    const lines: Buffer[] = [];
    let from = 0;
    for (let nl = data.indexOf(NEWLINE, from); nl >= 0; nl = data.indexOf(NEWLINE, from)) {
      lines.push(data.subarray(from, nl));
      from = nl + 1;
    }
    this.rest = Buffer.from(data.subarray(from)); // a copy: the chunk's buffer is reused
    return lines;
  }
}

/** Write, and wait while `out` asks to (false from write): resolves false once `out` is gone. */
function write(out: Writable, buf: Buffer): Promise<boolean> {
  if (out.destroyed || out.writableEnded) return Promise.resolve(false);
  if (out.write(buf)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => () => {
      out.off('drain', onDrain);
      out.off('close', onClose);
      out.off('error', onClose);
      resolve(ok);
    };
    const onDrain = done(true);
    const onClose = done(false);
    out.once('drain', onDrain);
    out.once('close', onClose);
    out.once('error', onClose);
  });
}

/**
 * Where the last `n` complete lines of `files` (oldest first) begin: the file's index and byte
 * offset, found by reading backwards from the end one chunk at a time (a `--tail 10` of a huge
 * log reads its last chunk, not the log). Bytes after the last newline (a line being written)
 * are no line yet.
 */
async function tailStart(files: string[], n: number, buf: Buffer): Promise<{ index: number; offset: number }> {
  let newlines = 0;
  for (let i = files.length - 1; i >= 0; i--) {
    const fh = await openIfThere(files[i]!);
    if (!fh) continue;
    try {
      let end = (await fh.stat()).size;
      while (end > 0) {
        const start = Math.max(0, end - buf.length);
        const { bytesRead } = await fh.read(buf, 0, end - start, start);
        for (let j = bytesRead - 1; j >= 0; j--) {
          // the (n+1)-th newline from the end closes the line before the last n
          if (buf[j] === NEWLINE && ++newlines === n + 1) return { index: i, offset: start + j + 1 };
        }
        end = start;
      }
    } finally {
      await fh.close();
    }
  }
  return { index: 0, offset: 0 };
}

/**
 * Write the log to `out`; with follow, keep going until the container stops or `out` closes.
 * The files are read in chunks of CHUNK bytes with async reads, and each chunk's frames are
 * written before the next is read, waiting while `out` asks to: a logs request holds a chunk,
 * not the log (a 135 MB log took the daemon to 1 GB before), and never blocks the event loop
 * for a whole file.
 */
export async function streamLogs(file: string, out: Writable, opts: LogOptions): Promise<void> {
  let closed = false;
  out.on('close', () => (closed = true));
  out.on('error', () => (closed = true));
  const timed = opts.since !== undefined || opts.until !== undefined;
  const splitter = new LineSplitter();
  const buf = Buffer.allocUnsafe(CHUNK);

  /** Frame the complete lines of one chunk and write them; false once `out` is gone. */
  const emit = async (lines: Buffer[]): Promise<boolean> => {
    // bytes, not strings: a line is sliced where its fields are, and one concat per chunk is
    // the only copy (a string per line made ~4× the log in garbage)
    const parts: Buffer[] = [];
    for (const raw of lines) {
      const l = parseRawLine(raw);
      if (!l) continue;
      if ((l.stdout && !opts.stdout) || (!l.stdout && !opts.stderr)) continue;
      if (timed) {
        const t = Date.parse(l.time.toString('latin1')) / 1000;
        if (opts.since !== undefined && t < opts.since) continue;
        if (opts.until !== undefined && t > opts.until) continue;
      }
      const size = (opts.timestamps ? l.time.length + 1 : 0) + (opts.details?.length ?? 0) + l.text.length + (l.full ? 1 : 0);
      if (!opts.tty) parts.push(frameHeader(l.stdout ? 'stdout' : 'stderr', size));
      if (opts.timestamps) parts.push(l.time, SPACE_BYTE);
      if (opts.details) parts.push(opts.details);
      parts.push(l.text);
      if (l.full) parts.push(NEWLINE_BYTE);
    }
    if (closed) return false;
    return parts.length ? write(out, Buffer.concat(parts)) : true;
  };

  /** Read `fh` from `from` to its current end, chunk by chunk; the offset reached. */
  const pump = async (fh: fs.promises.FileHandle, from: number): Promise<number> => {
    let at = from;
    for (;;) {
      if (closed) return at;
      const { bytesRead } = await fh.read(buf, 0, buf.length, at);
      if (bytesRead === 0) return at;
      at += bytesRead;
      if (!(await emit(splitter.push(buf.subarray(0, bytesRead))))) {
        closed = true;
        return at;
      }
    }
  };

  // Rotated files (oldest first), then the live one; a tail starts within one of them.
  const files = [...rotated(file), file];
  // (a tail of 0 starts after the last complete line: a line being written comes whole later)
  const first = opts.tail === undefined ? { index: 0, offset: 0 } : await tailStart(files, opts.tail, buf);

  // The live file stays open while it is followed. After a rotation (the supervisor renames it to
  // `.1` and opens a new one) the rest of the old file is read through the open fd, then the new
  // one from 0. A container removed mid-follow (its dir moved to the trash: the Python SDK's
  // containers.run removes before it reads the stream) is read to its end the same way.
  let live: { fh: fs.promises.FileHandle; ino: number } | undefined;
  let offset = 0;
  const openLive = async (): Promise<boolean> => {
    const fh = await openIfThere(file);
    if (fh) live = { fh, ino: (await fh.stat()).ino };
    return fh !== undefined;
  };
  /** What the live file has that was not read yet (the old one's rest first after a rotation). */
  const readNew = async (): Promise<void> => {
    let pathIno: number | undefined;
    try {
      pathIno = (await fs.promises.stat(file)).ino;
    } catch {
      pathIno = undefined;
    }
    if (live && pathIno !== undefined && pathIno !== live.ino) {
      await pump(live.fh, offset);
      await live.fh.close();
      live = undefined;
      offset = 0;
    }
    if (!live && !(await openLive())) return;
    const size = (await live!.fh.stat()).size;
    if (size < offset) offset = 0; // truncated in place (max-file=1)
    offset = await pump(live!.fh, offset);
  };

  try {
    for (let i = first.index; i < files.length - 1 && !closed; i++) {
      const fh = await openIfThere(files[i]!);
      if (!fh) continue;
      try {
        await pump(fh, i === first.index ? first.offset : 0);
      } finally {
        await fh.close();
      }
    }
    if (await openLive()) {
      const size = (await live!.fh.stat()).size;
      offset = first.index === files.length - 1 ? Math.min(first.offset, size) : 0;
      offset = await pump(live!.fh, offset);
    }
    if (!opts.follow) return;
    while (!closed) {
      if (opts.until !== undefined && Date.now() / 1000 > opts.until) return;
      const running = opts.isRunning();
      await readNew();
      if (!running) {
        await readNew();
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    if (live) await live.fh.close();
  }
}

/** A log file open for reading, or undefined when it is gone (rotated away, removed). */
async function openIfThere(name: string): Promise<fs.promises.FileHandle | undefined> {
  try {
    return await fs.promises.open(name, 'r');
  } catch {
    return undefined;
  }
}

/** Rotated files of `file`, oldest first (`<log>.N` … `<log>.1`). */
function rotated(file: string): string[] {
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
}
