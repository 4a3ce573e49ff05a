/**
 * A session's std streams in the daemon's CLI host: what a command sees as ctx.stdin / stdout /
 * stderr, made of frames to and from the launcher (frames.ts). They look like the process's
 * streams where commands look: isTTY, columns / rows / getWindowSize() and 'resize' on stdout,
 * isRaw / setRawMode() on stdin. stdin asks the client for bytes only once something reads it.
 */
import { Readable, Writable } from 'node:stream';
import { byteFrame, DATA_MAX, frame, T } from './frames.js';

/** Sends one frame; `done` once the socket took it (backpressure reaches the command). */
export type Send = (frame: Buffer, done?: (err?: Error | null) => void) => void;

export class RemoteOutput extends Writable {
  readonly isTTY: boolean;
  columns: number;
  rows: number;

  constructor(
    private readonly send: Send,
    private readonly type: number,
    tty: boolean,
    size: { rows: number; columns: number },
  ) {
    super({ decodeStrings: true });
    this.isTTY = tty;
    this.rows = size.rows;
    this.columns = size.columns;
  }

  getWindowSize(): [number, number] {
    return [this.columns, this.rows];
  }

  /** The client's terminal changed size: like node's SIGWINCH handling of a TTY stdout. */
  resized(rows: number, columns: number): void {
    this.rows = rows;
    this.columns = columns;
    if (this.isTTY) this.emit('resize');
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (chunk.length === 0) {
      done(); // flush() writes nothing to learn that what came before is out
      return;
    }
    if (chunk.length <= DATA_MAX) {
      this.send(frame(this.type, chunk), done);
      return;
    }
    for (let off = 0; off < chunk.length; off += DATA_MAX) {
      const last = off + DATA_MAX >= chunk.length;
      this.send(frame(this.type, chunk.subarray(off, off + DATA_MAX)), last ? done : undefined);
    }
  }
}

export class RemoteInput extends Readable {
  readonly isTTY: boolean;
  isRaw = false;
  private reading = false;

  constructor(
    private readonly send: Send,
    tty: boolean,
  ) {
    super();
    this.isTTY = tty;
  }

  setRawMode(on: boolean): this {
    if (!this.isTTY) throw new Error('setRawMode: stdin is not a terminal');
    this.isRaw = on;
    this.send(byteFrame(T.raw, on ? 1 : 0));
    return this;
  }

  override _read(): void {
    if (this.reading) return;
    this.reading = true;
    this.send(byteFrame(T.read, 1));
  }

  /** Bytes from the client (an empty chunk: its end of input). */
  received(chunk: Buffer): void {
    if (this.readableEnded || this.destroyed) return;
    if (chunk.length === 0) {
      this.reading = false;
      this.push(null);
      return;
    }
    if (!this.push(chunk) && this.reading) {
      this.reading = false;
      this.send(byteFrame(T.read, 0));
    }
  }
}
