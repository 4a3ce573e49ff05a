/** getsockopt(2) through koffi, for the few callers that read a socket option by fd. */
import type koffi from 'koffi';

type Lib = ReturnType<typeof koffi.load>;

export const SOL_SOCKET = 1;

export type Getsockopt = (fd: number, level: number, name: number, val: Buffer, len: Buffer) => number;

export function bindGetsockopt(lib: Lib): Getsockopt {
  return lib.func('int getsockopt(int fd, int level, int name, void *val, void *len)') as Getsockopt;
}
