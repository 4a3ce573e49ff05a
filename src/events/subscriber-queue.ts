/**
 * One `/events` subscriber's outbox: lines go straight to the socket while it keeps up; when
 * the socket pushes back, at most `limit` lines (and `maxBytes`) wait; past that, new events
 * are dropped for this subscriber (as moby's publisher skips a subscriber that does not take
 * an event in time) and counted. The daemon never waits for a slow reader.
 */
export interface LineSink {
  write(chunk: string): boolean;
  once(event: 'drain', fn: () => void): unknown;
  readonly destroyed: boolean;
}

export const SUBSCRIBER_QUEUE = 1024;
export const SUBSCRIBER_QUEUE_BYTES = 4 * 1024 * 1024;

export class SubscriberQueue {
  private readonly waiting: string[] = [];
  private waitingBytes = 0;
  private blocked = false;
  dropped = 0;

  constructor(
    private readonly out: LineSink,
    private readonly limit = SUBSCRIBER_QUEUE,
    private readonly maxBytes = SUBSCRIBER_QUEUE_BYTES,
  ) {}

  push(line: string): void {
    if (this.out.destroyed) return;
    if (this.blocked) {
      if (this.waiting.length >= this.limit || this.waitingBytes + line.length > this.maxBytes) this.dropped++;
      else {
        this.waiting.push(line);
        this.waitingBytes += line.length;
      }
      return;
    }
    if (!this.out.write(line)) this.block();
  }

  get queued(): number {
    return this.waiting.length;
  }

  private block(): void {
    this.blocked = true;
    this.out.once('drain', () => this.flush());
  }

  private flush(): void {
    this.blocked = false;
    while (this.waiting.length && !this.out.destroyed) {
      const line = this.waiting.shift()!;
      this.waitingBytes -= line.length;
      if (!this.out.write(line)) {
        this.block();
        return;
      }
    }
  }
}
