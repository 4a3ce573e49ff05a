/**
 * A netlink socket driven synchronously (socket/sendto/recv through koffi), for short batches
 * of acknowledged requests: all requests of a batch leave in ONE datagram (one sendmsg), and
 * since rtnetlink and nfnetlink handle a request inside the sender's sendmsg, every answer is
 * queued on the socket by the time it returns. The answers are read at once — no event-loop
 * turn per request, no poll(). Each request carries NLM_F_ACK (unless `ack: false`, as the
 * begin/end markers of an nf_tables batch) and its own sequence number; the first request the
 * kernel refused fails the batch with "<op>: <ERRNO> (<kernel's message>)".
 *
 * rtnetlink does not stop at a failed request: the requests after it are still carried out,
 * so a batch must only hold requests that are harmless after an earlier failure, or name
 * their objects so that a failure leaves nothing for the later ones to act on. nfnetlink
 * batches (NFNL_MSG_BATCH_BEGIN … END) are all-or-nothing.
 *
 * The socket belongs to the network namespace of the thread that opened it: open it inside
 * `netns.run(file, …)`. Dumps stay on the asynchronous socket (./conn.ts).
 */
import koffi from 'koffi';
import { TsnetError } from '../../errors/index.js';
import { errnoName } from '../errno.js';
import { SOL_SOCKET } from '../sockopt.js';

export const NETLINK_ROUTE = 0;
export const NETLINK_NETFILTER = 12;

export const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const SO_RCVTIMEO = 20;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
const NLM_F_ACK_TLVS = 0x200;

const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLMSGERR_ATTR_MSG = 1;
const HDR = 16;

/** One request: its message type, flags (REQUEST and ACK are added), body, and what it does (for errors). */
export interface NlRequest {
  type: number;
  flags?: number;
  body: Buffer;
  op: string;
  /** Ask for an acknowledgement (default true). */
  ack?: boolean;
}

/** A message the kernel sent back for a request (not the ack itself). */
export interface NlReply {
  type: number;
  flags: number;
  body: Buffer;
}

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, alen: number): number;
  recv(fd: number, buf: Buffer, len: number, flags: number): number;
  setsockopt(fd: number, level: number, name: number, val: Buffer, len: number): number;
  close(fd: number): number;
}

/** Opens synchronous netlink sockets; made once by the component that needs it (no module state). */
export interface SyncNetlinkOpener {
  /** A socket of `protocol` in the calling thread's current netns. */
  open(protocol: number): SyncNetlink;
  /**
   * A socket another SyncNetlink opened and `release`d (its options set): taken over as is, in
   * the namespace it was opened in (a pool entry's, handed over by the thread that made it).
   */
  adopt(fd: number, protocol: number): SyncNetlink;
}

export function createSyncNetlinkOpener(): SyncNetlinkOpener {
  const lib = koffi.load('libc.so.6');
  const libc: Libc = {
    socket: lib.func('int socket(int domain, int type, int protocol)') as Libc['socket'],
    sendto: lib.func(
      'long sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t alen)',
    ) as Libc['sendto'],
    recv: lib.func('long recv(int fd, void *buf, size_t len, int flags)') as Libc['recv'],
    setsockopt: lib.func('int setsockopt(int fd, int level, int name, const void *val, uint32_t len)') as Libc['setsockopt'],
    close: lib.func('int close(int fd)') as Libc['close'],
  };
  return { open: (protocol) => new SyncNetlink(libc, protocol), adopt: (fd, protocol) => new SyncNetlink(libc, protocol, fd) };
}

const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return b;
};

export class SyncNetlink {
  private fd: number;
  private seq = 1;
  private readonly rbuf = Buffer.alloc(65536);

  /** `fd`: a socket released by another SyncNetlink, taken over (no new socket, no option set). */
  constructor(
    private readonly libc: Libc,
    readonly protocol: number,
    fd?: number,
  ) {
    if (fd !== undefined) {
      this.fd = fd;
      return;
    }
    this.fd = libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
    if (this.fd < 0) throw this.sysError(`open netlink socket (protocol ${protocol})`);
    // The kernel answers within sendmsg; the timeout only guards against a reply that never comes.
    const tv = Buffer.alloc(16);
    tv.writeBigInt64LE(10n, 0);
    libc.setsockopt(this.fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16);
    libc.setsockopt(this.fd, SOL_NETLINK, NETLINK_CAP_ACK, int32(1), 4);
    libc.setsockopt(this.fd, SOL_NETLINK, NETLINK_EXT_ACK, int32(1), 4);
  }

  get closed(): boolean {
    return this.fd < 0;
  }

  close(): void {
    if (this.fd >= 0) this.libc.close(this.fd);
    this.fd = -1;
  }

  /** Hand the socket over (its fd, for `SyncNetlinkOpener.adopt`): this object no longer uses or closes it. */
  release(): number {
    const fd = this.fd;
    if (fd < 0) throw new TsnetError('TSNET_NETLINK', 'release a netlink socket: socket closed');
    this.fd = -1;
    return fd;
  }

  /**
   * Send `reqs` in one datagram and collect the answers: for each request, the messages the
   * kernel sent for it before its ack. Throws TSNET_NETLINK for the first refused request.
   */
  transact(reqs: NlRequest[]): NlReply[][] {
    if (this.fd < 0) throw new TsnetError('TSNET_NETLINK', `${reqs[0]?.op ?? 'netlink'}: socket closed`);
    const first = this.seq;
    const bufs: Buffer[] = [];
    const waiting = new Map<number, number>(); // seq → request index
    reqs.forEach((r, i) => {
      const seq = this.seq++;
      const ack = r.ack !== false;
      const len = HDR + r.body.length;
      const h = Buffer.alloc(HDR);
      h.writeUInt32LE(len, 0);
      h.writeUInt16LE(r.type, 4);
      h.writeUInt16LE((r.flags ?? 0) | NLM_F_REQUEST | (ack ? NLM_F_ACK : 0), 6);
      h.writeUInt32LE(seq, 8);
      h.writeUInt32LE(0, 12);
      bufs.push(h, r.body, Buffer.alloc((4 - (len % 4)) % 4));
      if (ack) waiting.set(seq, i);
    });
    const out = Buffer.concat(bufs);
    const addr = Buffer.alloc(12);
    addr.writeUInt16LE(AF_NETLINK, 0);
    if (this.libc.sendto(this.fd, out, out.length, 0, addr, 12) < 0) throw this.sysError(reqs[0]!.op);
    const replies: NlReply[][] = reqs.map(() => []);
    let failure: TsnetError | undefined;
    while (waiting.size) {
      const n = this.libc.recv(this.fd, this.rbuf, this.rbuf.length, 0);
      if (n < 0) throw this.sysError(`${reqs[waiting.values().next().value!]!.op}: read the answer`);
      for (let off = 0; off + HDR <= n; ) {
        const len = this.rbuf.readUInt32LE(off);
        if (len < HDR || off + len > n) break;
        const type = this.rbuf.readUInt16LE(off + 4);
        const flags = this.rbuf.readUInt16LE(off + 6);
        const seq = this.rbuf.readUInt32LE(off + 8);
        const body = Buffer.from(this.rbuf.subarray(off + HDR, off + len));
        off += (len + 3) & ~3;
        const i = seq - first;
        if (i < 0 || i >= reqs.length) continue; // not ours (an earlier batch's late answer)
        if (type === NLMSG_ERROR || type === NLMSG_DONE) {
          // an ack or refusal; DONE ends a dump (which gets no ack), with an errno of its own
          const errno = body.length >= 4 ? -body.readInt32LE(0) : 0;
          waiting.delete(seq);
          if (errno > 0 && !failure) failure = refusal(reqs[i]!.op, errno, type === NLMSG_ERROR ? flags : 0, body);
        } else {
          replies[i]!.push({ type, flags, body });
        }
      }
    }
    if (failure) throw failure;
    return replies;
  }

  private sysError(op: string): TsnetError {
    const errno = errnoName(koffi.errno() as number);
    return new TsnetError('TSNET_NETLINK', `${op}: ${errno}`, { details: { op, errno } });
  }
}

/** The kernel's refusal of a request, with its extended-ack message when it sent one. */
function refusal(op: string, errno: number, flags: number, body: Buffer): TsnetError {
  const name = errnoName(errno);
  let msg = '';
  if (flags & NLM_F_ACK_TLVS) {
    // with NETLINK_CAP_ACK the error carries only the request's header, then the TLVs
    for (let off = 4 + HDR; off + 4 <= body.length; ) {
      const alen = body.readUInt16LE(off);
      const atype = body.readUInt16LE(off + 2) & 0x3fff;
      if (alen < 4) break;
      if (atype === NLMSGERR_ATTR_MSG)
        msg = body
          .subarray(off + 4, off + alen)
          .toString('utf8')
          .replace(/\0.*$/s, '');
      off += (alen + 3) & ~3;
    }
  }
  return new TsnetError('TSNET_NETLINK', `${op}: ${name}${msg ? ` (${msg})` : ''}`, { details: { op, errno: name } });
}
