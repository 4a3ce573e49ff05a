/**
 * koffi binding of ioctl(fd, SIOCOUTQ): the bytes a socket has sent that are still queued. On a
 * unix stream socket that is what its peer has not read yet (the sender's buffers stay charged
 * to it until the receiver consumes them). Plain values in; -1 when the ioctl fails.
 */
import koffi from 'koffi';

const SIOCOUTQ = 0x5411;

export interface SocketQueue {
  /** Bytes sent on `fd` and not yet read by the peer; -1 on failure. */
  unread(fd: number): number;
}

export function loadSocketQueue(): SocketQueue {
  const lib = koffi.load('libc.so.6');
  const ioctl = lib.func('int ioctl(int fd, unsigned long request, _Out_ int *value)');
  return {
    unread(fd) {
      const out = [0];
      return (ioctl(fd, SIOCOUTQ, out) as number) < 0 ? -1 : (out[0] as number);
    },
  };
}
