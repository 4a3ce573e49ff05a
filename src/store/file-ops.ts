/**
 * The file operations of a file thread (./file-thread.ts), applied synchronously: on the thread,
 * or on the caller's thread where there is none.
 */
import fs from 'node:fs';
import { unlinkIfThere } from '../lib/quiet-fs.js';
import { rewriteInPlace } from './atomic-file.js';

export type FileOp =
  | { op: 'mkdir'; path: string; mode: number; recursive?: boolean }
  /** Create (or truncate; `exclusive`: only create) and write a file; `fsync` before it is closed. */
  | { op: 'write'; path: string; data: string; mode: number; fsync?: boolean; exclusive?: boolean }
  | { op: 'rename'; from: string; to: string }
  /**
   * Write a file in place (created if missing, cut to `data`'s length): no new inode when it is
   * there. Not atomic: for small documents written at one length (a reader of a crash's leftover
   * sees the old or the new bytes of one page).
   */
  | { op: 'overwrite'; path: string; data: string; mode: number }
  /** Remove a file (one that is not there is no failure). */
  | { op: 'unlink'; path: string };

/** A file written whole at `temp` and renamed over `target` (readers see the old or the new one). */
export function writeThenRename(
  temp: string,
  target: string,
  data: string,
  opts: { mode: number; exclusive?: boolean },
): FileOp[] {
  return [
    { op: 'write', path: temp, data, mode: opts.mode, ...(opts.exclusive ? { exclusive: true } : {}) },
    { op: 'rename', from: temp, to: target },
  ];
}

export function applyFileOp(o: FileOp): void {
  switch (o.op) {
    case 'mkdir':
      fs.mkdirSync(o.path, { mode: o.mode, recursive: o.recursive === true });
      return;
    case 'write': {
      const fd = fs.openSync(o.path, o.exclusive ? 'wx' : 'w', o.mode);
      try {
        if (o.data.length) fs.writeFileSync(fd, o.data);
        if (o.fsync) fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      return;
    }
    case 'rename':
      fs.renameSync(o.from, o.to);
      return;
    case 'overwrite':
      rewriteInPlace(o.path, o.data, o.mode);
      return;
    case 'unlink':
      unlinkIfThere(o.path);
      return;
  }
}
