/**
 * Showing a pull's JSON progress stream, as the docker CLI does: on a terminal one line per
 * layer, rewritten in place (`a3ed95caeb02: Downloading [==>   ] 1.2MB/3.4MB`); elsewhere
 * each layer's status changes as plain lines, without the byte counts.
 */
import type { JsonMessage } from './json-messages.js';

const PROGRESS = new Set(['Downloading', 'Extracting']);

export class PullDisplay {
  private readonly lines = new Map<string, number>();
  private count = 0;
  private readonly lastStatus = new Map<string, string>();

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly tty: boolean,
  ) {}

  show(m: JsonMessage): void {
    const status = typeof m.status === 'string' ? m.status : '';
    const id = typeof m.id === 'string' ? m.id : undefined;
    const progress = typeof m.progress === 'string' ? m.progress : '';
    if (id === undefined || !this.tty) {
      if (id !== undefined) {
        if (PROGRESS.has(status) && this.lastStatus.get(id) === status) return;
        this.lastStatus.set(id, status);
      }
      this.out.write(`${id !== undefined ? `${id}: ` : ''}${status}\n`);
      return;
    }
    const text = `${id}: ${status}${progress !== '' ? ` ${progress}` : ''}`;
    const line = this.lines.get(id);
    if (line === undefined) {
      this.lines.set(id, this.count++);
      this.out.write(`${text}\n`);
      return;
    }
    const up = this.count - line;
    // Up to the layer's line, clear it, write, and back down.
    this.out.write(`\x1b[${up}A\r\x1b[2K${text}\r\x1b[${up}B`);
  }
}
