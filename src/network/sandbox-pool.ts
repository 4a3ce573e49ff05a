/**
 * A few network namespaces made ahead, with lo up, so that a container's create takes one
 * instead of making it: the unshare, the bind mount and lo's netlink request leave the create
 * path. Size 0 (tsnetd --netns-pool 0): off.
 *
 * Entries are tsnet's own objects, named `<netns dir>/pool-<12 hex>`:
 * - a take moves an entry's mount to the container's sandbox file (MS_MOVE) — an entry is
 *   never shared, copied or handed out twice;
 * - the daemon's stop removes every entry (`stop`, which first waits for a fill under way);
 * - after a kill -9 the entries are left, and the start-up sweep removes them with every
 *   other netns file no container record explains (a namespace a dead daemon made is not
 *   reused); the pool is filled only after the sweep;
 * - a crash in the middle of a take leaves at most an empty plain file, swept the same way.
 * Entries are made by a thread of their own (`make`: src/kernel/netns-maker.ts), one at a
 * time, from the moment the create that took one is done with it (`refillSoon`; at the latest
 * REFILL_DELAY_MS after the take): the daemon's thread only moves a mount. (When
 * the main thread made them, a refill had to wait for 250 ms without a take — it blocked the
 * thread, and the kernel makes unshare wait while it cleans up removed namespaces — so creates
 * a user ran one after another, or the bench's loop, always found the pool empty.) In a burst
 * faster than the thread the pool empties and creates make their own namespace, as without a
 * pool.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import type { Logger } from '../lib/logger.js';
import type { Netns } from '../kernel/netns.js';

export const POOL_PREFIX = 'pool-';
/**
 * A take starts the refill when its create is done with the entry (`refillSoon`), so that the
 * thread's kernel work does not compete with that create's own; at the latest this much later.
 */
const REFILL_DELAY_MS = 100;
/** How long the daemon's stop waits for an entry under way before it gives up on it. */
const STOP_WAIT_MS = 2000;

export interface SandboxPoolDeps {
  netns: Netns;
  /** The netns dir (its entries live beside the sandboxes). */
  dir: string;
  size: number;
  /** Make an entry: a new netns at the file, lo up; rejects (leaving nothing) on failure. */
  make: (file: string) => Promise<void>;
  /** Stop what makes entries (after the last one). */
  closeMaker?: () => Promise<void>;
  logger: Logger;
}

export class SandboxPool {
  private readonly ready: string[] = [];
  /** A refill waiting for its moment. */
  private timer: NodeJS.Timeout | undefined;
  /** A refill making an entry now. */
  private filling: Promise<void> | undefined;
  private stopped = true;
  /** The last fill failed: no more tries until the next take (a failing kernel is not hammered). */
  private failing = false;

  constructor(private readonly d: SandboxPoolDeps) {}

  get size(): number {
    return this.d.size;
  }

  /** Entries ready now. */
  get available(): number {
    return this.ready.length;
  }

  /** Start filling (call after the start-up sweep). */
  start(): void {
    if (this.d.size <= 0) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Move a ready namespace (lo up) to `target`, a path that does not exist; false when none is ready. */
  take(target: string): boolean {
    const file = this.ready.shift();
    this.failing = false;
    this.schedule(REFILL_DELAY_MS);
    if (!file) return false;
    try {
      this.d.netns.move(file, target);
      return true;
    } catch (err) {
      this.d.logger.warn(`netns pool: ${(err as Error).message}`);
      this.drop(file);
      return false;
    }
  }

  /** The create that took an entry is done with it: refill now (on the maker's thread). */
  refillSoon(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.schedule(0);
  }

  /** Remove every entry and stop refilling (daemon stop); an entry under way is waited for and removed. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const file of this.ready.splice(0)) this.drop(file);
    if (this.filling) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.filling, new Promise((r) => (timer = setTimeout(r, STOP_WAIT_MS)))]);
      clearTimeout(timer);
    }
    await this.d.closeMaker?.().catch((err: Error) => this.d.logger.warn(`netns pool: ${err.message}`));
  }

  private schedule(ms: number): void {
    if (this.stopped || this.failing || this.timer || this.filling || this.ready.length >= this.d.size) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.filling = this.fillOne().finally(() => {
        this.filling = undefined;
        this.schedule(0);
      });
    }, ms);
    this.timer.unref();
  }

  private async fillOne(): Promise<void> {
    const file = path.join(this.d.dir, `${POOL_PREFIX}${crypto.randomBytes(6).toString('hex')}`);
    try {
      await this.d.make(file);
      // stopped meanwhile: the entry is not kept
      if (this.stopped) this.drop(file);
      else this.ready.push(file);
    } catch (err) {
      this.drop(file);
      this.failing = true;
      this.d.logger.warn(`netns pool: ${(err as Error).message}; no refill until the next take`);
    }
  }

  private drop(file: string): void {
    try {
      this.d.netns.remove(file);
    } catch (err) {
      this.d.logger.warn(`netns pool: remove ${file}: ${(err as Error).message}`);
    }
  }
}
