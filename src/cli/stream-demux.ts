/**
 * Docker's multiplexed stdio stream (attach, exec and logs when the container has no TTY).
 * Each frame: 8-byte header [stream, 0, 0, 0, size (uint32 big endian)] then `size`
 * bytes of payload. Stream 0 stdin (written to stdout), 1 stdout, 2 stderr, 3 an error
 * from the daemon itself (systemerr).
 */
import type { Readable, Writable } from 'node:stream';

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const SYSTEMERR = 3;

const HEADER = 8;

export interface Frame {
  stream: number;
  payload: Buffer;
}

export class DemuxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DemuxError';
  }
}

/** Incremental decoder: feed chunks as they come, get back the frames completed so far. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private header: { stream: number; size: number } | null = null;

  /** Bytes received but not yet part of a complete frame. */
  get pending(): number {
    return this.buffered + (this.header ? HEADER : 0);
  }

  push(chunk: Buffer): Frame[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Frame[] = [];
    for (;;) {
      if (this.header === null) {
        if (this.buffered < HEADER) break;
        const h = this.take(HEADER);
        const stream = h[0]!;
        if (stream > SYSTEMERR) {
          throw new DemuxError(`unrecognized stream in multiplexed header: ${stream}`);
        }
        this.header = { stream, size: h.readUInt32BE(4) };
      }
      if (this.buffered < this.header.size) break;
      frames.push({ stream: this.header.stream, payload: this.take(this.header.size) });
      this.header = null;
    }
    return frames;
  }

  /** Remove and return the first n buffered bytes, copying only when they span chunks. */
  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0];
    if (n === 0) return Buffer.alloc(0);
    if (first !== undefined && first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0]!;
      const need = n - off;
      if (c.length <= need) {
        c.copy(out, off);
        off += c.length;
        this.chunks.shift();
      } else {
        c.copy(out, off, 0, need);
        this.chunks[0] = c.subarray(need);
        off += need;
      }
    }
    return out;
  }
}

/** Build one frame (used by tests and fake daemons). */
export function encodeFrame(stream: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(HEADER);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

/** Where output goes: a stream, or a function that makes it on first use (see output.ts). */
export type Sink = Writable | (() => Writable);

function write(sink: Sink, data: Buffer): Promise<void> | undefined {
  const target = typeof sink === 'function' ? sink() : sink;
  if (target.write(data)) return undefined;
  return new Promise((resolve) => target.once('drain', resolve));
}

/**
 * Copy a multiplexed stream to stdout/stderr until it ends. A systemerr frame makes the
 * returned promise reject with the daemon's message once the stream is over.
 */
export async function demuxStream(source: Readable, stdout: Sink, stderr: Sink): Promise<void> {
  const decoder = new FrameDecoder();
  let systemError: string | undefined;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    for (const frame of decoder.push(chunk)) {
      if (frame.stream === SYSTEMERR) {
        systemError = frame.payload.toString('utf8').trim();
        continue;
      }
      const pending = write(frame.stream === STDERR ? stderr : stdout, frame.payload);
      if (pending) await pending;
    }
  }
  if (systemError !== undefined) throw new DemuxError(systemError);
}

/** Copy a raw (TTY) stream to stdout until it ends. */
export async function copyStream(source: Readable, stdout: Sink): Promise<void> {
  for await (const chunk of source as AsyncIterable<Buffer>) {
    const pending = write(stdout, chunk);
    if (pending) await pending;
  }
}
