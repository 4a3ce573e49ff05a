/**
 * A few network namespaces made ahead, with lo up, so that a container's create takes one
 * instead of making it: the unshare, the bind mount and lo's netlink request leave the create
 * path. Size 0 (tsnetd --netns-pool 0): off.
 *
 * Entries are tsnet's own objects, named `<netns dir>/pool-<12 hex>`:
 * - a take moves an entry's mount to the container's sandbox file (MS_MOVE) — an entry is
 *   never shared, copied or handed out twice;
 * - the daemon's stop removes every entry (`stop`);
 * - after a kill -9 the entries are left, and the start-up sweep removes them with every
 *   other netns file no container record explains (a namespace a dead daemon made is not
 *   reused); the pool is filled only after the sweep;
 * - a crash in the middle of a take leaves at most an empty plain file, swept the same way.
 * Refilled one entry per timer tick once no take came for REFILL_IDLE_MS: making a namespace
 * blocks the daemon's thread (unshare waits for the kernel's net mutex, which its cleanup of
 * removed namespaces holds), so a refill 20 ms after the take landed inside the same `run --rm`'s
 * later requests (measured: the delete of create+start+wait+delete loops 18 → 24 ms median,
 * load ~13). Idle, it costs no request anything; in a burst the pool empties and creates make
 * their own namespace, as without a pool.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import type { Logger } from '../lib/logger.js';
import type { Netns } from '../kernel/netns.js';

export const POOL_PREFIX = 'pool-';
/** The refill waits until no take came for this long (the rest of a run, the client's next command). */
const REFILL_IDLE_MS = 250;

export interface SandboxPoolDeps {
  netns: Netns;
  /** The netns dir (its entries live beside the sandboxes). */
  dir: string;
  size: number;
  /** Ready an entry (lo up); rejects on failure. */
  prepare: (file: string) => Promise<void>;
  logger: Logger;
}

export class SandboxPool {
  private readonly ready: string[] = [];
  /** A refill waiting for its moment. */
  private timer: NodeJS.Timeout | undefined;
  /** A refill making an entry now. */
  private filling = false;
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
    // debounced: every take pushes the refill back
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.schedule(REFILL_IDLE_MS);
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

  /** Remove every entry and stop refilling (daemon stop). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const file of this.ready.splice(0)) this.drop(file);
  }

  private schedule(ms: number): void {
    if (this.stopped || this.failing || this.timer || this.filling || this.ready.length >= this.d.size) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.filling = true;
      void this.fillOne().finally(() => {
        this.filling = false;
        this.schedule(0);
      });
    }, ms);
    this.timer.unref();
  }

  private async fillOne(): Promise<void> {
    const file = path.join(this.d.dir, `${POOL_PREFIX}${crypto.randomBytes(6).toString('hex')}`);
    try {
      this.d.netns.create(file);
      await this.d.prepare(file);
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
