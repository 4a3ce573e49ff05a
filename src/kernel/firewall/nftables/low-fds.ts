/**
 * Low fd slots for libnftables contexts (docs/architecture.md decision 28).
 *
 * libnftables waits for the kernel's acks with select(), and glibc aborts the whole process
 * ("bit out of range 0 - FD_SETSIZE on fd_set") when the context's netlink socket has an fd
 * number ≥ 1024 — which any new socket gets once the daemon holds ~1000 fds (each container's
 * DNS resolver holds two). So the socket of every context is moved onto a low fd number that
 * was reserved while the daemon was young:
 *
 * - `reserve`: a few `/dev/null` fds opened at start (they get the lowest numbers free then).
 * - `adopt(ctx)`: right after `nft_ctx_new`, the context's socket (wherever it landed) is
 *   `dup3`ed onto a reserved number — which atomically replaces the placeholder, so no other
 *   thread can take the number in between — and the context is pointed at it.
 * - `release(ctx)`: before `nft_ctx_free`, the socket is duplicated to an ordinary fd that the
 *   free (on a worker thread) closes, and the placeholder is `dup3`ed back onto the slot.
 *   Closing a netfilter socket can take 5–20 ms (the kernel waits for RCU), which stays off
 *   the main thread.
 *
 * The context's fd is read from libnftables' and libmnl's structs (`nft_ctx.nf_sock` is the first
 * member, `mnl_socket.fd` the first of that; the same since libnftables 0.9) and checked with
 * getsockopt to be an AF_NETLINK / NETLINK_NETFILTER socket: when it is not (another layout),
 * `adopt` says so and the caller does not use the context.
 */
import fs from 'node:fs';
import koffi from 'koffi';
import { AF_NETLINK, NETLINK_NETFILTER } from '../../netlink/sync-socket.js';
import { bindGetsockopt, SOL_SOCKET } from '../../sockopt.js';

/** glibc's fd_set size: select() on an fd at or above this aborts the process. */
export const FD_SETSIZE = 1024;

const F_DUPFD_CLOEXEC = 1030;
const O_CLOEXEC = 0o2000000;
const SO_PROTOCOL = 38;
const SO_DOMAIN = 39;

export interface LowFdSlots {
  /** Reserved numbers not in use by a context now. */
  readonly free: number;
  /** Move a fresh context's socket onto a reserved low fd. False: no slot free, or an unknown struct layout. */
  adopt(ctx: unknown): boolean;
  /** Give an adopted context's slot back; call right before freeing the context. */
  release(ctx: unknown): void;
}

/** Low fd numbers held by `/dev/null` placeholders, for slots made later (e.g. on another thread). */
export interface ReservedLowFds {
  placeholder: number;
  slots: number[];
}

/** Reserve `count` low fds now (call at daemon start, before fds pile up), for createLowFdSlots. */
export function reserveLowFds(count: number): ReservedLowFds {
  const placeholder = fs.openSync('/dev/null', 'r');
  const slots: number[] = [];
  for (let i = 0; i < count; i++) {
    const fd = fs.openSync('/dev/null', 'r');
    if (fd < FD_SETSIZE) slots.push(fd);
    else fs.closeSync(fd);
  }
  return { placeholder, slots };
}

/**
 * Slots on low fds: `count` reserved now (call at daemon start, before fds pile up), or fds
 * reserved earlier (reserveLowFds: a thread that starts later gets numbers the daemon took young).
 */
export function createLowFdSlots(count: number | ReservedLowFds = 6): LowFdSlots {
  const lib = koffi.load('libc.so.6');
  const dup3 = lib.func('int dup3(int oldfd, int newfd, int flags)') as (a: number, b: number, f: number) => number;
  const fcntl = lib.func('int fcntl(int fd, int cmd, int arg)') as (fd: number, cmd: number, arg: number) => number;
  const close = lib.func('int close(int fd)') as (fd: number) => number;
  const getsockopt = bindGetsockopt(lib);

  const { placeholder, slots } = typeof count === 'number' ? reserveLowFds(count) : { ...count, slots: [...count.slots] };
  const adopted = new Set<number>();

  const sockOpt = (fd: number, name: number): number => {
    const val = Buffer.alloc(4);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(4);
    return getsockopt(fd, SOL_SOCKET, name, val, len) === 0 ? val.readInt32LE(0) : -1;
  };
  /** The context's `struct mnl_socket *`, or null. */
  const mnlSocket = (ctx: unknown): unknown => (ctx ? (koffi.decode(ctx, 'void *') as unknown) : null);

  return {
    get free() {
      return slots.length;
    },
    adopt(ctx) {
      const sock = mnlSocket(ctx);
      if (!sock) return false;
      const fd = koffi.decode(sock, 'int') as number;
      if (sockOpt(fd, SO_DOMAIN) !== AF_NETLINK || sockOpt(fd, SO_PROTOCOL) !== NETLINK_NETFILTER) return false;
      const slot = slots.pop();
      if (slot === undefined) return false;
      if (dup3(fd, slot, O_CLOEXEC) !== slot) {
        slots.push(slot);
        return false;
      }
      koffi.encode(sock, 'int', slot);
      close(fd);
      adopted.add(slot);
      return true;
    },
    release(ctx) {
      const sock = mnlSocket(ctx);
      if (!sock) return;
      const slot = koffi.decode(sock, 'int') as number;
      if (!adopted.has(slot)) return;
      const moved = fcntl(slot, F_DUPFD_CLOEXEC, 0);
      // Without a second fd the free closes the slot itself (on a worker thread): the number
      // may then be taken by anything, so it is not handed out again.
      if (moved < 0) return void adopted.delete(slot);
      koffi.encode(sock, 'int', moved);
      adopted.delete(slot);
      if (dup3(placeholder, slot, O_CLOEXEC) === slot) slots.push(slot);
      else close(slot);
    },
  };
}
