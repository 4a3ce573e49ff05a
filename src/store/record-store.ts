/**
 * A directory of JSON records keyed by id (one file each, atomic writes). The daemon is the only
 * writer; it keeps the records in memory and writes through. Ids are checked before a path is
 * built from them, and when loaded: a record whose id is not 64 hex characters, or does not
 * match its file name, is skipped with a warning and never followed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TsnetError } from '../errors/index.js';
import { unlinkIfThere } from '../lib/quiet-fs.js';
import type { FileThread } from './file-thread.js';
import {
  prepareJsonAtomic,
  readJsonSync,
  tempPathFor,
  writeJsonAtomic,
  writeJsonAtomicVolatile,
  type PreparedWrite,
} from './atomic-file.js';
import { writeThenRename } from './file-ops.js';

const ID = /^[0-9a-f]{64}$/;

/** A tsnet object id: 64 lowercase hex characters (as Docker's). */
export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && ID.test(id);
}

/** Throws unless `id` is a valid id: call before building any path from an id. */
export function checkId(id: unknown, what = 'record'): string {
  if (!isValidId(id)) {
    const shown = JSON.stringify(typeof id === 'string' ? id.slice(0, 80) : id);
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid ${what} id ${shown}: expected 64 hex characters`);
  }
  return id;
}

export class RecordStore<T extends { id: string }> {
  constructor(
    private readonly dir: string,
    private readonly warn: (message: string) => void = () => undefined,
  ) {}

  /**
   * Every record of the dir; call once at start (it also removes temp files of interrupted
   * writes). Read synchronously: at start nothing else runs, and a thousand small files read
   * through the thread pool cost several times the CPU.
   */
  async loadAll(): Promise<T[]> {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(this.dir, 0o700);
    const out: T[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      // a write the daemon was killed in the middle of (atomic-file.ts): never renamed, never seen
      if (name.startsWith('.') && name.endsWith('.tmp')) {
        fs.rmSync(path.join(this.dir, name), { force: true });
        continue;
      }
      if (!name.endsWith('.json') || name.startsWith('.')) continue;
      let rec: T | undefined;
      try {
        rec = readJsonSync<T>(path.join(this.dir, name));
      } catch (err) {
        this.warn(`${path.join(this.dir, name)}: ignored, unreadable: ${(err as Error).message}`);
        continue;
      }
      if (!rec || typeof rec !== 'object') continue;
      if (!isValidId(rec.id) || `${rec.id}.json` !== name) {
        this.warn(
          `${path.join(this.dir, name)}: ignored, its id ${JSON.stringify(String(rec.id).slice(0, 80))} is not 64 hex characters matching the file name`,
        );
        continue;
      }
      out.push(rec);
    }
    return out;
  }

  async save(rec: T): Promise<void> {
    await writeJsonAtomic(path.join(this.dir, `${checkId(rec.id)}.json`), rec);
  }

  /** A durable save in two halves: the fsynced temp file now, the rename at `commit()` (see prepareJsonAtomic). */
  prepare(rec: T, opts?: { thread?: FileThread }): Promise<PreparedWrite> {
    return prepareJsonAtomic(path.join(this.dir, `${checkId(rec.id)}.json`), rec, opts);
  }

  /**
   * Atomic but not fsynced (see writeJsonAtomicVolatile): for state changes a reboot makes stale
   * anyway. A later durable save or a removal supersedes it.
   */
  saveVolatile(rec: T): void {
    writeJsonAtomicVolatile(path.join(this.dir, `${checkId(rec.id)}.json`), rec);
  }

  /**
   * As saveVolatile, written on a file thread (a temp file, then the rename): resolves once it is
   * in place. Writes given to one thread land in the order they were given.
   */
  saveBehind(rec: T, thread: FileThread): Promise<void> {
    const file = path.join(this.dir, `${checkId(rec.id)}.json`);
    return thread.run(writeThenRename(tempPathFor(file), file, JSON.stringify(rec, null, 2), { mode: 0o600 }));
  }

  /**
   * Idempotent. One synchronous unlink (~10 µs): through the thread pool it took three round
   * trips and queued behind whatever the pool was doing — the next create's fsyncs, after a
   * `run --rm` (its removal's network teardown took ~19 ms of wall time for ~2 ms of work).
   */
  async remove(id: string): Promise<void> {
    unlinkIfThere(path.join(this.dir, `${checkId(id)}.json`));
  }

  /**
   * remove, the unlink on a thread of libuv's pool (one round trip): for the teardown after a
   * `run --rm`, which nothing waits for. A synchronous unlink there blocked the daemon's thread
   * on the directory's lock while a file thread created the next create's records in the same
   * directory (0.3–0.8 ms each, three per run, at load 5–8).
   */
  async removeBehind(id: string): Promise<void> {
    try {
      await fs.promises.unlink(path.join(this.dir, `${checkId(id)}.json`));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}
