/**
 * A trash dir (`<root>/trash`, `<exec-root>/trash`): a dir to delete — a removed container's dir,
 * an exited container's bundle — is renamed into it (one rename, atomic) and deleted in the
 * background, so no request waits on a walk of the tree and its unlinks. A crash between the
 * rename and the end of the deletion leaves it in the trash, which `empty()` removes at daemon
 * start, before the socket listens.
 *
 * The deletions wait for a quiet moment: they start once no discard came for `idleMs`, one entry
 * after another, or at once for the oldest entry when more than `backlog` wait. Deleting a
 * container's dir and bundle costs ~2–4 ms of CPU on ext4 (unlinks and rmdirs through the thread
 * pool); done right after each removal it competed with the next `run`'s create and start for the
 * CPU and the thread pool (decision 41).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Failpoint } from '../lib/failpoints.js';

export interface TrashOptions {
  /** Deletions start once no discard came for this long (ms). */
  idleMs?: number;
  /** More entries than this waiting: the oldest is deleted at once. */
  backlog?: number;
}

export class Trash {
  /** Deletions running in the background, by trash entry name. */
  private readonly running = new Map<string, Promise<void>>();
  /** Entries renamed in whose deletion has not started, oldest first. */
  private readonly waiting: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** A drain (waiting entries deleted one after another) is under way. */
  private draining = false;
  private readonly idleMs: number;
  private readonly backlog: number;

  constructor(
    /** The trash dir; on the same file system as what goes into it (a rename cannot cross one). */
    readonly dir: string,
    private readonly warn: (message: string) => void,
    private readonly failpoint?: Failpoint,
    opts: TrashOptions = {},
  ) {
    this.idleMs = opts.idleMs ?? 250;
    this.backlog = opts.backlog ?? 64;
  }

  /**
   * Move `target` into the trash and delete it in the background. A missing target is fine;
   * when the rename fails otherwise (another file system), `target` is deleted in place, now.
   */
  discard(target: string, name: string): void {
    const entry = `${name}-${crypto.randomBytes(4).toString('hex')}`;
    const dest = path.join(this.dir, entry);
    try {
      fs.renameSync(target, dest);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && !fs.existsSync(this.dir) && fs.existsSync(target)) {
        fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
        this.discard(target, name);
        return;
      }
      if (code !== 'ENOENT') fs.rmSync(target, { recursive: true, force: true });
      return;
    }
    this.failpoint?.('trash.after-rename');
    this.waiting.push(entry);
    if (this.waiting.length > this.backlog) void this.remove(this.waiting.shift()!);
    if (this.timer) this.timer.refresh();
    else {
      this.timer = setTimeout(() => void this.drain(), this.idleMs);
      this.timer.unref();
    }
  }

  /** Delete the waiting entries, one after another (a discard meanwhile pushes the rest back). */
  private async drain(): Promise<void> {
    this.timer = undefined;
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.waiting.length && !this.timer) await this.remove(this.waiting.shift()!);
    } finally {
      this.draining = false;
    }
  }

  private remove(entry: string): Promise<void> {
    const dest = path.join(this.dir, entry);
    const done: Promise<void> = fs.promises
      .rm(dest, { recursive: true, force: true })
      .catch((err: Error) => this.warn(`remove ${dest}: ${err.message}`))
      .finally(() => this.running.delete(entry));
    this.running.set(entry, done);
    return done;
  }

  /**
   * Start-up: delete what a crash left in the trash (not what this daemon is deleting already);
   * returns the names removed.
   */
  empty(): string[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir).filter((n) => !this.running.has(n) && !this.waiting.includes(n));
    } catch {
      return []; // no trash yet
    }
    for (const name of names) fs.rmSync(path.join(this.dir, name), { recursive: true, force: true });
    return names;
  }
}
