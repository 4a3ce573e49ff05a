/**
 * koffi binding of fgetxattr(2) and fsetxattr(2): one extended attribute of an open file. Plain
 * values in; a missing attribute (ENODATA, or a file system without xattrs) is `undefined`, a
 * set the file system or the kernel refuses (EOPNOTSUPP, EPERM) is `false`, any other failure a
 * TsnetError with its errno. (By fd: a `/proc/self/fd/N` path names a symlink to l*xattr, and
 * following paths is what the callers avoid.)
 */
import koffi from 'koffi';
import { TsnetError } from '../errors/index.js';
import { errnoName } from './errno.js';

export interface XattrReader {
  /** The attribute's value (at most 4 KiB), or undefined when the file has none of that name. */
  get(fd: number, name: string): Buffer | undefined;
}

export interface Xattr extends XattrReader {
  /** Set (create or replace) the attribute; false when the file system or the kernel refuses it. */
  set(fd: number, name: string, value: Buffer): boolean;
}

const ABSENT = new Set(['ENODATA', 'EOPNOTSUPP']);
const REFUSED = new Set(['EOPNOTSUPP', 'EPERM']);

export function loadXattr(): Xattr {
  const lib = koffi.load('libc.so.6');
  const fgetxattr = lib.func('long fgetxattr(int fd, const char *name, _Out_ void *value, size_t size)');
  const fsetxattr = lib.func('int fsetxattr(int fd, const char *name, const void *value, size_t size, int flags)');
  // one scratch buffer per binding (a tar walk asks once per file: no 4 KiB allocation each time)
  const buf = Buffer.alloc(4096);
  return {
    get(fd, name) {
      const n = fgetxattr(fd, name, buf, buf.length) as number;
      if (n >= 0) return Buffer.from(buf.subarray(0, n));
      const errno = errnoName(koffi.errno() as number);
      if (ABSENT.has(errno)) return undefined;
      throw new TsnetError('TSNET_SYSCALL', `fgetxattr fd ${fd} ${name}: ${errno}`, { details: { errno } });
    },
    set(fd, name, value) {
      if ((fsetxattr(fd, name, value, value.length, 0) as number) === 0) return true;
      const errno = errnoName(koffi.errno() as number);
      if (REFUSED.has(errno)) return false;
      throw new TsnetError('TSNET_SYSCALL', `fsetxattr fd ${fd} ${name}: ${errno}`, { details: { errno } });
    },
  };
}
