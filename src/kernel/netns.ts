/**
 * Network namespaces as files (DESIGN "process model" and rule 3).
 * - createNetns(path): a new netns, bind-mounted at `path`, created on the main thread with
 *   unshare(CLONE_NEWNET) and left again with setns before returning.
 * - withNetns(path, fn): run `fn` synchronously with the main thread inside the netns; always
 *   switches back. `fn` must not be async: anything awaited would run in the wrong namespace.
 * Everything is synchronous on purpose.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TsnetError } from '../errors/index.js';
import { isErrno } from './errno.js';
import { unlinkIfThere } from '../lib/quiet-fs.js';
import { CLONE_NEWNET, MNT_DETACH, MS_BIND, MS_MOVE, MS_PRIVATE, type Libc } from './libc.js';

export interface Netns {
  create(file: string): void;
  remove(file: string): void;
  /** remove, with the unmount off the calling thread (Libc.umount2Async). */
  removeAsync(file: string): Promise<void>;
  exists(file: string): boolean;
  run<T>(file: string, fn: () => T): T;
  /**
   * Move the netns mount at `from` to the new file `to` (MS_MOVE: no second mount, no copy),
   * then remove `from`. `to` must not exist. The dir must not be a shared mount (see
   * ensurePrivateDir).
   */
  move(from: string, to: string): void;
  /** Is `file` a bind mount of a network namespace (not a plain file left by a crash)? */
  isNetnsMount(file: string): boolean;
  /**
   * Make `dir` a mount point of its own with private propagation (as Docker does for its netns
   * dir), so each netns bind mount below it is not propagated to every peer mount: keeps the
   * cost of a mount flat as the number of sandboxes grows.
   */
  ensurePrivateDir(dir: string): void;
}

/** One per thread that switches namespaces (components.ts makes the daemon's; a worker makes its own). */
export function createNetnsOps(libc: Libc): Netns {
  /**
   * The namespace to go back to. Outside any switch it is the thread's own, which never changes
   * (every switch goes back): that fd is opened once and kept for the life of the ops (one fd
   * per thread that makes them), because opening /proc/thread-self/ns/net costs 50–220 µs here
   * and a container create switches three or four times. Inside a switch (nested), the current
   * one is opened as before. The caller closes what it gets with `done`.
   */
  let home: number | undefined;
  let depth = 0;
  const own = (): { fd: number; done: () => void } => {
    if (depth > 0) {
      const fd = fs.openSync('/proc/thread-self/ns/net', 'r');
      return { fd, done: () => fs.closeSync(fd) };
    }
    home ??= fs.openSync('/proc/thread-self/ns/net', 'r');
    return { fd: home, done: () => undefined };
  };
  /** The device of nsfs files (the same for every namespace), read once. */
  let nsfsDev: number | undefined;

  const switchTo = <T>(targetFd: number, fn: () => T): T => {
    const back = own();
    try {
      libc.setns(targetFd, CLONE_NEWNET);
      depth++;
      try {
        const out = fn();
        if (out instanceof Promise) {
          throw new TsnetError('TSNET_INTERNAL', 'withNetns callback returned a promise: it must be synchronous');
        }
        return out;
      } finally {
        depth--;
        libc.setns(back.fd, CLONE_NEWNET);
      }
    } finally {
      back.done();
    }
  };

  return {
    create(file) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, '', { flag: 'wx', mode: 0o444 });
      const back = own();
      try {
        try {
          libc.unshare(CLONE_NEWNET);
          libc.mount('/proc/thread-self/ns/net', file, null, MS_BIND, null);
        } finally {
          libc.setns(back.fd, CLONE_NEWNET);
        }
      } catch (err) {
        fs.rmSync(file, { force: true });
        throw new TsnetError('TSNET_NETNS', `create network namespace ${file}: ${(err as Error).message}`, { cause: err });
      } finally {
        back.done();
      }
    },

    remove(file) {
      try {
        libc.umount2(file, MNT_DETACH);
      } catch (err) {
        if (!isErrno(err, 'EINVAL', 'ENOENT')) throw err;
      }
      unlinkIfThere(file);
    },

    async removeAsync(file) {
      try {
        await libc.umount2Async(file, MNT_DETACH);
      } catch (err) {
        if (!isErrno(err, 'EINVAL', 'ENOENT')) throw err;
      }
      unlinkIfThere(file);
    },

    move(from, to) {
      fs.closeSync(fs.openSync(to, 'wx', 0o444));
      try {
        libc.mount(from, to, null, MS_MOVE, null);
      } catch (err) {
        fs.rmSync(to, { force: true });
        throw new TsnetError('TSNET_NETNS', `move network namespace ${from} to ${to}: ${(err as Error).message}`, { cause: err });
      }
      unlinkIfThere(from);
    },

    exists(file) {
      // no exception for a missing file (building one costs more than the stat: a create asks)
      try {
        return fs.statSync(file, { throwIfNoEntry: false })?.isFile() ?? false;
      } catch {
        return false;
      }
    },

    isNetnsMount(file) {
      try {
        // nsfs files all live on the nsfs device; a leftover plain file does not
        nsfsDev ??= fs.statSync('/proc/thread-self/ns/net').dev;
        return fs.statSync(file, { throwIfNoEntry: false })?.dev === nsfsDev;
      } catch {
        return false;
      }
    },

    ensurePrivateDir(dir) {
      fs.mkdirSync(dir, { recursive: true });
      const isMountPoint = fs.statSync(dir).dev !== fs.statSync(path.dirname(dir)).dev || mountedAt(dir);
      if (!isMountPoint) libc.mount(dir, dir, null, MS_BIND, null);
      libc.mount(null, dir, null, MS_PRIVATE, null);
    },

    run(file, fn) {
      let fd: number;
      try {
        fd = fs.openSync(file, 'r');
      } catch (err) {
        throw new TsnetError('TSNET_NETNS', `open network namespace ${file}: ${(err as NodeJS.ErrnoException).code}`, {
          cause: err,
        });
      }
      try {
        return switchTo(fd, fn);
      } finally {
        fs.closeSync(fd);
      }
    },
  };
}

/** Is something mounted exactly at `dir`? (bind mounts of the same fs keep the device number) */
function mountedAt(dir: string): boolean {
  try {
    return fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[4] === dir);
  } catch {
    return false;
  }
}
