/**
 * Extract a tar stream (`PUT /containers/{id}/archive`) into a directory of a container. The
 * archive is hostile: an entry whose name or hard-link target climbs out of the extraction
 * point, or a symlink whose relative target does, stops the extraction (as Docker's breakout
 * check); every entry is made with one-component calls under its parent dir, which was opened
 * with RESOLVE_IN_ROOT, so symlinks the container holds never lead out of its root. A file's or
 * directory's extended attributes are set as Docker sets them (after the owner: a chown clears a
 * capability), only those an image layer may carry (file capabilities, user.*); one the file
 * system refuses is left out, as Docker's.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TsnetError } from '../../../errors/index.js';
import type { Xattr } from '../../../kernel/xattr.js';
import { keepXattr } from '../../image/layer-extract.js';
import { decompress, TarDigest, type TarEntry, tarEntries } from '../../image/tar-read.js';
import type { ContainerFs } from './in-root.js';

export interface ExtractOptions {
  /** Refuse to replace a directory with a non-directory or the other way round. */
  noOverwriteDirNonDir: boolean;
  /** Owner of everything extracted (copyUIDGID: the container's user); default: the archive's. */
  owner?: { uid: number; gid: number };
  /** Sets the entries' extended attributes. */
  xattr: Xattr;
}

function setXattrs(xattr: Xattr, fd: number, e: TarEntry): void {
  for (const [name, value] of e.xattrs) {
    if (!keepXattr(name)) continue;
    try {
      xattr.set(fd, name, value);
    } catch (err) {
      // the kernel refuses the value (a capability of the wrong size: EINVAL): the archive's fault
      const errno = (err as TsnetError).details?.errno ?? (err as Error).message;
      throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid archive: cannot set ${name} on "${e.path}": ${String(errno)}`);
    }
  }
}

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY, O_RDONLY } = fs.constants;

/** An entry name relative to the extraction point, or a breakout error. '' is the point itself. */
export function entryName(raw: string): string {
  const rel = path.posix.normalize(raw.replace(/^\/+/, '') || '.');
  if (rel === '..' || rel.startsWith('../'))
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid archive: the entry "${raw}" leads out of the extraction point`);
  return rel === '.' ? '' : rel.replace(/\/$/, '');
}

function breakout(entry: string, target: string): TsnetError {
  return new TsnetError(
    'TSNET_INVALID_ARGUMENT',
    `invalid archive: "${entry}" links to "${target}", outside the extraction point`,
  );
}

export async function extractTar(
  cfs: ContainerFs,
  dest: string,
  source: AsyncIterable<Buffer>,
  opts: ExtractOptions,
): Promise<void> {
  const dirTimes: Array<[string, Date]> = [];
  for await (const e of tarEntries(decompress(source, 'the archive'), new TarDigest(), 'the archive')) {
    const rel = entryName(e.path);
    if (rel === '') continue;
    const parentRel = path.posix.dirname(rel);
    const name = path.posix.basename(rel);
    const parentFd = ensureDir(cfs, dest, parentRel);
    try {
      await place(cfs, `/proc/self/fd/${parentFd}/${name}`, e, rel, dest, opts, dirTimes);
    } finally {
      cfs.release(parentFd);
    }
  }
  for (const [dir, mtime] of dirTimes.reverse()) {
    try {
      const located = cfs.locate(dir);
      fs.lutimesSync(located.at, mtime, mtime);
      cfs.release(located.parentFd);
    } catch {
      /* removed meanwhile */
    }
  }
}

/** Make one entry at `at` (its parent pinned). */
async function place(
  cfs: ContainerFs,
  at: string,
  e: TarEntry,
  rel: string,
  dest: string,
  opts: ExtractOptions,
  dirTimes: Array<[string, Date]>,
): Promise<void> {
  const parentRel = path.posix.dirname(rel);
  const owner = opts.owner ?? { uid: e.uid, gid: e.gid };
  clearWay(at, e, rel, opts.noOverwriteDirNonDir);
  switch (e.type) {
    case '5': {
      if (!exists(at)) fs.mkdirSync(at, 0o700);
      const fd = fs.openSync(at, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      try {
        fs.fchownSync(fd, owner.uid, owner.gid);
        setXattrs(opts.xattr, fd, e);
        fs.fchmodSync(fd, e.mode);
      } finally {
        fs.closeSync(fd);
      }
      dirTimes.push([path.posix.join(dest, rel), e.mtime]);
      break;
    }
    case '0': {
      const fd = fs.openSync(at, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
      try {
        for await (const chunk of e.body()) fs.writeSync(fd, chunk);
        fs.fchownSync(fd, owner.uid, owner.gid);
        setXattrs(opts.xattr, fd, e);
        fs.fchmodSync(fd, e.mode);
        fs.futimesSync(fd, e.mtime, e.mtime);
      } finally {
        fs.closeSync(fd);
      }
      break;
    }
    case '2': {
      if (!e.linkpath.startsWith('/')) {
        const lexical = path.posix.normalize(path.posix.join(parentRel, e.linkpath));
        if (lexical === '..' || lexical.startsWith('../')) throw breakout(e.path, e.linkpath);
      }
      fs.symlinkSync(e.linkpath, at);
      fs.lchownSync(at, owner.uid, owner.gid);
      break;
    }
    case '1': {
      const target = entryNameOr(e.linkpath, () => breakout(e.path, e.linkpath));
      const fd = cfs.object(path.posix.join(dest, target));
      try {
        cfs.linkFd(fd, at);
      } finally {
        cfs.release(fd);
      }
      break;
    }
    default:
      // devices and FIFOs: Node has no mknod; they are left out, as in rootless Docker
      break;
  }
}

function entryNameOr(raw: string, bad: () => TsnetError): string {
  try {
    return entryName(raw);
  } catch {
    throw bad();
  }
}

function exists(at: string): boolean {
  try {
    fs.lstatSync(at);
    return true;
  } catch {
    return false;
  }
}

/** Make the parents of an entry as `mkdir -p` inside the container; returns the parent's fd. */
function ensureDir(cfs: ContainerFs, dest: string, rel: string): number {
  if (rel === '.' || rel === '') return cfs.dir(dest);
  try {
    return cfs.dir(path.posix.join(dest, rel));
  } catch (err) {
    if ((err as TsnetError).code !== 'TSNET_PATH_NOT_FOUND') throw err;
  }
  const parentFd = ensureDir(cfs, dest, path.posix.dirname(rel));
  try {
    fs.mkdirSync(`/proc/self/fd/${parentFd}/${path.posix.basename(rel)}`, 0o755);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    cfs.release(parentFd);
  }
  return cfs.dir(path.posix.join(dest, rel));
}

/** Remove what is in the way of an entry (Docker's rules), or refuse. */
function clearWay(at: string, e: TarEntry, rel: string, noOverwriteDirNonDir: boolean): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(at);
  } catch {
    return;
  }
  const isDir = e.type === '5';
  if (isDir && st.isDirectory()) return;
  if (noOverwriteDirNonDir && st.isDirectory() && !isDir)
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `cannot overwrite directory "/${rel}" with non-directory`);
  if (noOverwriteDirNonDir && !st.isDirectory() && isDir)
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `cannot overwrite non-directory "/${rel}" with directory`);
  if (st.isDirectory()) {
    try {
      fs.rmdirSync(at);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOTEMPTY')
        throw new TsnetError('TSNET_INVALID_ARGUMENT', `cannot replace the non-empty directory "/${rel}" with a non-directory`);
      throw err;
    }
  } else fs.unlinkSync(at);
}
