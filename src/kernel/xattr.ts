/**
 * koffi binding of fgetxattr(2): one extended attribute of an open file. Plain values in; a
 * missing attribute (ENODATA, or a file system without xattrs) is `undefined`, any other
 * failure a TsnetError with its errno. (By fd: a `/proc/self/fd/N` path names a symlink to
 * lgetxattr, and following paths is what the callers avoid.)
 */
import koffi from 'koffi';
import { TsnetError } from '../errors/index.js';
import { errnoName } from './errno.js';

export interface Xattr {
  /** The attribute's value (at most 4 KiB), or undefined when the file has none of that name. */
  get(fd: number, name: string): Buffer | undefined;
}

const ABSENT = new Set(['ENODATA', 'EOPNOTSUPP']);

export function loadXattr(): Xattr {
  const lib = koffi.load('libc.so.6');
  const fgetxattr = lib.func('long fgetxattr(int fd, const char *name, _Out_ void *value, size_t size)');
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
  };
}
