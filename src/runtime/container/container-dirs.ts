/**
 * A new container's dirs under --root (paths.ts `dirLayout`): the dir itself (0700), its overlay
 * dirs (upper, work, the rootfs mount point: 0755, as the upper dir's mode becomes the
 * container root's mode), its empty log and its empty etc files (hosts, hostname, resolv.conf:
 * a prelaunched tsnet-init bind-mounts them before the start writes them in place, and a start
 * writes into them without making an inode on its thread). Made on a file thread when there is
 * one; made ahead by ./dir-pool.ts.
 */
import path from 'node:path';
import { applyFileOp, type FileOp } from '../../store/file-ops.js';
import type { FileThread } from '../../store/file-thread.js';
import type { DirLayout } from './paths.js';

export function containerDirOps(p: DirLayout): FileOp[] {
  return [
    { op: 'mkdir', path: p.dir, mode: 0o700, recursive: true },
    { op: 'mkdir', path: path.dirname(p.upper), mode: 0o755 },
    ...[p.upper, p.work, p.rootfs].map((d): FileOp => ({ op: 'mkdir', path: d, mode: 0o755 })),
    { op: 'write', path: p.log, data: '', mode: 0o640 },
    ...[p.hosts, p.hostname, p.resolvConf].map((f): FileOp => ({ op: 'write', path: f, data: '', mode: 0o644 })),
  ];
}

/** Run file operations on the thread, or synchronously where there is none. */
export function runFileOps(ops: FileOp[], files: FileThread | undefined): Promise<void> {
  if (files) return files.run(ops);
  try {
    for (const o of ops) applyFileOp(o);
    return Promise.resolve();
  } catch (err) {
    return Promise.reject(err);
  }
}
