/**
 * When a pool of things made ahead refills (the netns pool, src/network/sandbox-pool.ts; the
 * container dir pool, src/runtime/container/dir-pool.ts): one entry at a time, starting once the
 * create that took one is done with it (`soon`) or at the latest a delay after the take (`taken`),
 * so that the making does not compete with that create; after a failed fill, no more tries until
 * the next take (a failing kernel or disk is not hammered); nothing after `stop`, which waits for
 * a fill under way.
 */
/**
 * A take starts the refill when its taker is done with the entry (`soon`), so that the making
 * does not compete with the taker's own work; at the latest this much later.
 */
export const REFILL_DELAY_MS = 100;
/** How long a pool's stop waits for an entry under way before it gives up on it. */
export const STOP_WAIT_MS = 2000;

export interface RefillDeps {
  /** Whether another entry is wanted now. */
  wanted: () => boolean;
  /** Make one entry (it checks `stopped` before it keeps it); a rejection stops the fills until the next take. */
  fill: () => Promise<void>;
}

export class RefillSchedule {
  /** A refill waiting for its moment. */
  private timer: NodeJS.Timeout | undefined;
  /** A fill making an entry now. */
  private filling: Promise<void> | undefined;
  private isStopped = true;
  private failing = false;

  constructor(private readonly d: RefillDeps) {}

  /** Stopped (or not started): a fill that ends now does not keep its entry. */
  get stopped(): boolean {
    return this.isStopped;
  }

  start(): void {
    this.isStopped = false;
    this.schedule(0);
  }

  /** An entry was taken: fills may be tried again, at the latest `ms` from now. */
  taken(ms = REFILL_DELAY_MS): void {
    this.failing = false;
    this.schedule(ms);
  }

  /** The taker is done: refill now. */
  soon(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.schedule(0);
  }

  /** No more fills; waits at most `waitMs` for one under way. */
  async stop(waitMs = STOP_WAIT_MS): Promise<void> {
    this.isStopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.filling) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.filling, new Promise((r) => (timer = setTimeout(r, waitMs)))]);
    clearTimeout(timer);
  }

  private schedule(ms: number): void {
    if (this.isStopped || this.failing || this.timer || this.filling || !this.d.wanted()) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.filling = this.d
        .fill()
        .catch(() => {
          this.failing = true;
        })
        .finally(() => {
          this.filling = undefined;
          this.schedule(0);
        });
    }, ms);
    this.timer.unref();
  }
}
