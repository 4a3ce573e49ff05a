/**
 * Atomic JSON documents: write to a temp file in the same directory, fsync, rename, fsync the
 * directory. A crash leaves either the old or the new document, never a torn one.
 *
 * `writeJsonAtomicVolatile` skips both fsyncs (~7 ms on this machine's ext4, most of a container
 * start) and writes synchronously: the rename is still atomic, so a daemon that is killed leaves
 * the old or the new document (the page cache survives a process crash). Only a power loss or a
 * kernel crash within the file system's commit interval can lose the write — use it for state
 * that a reboot makes stale anyway (a container's running/exited state, a removal intent).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FileThread } from './file-thread.js';

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await (await prepareJsonAtomic(file, value)).commit();
}

/** A durable write whose document is on disk under a temp name until `commit` renames it. */
export interface PreparedWrite {
  /**
   * Rename into place and fsync the directory: from here on the document is the file. With
   * `syncDir: false` the rename is not fsynced (as dockerd's atomic writes): a power loss within
   * the file system's commit interval may lose the rename, never the document's content.
   */
  commit(opts?: { syncDir?: boolean }): Promise<void>;
  /** Remove the temp file (the write is given up). */
  abort(): Promise<void>;
}

/**
 * The first half of writeJsonAtomic: the temp file written and fsynced. Lets a caller overlap the
 * fsync with other work and still make the document visible (the rename) at a moment of its
 * choosing. A crash in between leaves a `.<name>.<pid>.<rand>.tmp` file, which loading skips.
 * With `thread`, the temp file is written and fsynced there (no disk wait on the caller's thread).
 */
export async function prepareJsonAtomic(
  file: string,
  value: unknown,
  opts: { thread?: FileThread } = {},
): Promise<PreparedWrite> {
  const dir = path.dirname(file);
  const tmp = tempPathFor(file);
  // the document is serialised now; only the fsync waits on the thread pool (one hop, not five)
  const text = JSON.stringify(value, null, 2);
  fs.mkdirSync(dir, { recursive: true });
  if (opts.thread) {
    // the whole write on a file thread, after what the caller gave it before (its queue)
    await opts.thread.run([{ op: 'write', path: tmp, data: text, mode: 0o600, fsync: true }]).catch((err: unknown) => {
      fs.rmSync(tmp, { force: true });
      throw err;
    });
  } else {
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeFileSync(fd, text);
      await fsyncFd(fd);
    } catch (err) {
      fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    fs.closeSync(fd);
  }
  return {
    async commit(opts = {}) {
      try {
        fs.renameSync(tmp, file);
      } catch (err) {
        fs.rmSync(tmp, { force: true });
        throw err;
      }
      if (opts.syncDir === false) return;
      const dfd = fs.openSync(dir, 'r');
      try {
        await fsyncFd(dfd);
      } finally {
        fs.closeSync(dfd);
      }
    },
    abort: () => fs.promises.rm(tmp, { force: true }),
  };
}

/** The temp file a document is written to before its rename over `file`: `.<name>.<pid>.<rand>.tmp` beside it (loading skips it). */
export function tempPathFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
}

const fsyncFd = (fd: number): Promise<void> =>
  new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));

export function writeJsonAtomicVolatile(file: string, value: unknown): void {
  const dir = path.dirname(file);
  const tmp = tempPathFor(file);
  try {
    fs.writeFileSync(tmp, JSON.stringify(value, null, 2), { mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !fs.existsSync(dir)) {
      fs.mkdirSync(dir, { recursive: true });
      writeJsonAtomicVolatile(file, value);
      return;
    }
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** readJson, synchronously (start-up loads). */
export function readJsonSync<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.promises.readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Write `text` into a file in place (keeps the inode: the file may be bind-mounted into a
 * container). Synchronous on purpose: these are tiny files on the start path, and four thread
 * pool round trips per file cost more than the writes. Written over the old bytes, then cut to
 * its length — not cut to 0 first: ext4 (auto_da_alloc) starts the writeback of a file cut to
 * 0 and written again when it is closed, which made the close ~0.1–0.6 ms per file (decision 47).
 */
export function rewriteInPlace(file: string, text: string, mode = 0o644): void {
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT, mode);
  try {
    const n = fs.writeSync(fd, text, 0);
    fs.ftruncateSync(fd, n);
  } finally {
    fs.closeSync(fd);
  }
}
