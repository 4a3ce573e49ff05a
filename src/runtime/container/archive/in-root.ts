/**
 * Paths of a container resolved inside its root, never out of it: the kernel resolves each path
 * with RESOLVE_IN_ROOT (src/kernel/openat2.ts); what is then done to the last component goes
 * through `/proc/self/fd/<parent fd>/<name>` — one component under a pinned directory, so a
 * symlink or `..` the container swaps in meanwhile cannot redirect it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TsnetError } from '../../../errors/index.js';
import { type InRoot, O_DIRECTORY, O_PATH } from '../../../kernel/openat2.js';

/** A directory entry under a pinned parent. `name` '' means the parent itself (the root). */
export interface Located {
  parentFd: number;
  name: string;
  /** `/proc/self/fd/<parentFd>/<name>`: a path whose only unpinned step is `name`. */
  at: string;
  /** The container path (symlinks in the parents resolved). */
  abs: string;
}

/** `raw` as an absolute, lexically clean container path (as Docker's filepath.Join("/", p)). */
export function cleanPath(raw: string): string {
  return path.posix.normalize(`/${raw}`).replace(/(.)\/$/, '$1');
}

/** Whether a request path asks for the target of a final symlink (`dir/`, `dir/.`). */
export function followsLast(raw: string): boolean {
  return raw.endsWith('/') || raw.endsWith('/.') || raw === '.';
}

const MAX_LINKS = 40;

export class ContainerFs {
  private readonly opened: number[] = [];

  constructor(
    private readonly inRoot: InRoot,
    readonly rootFd: number,
    private readonly what: string,
  ) {}

  notFound(abs: string): TsnetError {
    return new TsnetError('TSNET_PATH_NOT_FOUND', `Could not find the file ${abs} in container ${this.what}`);
  }

  /** O_PATH fd of a directory (symlinks followed inside the root). Closed by close(). */
  dir(abs: string): number {
    try {
      const fd = this.inRoot.open(this.rootFd, abs, O_PATH | O_DIRECTORY);
      this.opened.push(fd);
      return fd;
    } catch (err) {
      const errno = (err as TsnetError).details?.errno;
      if (errno === 'ENOENT' || errno === 'ENOTDIR') throw this.notFound(abs);
      if (errno === 'ELOOP') throw new TsnetError('TSNET_INVALID_ARGUMENT', `too many levels of symbolic links in ${abs}`);
      throw err;
    }
  }

  /** Any object (final symlink not followed): an O_PATH fd. Closed by close(). */
  object(abs: string): number {
    const fd = this.inRoot.open(this.rootFd, abs, O_PATH | fs.constants.O_NOFOLLOW);
    this.opened.push(fd);
    return fd;
  }

  linkFd(fd: number, newPath: string): void {
    this.inRoot.linkFd(fd, newPath);
  }

  /** The entry `abs` names, its parents resolved, its last component not followed. */
  locate(abs: string): Located {
    if (abs === '/') return { parentFd: this.rootFd, name: '', at: `/proc/self/fd/${this.rootFd}/.`, abs };
    const parent = path.posix.dirname(abs);
    const name = path.posix.basename(abs);
    const parentFd = this.dir(parent);
    return { parentFd, name, at: `/proc/self/fd/${parentFd}/${name}`, abs: path.posix.join(this.real(parent), name) };
  }

  /**
   * The container path `abs` leads to with every symlink followed inside the root (Docker's
   * linkTarget; also where `dir/` points). Missing components are kept as they are.
   */
  real(abs: string): string {
    const todo = abs.split('/').filter(Boolean);
    const done: string[] = [];
    let links = 0;
    while (todo.length) {
      const c = todo.shift()!;
      if (c === '.') continue;
      if (c === '..') {
        done.pop();
        continue;
      }
      let target: string | undefined;
      let parentFd: number | undefined;
      try {
        parentFd = this.dir(`/${done.join('/')}`);
        const at = `/proc/self/fd/${parentFd}/${c}`;
        if (fs.lstatSync(at).isSymbolicLink()) target = fs.readlinkSync(at);
      } catch {
        /* missing: keep the name */
      } finally {
        if (parentFd !== undefined) this.release(parentFd);
      }
      if (target === undefined) {
        done.push(c);
        continue;
      }
      if (++links > MAX_LINKS) throw new TsnetError('TSNET_INVALID_ARGUMENT', `too many levels of symbolic links in ${abs}`);
      if (target.startsWith('/')) done.length = 0;
      todo.unshift(...target.split('/').filter(Boolean));
    }
    return `/${done.join('/')}`;
  }

  /**
   * `mkdir -p` (or, with `file`, make an empty file at the end) inside the root; `abs` has no
   * symlinks left (from real()). For a mount point of a stopped container.
   */
  mkdirAll(abs: string, file = false): void {
    const parts = abs.split('/').filter(Boolean);
    for (let i = 0; i < parts.length; i++) {
      const last = i === parts.length - 1;
      const parentFd = this.dir(`/${parts.slice(0, i).join('/')}`);
      const at = `/proc/self/fd/${parentFd}/${parts[i]}`;
      try {
        if (last && file)
          fs.closeSync(fs.openSync(at, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o644));
        else fs.mkdirSync(at, 0o755);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      } finally {
        this.release(parentFd);
      }
    }
  }

  /** Close one fd from dir() or object() now. */
  release(fd: number): void {
    const i = this.opened.indexOf(fd);
    if (i < 0) return;
    this.opened.splice(i, 1);
    fs.closeSync(fd);
  }

  close(): void {
    for (const fd of this.opened.splice(0)) fs.closeSync(fd);
  }
}
