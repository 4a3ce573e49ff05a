/**
 * A trash dir (`<root>/trash`, `<exec-root>/trash`): a dir to delete — a removed container's dir,
 * an exited container's bundle — is renamed into it (one rename, atomic) and deleted in the
 * background, so no request waits on a walk of the tree and its unlinks. A crash between the
 * rename and the end of the deletion leaves it in the trash, which `empty()` removes at daemon
 * start, before the socket listens.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Failpoint } from '../lib/failpoints.js';

export class Trash {
  /** Deletions running in the background, by trash entry name. */
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    /** The trash dir; on the same file system as what goes into it (a rename cannot cross one). */
    readonly dir: string,
    private readonly warn: (message: string) => void,
    private readonly failpoint?: Failpoint,
  ) {}

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
    const done: Promise<void> = fs.promises
      .rm(dest, { recursive: true, force: true })
      .catch((err: Error) => this.warn(`remove ${dest}: ${err.message}`))
      .finally(() => this.running.delete(entry));
    this.running.set(entry, done);
  }

  /**
   * Start-up: delete what a crash left in the trash (not what this daemon is deleting already);
   * returns the names removed.
   */
  empty(): string[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir).filter((n) => !this.running.has(n));
    } catch {
      return []; // no trash yet
    }
    for (const name of names) fs.rmSync(path.join(this.dir, name), { recursive: true, force: true });
    return names;
  }
}
