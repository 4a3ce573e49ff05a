/**
 * openat2(2) with RESOLVE_IN_ROOT, and linkat(2) with AT_SYMLINK_FOLLOW, through koffi: paths
 * inside a directory tree someone else controls are resolved by the kernel as if that tree were
 * the root (`..` and absolute symlinks stay inside it, magic links are refused), so no symlink in
 * it can lead out (what runc's securejoin does, without its races). Synchronous, any thread.
 */
import koffi from 'koffi';
import { TsnetError } from '../errors/index.js';
import { errnoName } from './errno.js';

export const O_PATH = 0o10000000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_CLOEXEC = 0o2000000;
const RESOLVE_NO_MAGICLINKS = 0x02;
const RESOLVE_IN_ROOT = 0x10;
const SYS_OPENAT2 = 437; // x86_64 (and every architecture since 5.6: the unified syscall table)
const AT_SYMLINK_FOLLOW = 0x400;
const AT_FDCWD = -100;

export interface InRoot {
  /**
   * Open `path` (absolute or relative, `..` allowed) inside the tree whose root is `rootFd`;
   * symlinks are followed but never out of it. Returns the fd; throws TsnetError with the errno.
   */
  open(rootFd: number, path: string, flags: number): number;
  /** Hard-link the object `fd` refers to (an O_PATH fd is fine) as `newPath` (not followed). */
  linkFd(fd: number, newPath: string): void;
}

export function loadInRoot(): InRoot {
  const lib = koffi.load('libc.so.6');
  const syscall = lib.func('long syscall(long nr, ...)');
  const linkat = lib.func('int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)');
  const fail = (what: string): never => {
    const errno = errnoName(koffi.errno() as number);
    throw new TsnetError('TSNET_SYSCALL', `${what}: ${errno}`, { details: { errno } });
  };
  return {
    open(rootFd, path, flags) {
      const how = Buffer.alloc(24);
      how.writeBigUInt64LE(BigInt(flags | O_CLOEXEC), 0);
      how.writeBigUInt64LE(BigInt(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), 16);
      const fd = Number(syscall(SYS_OPENAT2, 'int', rootFd, 'str', path, 'void *', how, 'size_t', 24));
      if (fd < 0) fail(`open ${path}`);
      return fd;
    },
    linkFd(fd, newPath) {
      if ((linkat(AT_FDCWD, `/proc/self/fd/${fd}`, AT_FDCWD, newPath, AT_SYMLINK_FOLLOW) as number) < 0) fail(`link ${newPath}`);
    },
  };
}
