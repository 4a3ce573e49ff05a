/**
 * A few container dirs made ahead (decision 62), so that a create renames one into place instead
 * of making ten inodes: each mkdir or file creation on this VM's ext4 waits for the journal
 * (0.05–1 ms each, more while another writer's fsync commits it), and they were the longest
 * part of a create's path (its network was made sooner). Size 0: off.
 *
 * Entries are tsnet's own, `<root>/container-pool/<12 hex>`, each laid out as a container dir
 * (./container-dirs.ts):
 * - a take hands one entry to one create, which renames it to `<root>/containers/<id>` on its
 *   file thread (one metadata operation); a failed rename falls back to making the dirs;
 * - the daemon's stop removes every entry (after a fill under way);
 * - the start removes whatever is in the pool's dir (what a killed daemon left, possibly
 *   half made; also with size 0) before it fills: an entry is never reused across daemons;
 * - a crash after the rename leaves a container dir without a record, which the start-up sweep
 *   removes as before.
 * Entries are made on a file thread of their own (never queued before a create's work), one at
 * a time, from the moment the create that took one is done (`refillSoon`; at the latest
 * REFILL_DELAY_MS after the take, src/lib/refill-schedule.ts). In a burst faster than that the pool empties and creates make
 * their dirs as without a pool.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../lib/logger.js';
import type { FileThread } from '../../store/file-thread.js';
import { containerDirOps } from './container-dirs.js';
import { dirLayout } from './paths.js';
import { RefillSchedule } from '../../lib/refill-schedule.js';

export interface DirPoolDeps {
  /** The pool's own dir (`<root>/container-pool`): everything in it is the pool's. */
  dir: string;
  /** Where taken entries go (`<root>/containers`): made at start, so that a rename finds it. */
  target: string;
  size: number;
  /** The thread entries are made on (not one a create's work waits behind). */
  thread: FileThread;
  logger: Logger;
}

export class ContainerDirPool {
  private readonly ready: string[] = [];
  private readonly refill: RefillSchedule;

  constructor(private readonly d: DirPoolDeps) {
    this.refill = new RefillSchedule({ wanted: () => this.ready.length < d.size, fill: () => this.fillOne() });
  }

  /** Entries ready now. */
  get available(): number {
    return this.ready.length;
  }

  /**
   * Remove what an earlier daemon left in the pool's dir and start filling (after the start-up
   * sweep). Returns what was removed, for the sweep's log line.
   */
  start(): string[] {
    // (also with size 0: what a daemon with a pool left)
    const removed = this.clear();
    if (this.d.size <= 0) return removed;
    fs.mkdirSync(this.d.dir, { recursive: true, mode: 0o700 });
    fs.mkdirSync(this.d.target, { recursive: true, mode: 0o700 });
    this.refill.start();
    return removed;
  }

  /** A ready entry's path (this caller's alone: rename it into place), or undefined. */
  take(): string | undefined {
    const entry = this.ready.shift();
    this.refill.taken();
    return entry;
  }

  /** The create that took an entry is done: refill now (on the pool's thread). */
  refillSoon(): void {
    this.refill.soon();
  }

  /** Remove every entry and stop refilling (daemon stop); an entry under way is waited for. */
  async stop(): Promise<void> {
    if (this.d.size <= 0) return;
    await this.refill.stop();
    this.ready.length = 0;
    this.clear();
  }

  private clear(): string[] {
    let names: string[] = [];
    try {
      names = fs.readdirSync(this.d.dir);
    } catch {
      return [];
    }
    for (const n of names) fs.rmSync(path.join(this.d.dir, n), { recursive: true, force: true });
    return names.map((n) => `container dir made ahead ${n}`);
  }

  private async fillOne(): Promise<void> {
    const entry = path.join(this.d.dir, crypto.randomBytes(6).toString('hex'));
    try {
      await this.d.thread.run(containerDirOps(dirLayout(entry)));
    } catch (err) {
      fs.rmSync(entry, { recursive: true, force: true });
      this.d.logger.warn(`container dir pool: ${(err as Error).message}; no refill until the next take`);
      throw err;
    }
    if (this.refill.stopped) fs.rmSync(entry, { recursive: true, force: true });
    else this.ready.push(entry);
  }
}
