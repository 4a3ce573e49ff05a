/**
 * A bound IPv4 TCP socket created synchronously (for the embedded DNS resolver) with raw socket(2)/bind(2) (koffi), for
 * `net.Server.listen({ fd })`.
 *
 * Why: a socket belongs to the network namespace its creating thread was in when socket(2)
 * ran. The resolver's sockets must live in the container's netns, and `inNetns(fn)` only
 * holds the thread there while `fn` runs synchronously. `net.Server.listen({ host, port })`
 * resolves the host with dns.lookup first (a process.nextTick even for IP literals), so its
 * socket would be made after the switch back, in the daemon's netns (measured: it was). With
 * an fd made here inside `fn`, listen(2) can run anywhere afterwards: the namespace is fixed.
 * UDP needs no such help: dgram takes a `lookup` option that can answer synchronously.
 */
import os from 'node:os';
import koffi from 'koffi';
import { TsnetError } from '../errors/index.js';
import { tryParseIp } from '../lib/cidr.js';
import { errnoName } from './errno.js';
import { SOL_SOCKET } from './sockopt.js';

const AF_INET = 2;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SO_REUSEADDR = 2;

/** Create a non-blocking, close-on-exec TCP socket bound to host:port (IPv4) in the calling thread's netns; returns its fd. */
export type TcpBinder = (host: string, port: number) => number;

/** Sockets made and bound in the calling thread's netns (any thread: fds are the process's). */
export interface SocketBinder {
  /** A bound TCP socket (not listening yet: `net.Server.listen({ fd })` does that). */
  tcp: TcpBinder;
  /** A bound UDP socket, for `dgram.Socket.bind({ fd })`. */
  udp(host: string, port: number): number;
  /** The local port a socket is bound to. */
  port(fd: number): number;
  close(fd: number): void;
}

export function createTcpBinder(): TcpBinder {
  return createSocketBinder().tcp;
}

export function createSocketBinder(): SocketBinder {
  const lib = koffi.load('libc.so.6');
  const socket = lib.func('int socket(int domain, int type, int protocol)') as (d: number, t: number, p: number) => number;
  const bind = lib.func('int bind(int fd, const void *addr, uint32_t len)') as (fd: number, addr: Buffer, len: number) => number;
  const close = lib.func('int close(int fd)') as (fd: number) => number;
  const getsockname = lib.func('int getsockname(int fd, _Out_ uint8_t *addr, _Inout_ uint32_t *len)') as (
    fd: number,
    addr: Buffer,
    len: number[],
  ) => number;
  const setsockopt = lib.func('int setsockopt(int fd, int level, int name, const void *val, uint32_t len)') as (
    fd: number,
    level: number,
    name: number,
    val: Buffer,
    len: number,
  ) => number;
  const one = Buffer.alloc(4);
  one.writeInt32LE(1, 0);
  if (os.endianness() !== 'LE') one.writeInt32BE(1, 0);

  const bound = (kind: 'TCP' | 'UDP', host: string, port: number): number => {
    const ip = tryParseIp(host);
    if (ip?.family !== 4) throw new TsnetError('TSNET_INVALID_ARGUMENT', `${kind} bind address must be IPv4, got "${host}"`);
    const fd = socket(AF_INET, (kind === 'TCP' ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      const e = errnoName(koffi.errno() as number);
      throw new TsnetError('TSNET_SYSCALL', `create ${kind} socket for ${host}:${port}: ${e}`, { details: { errno: e } });
    }
    // as Node's own TCP servers: a port whose last connections are in TIME_WAIT binds again (the
    // resolver of a restarted daemon takes its port back, see embedded-dns.ts)
    if (kind === 'TCP') setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, one, one.length);
    const sa = Buffer.alloc(16); // struct sockaddr_in
    if (os.endianness() === 'LE')
      sa.writeUInt16LE(AF_INET, 0); // sin_family, host byte order
    else sa.writeUInt16BE(AF_INET, 0);
    sa.writeUInt16BE(port, 2); // sin_port, network order
    sa.writeUInt32BE(Number(ip.value), 4); // sin_addr, network order
    if (bind(fd, sa, sa.length) < 0) {
      const e = errnoName(koffi.errno() as number);
      close(fd);
      throw new TsnetError('TSNET_SYSCALL', `bind ${kind} socket to ${host}:${port}: ${e}`, { details: { errno: e } });
    }
    return fd;
  };

  return {
    tcp: (host, port) => bound('TCP', host, port),
    udp: (host, port) => bound('UDP', host, port),
    port(fd) {
      const sa = Buffer.alloc(16);
      if (getsockname(fd, sa, [sa.length]) < 0) {
        const e = errnoName(koffi.errno() as number);
        throw new TsnetError('TSNET_SYSCALL', `getsockname of fd ${fd}: ${e}`, { details: { errno: e } });
      }
      return sa.readUInt16BE(2);
    },
    close(fd) {
      close(fd);
    },
  };
}
