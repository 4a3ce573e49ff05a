/**
 * The rtnetlink requests of a container's join written straight into bytes: the veth pair's
 * create, the host end's alias and port options, an address, a link's up, a route. The
 * `netlink` package builds the same messages from objects through generic per-attribute
 * closures (`putObject`, an AttrStream of small Buffers): ~120 µs per join warm and ~600 µs in
 * a fresh daemon's first creates, against a few µs here (decision 52). The bytes are the
 * package's, attribute for attribute and in the same order (test/unit/kernel/netlink-wire.test.ts
 * checks them against it), so the kernel sees the same requests.
 *
 * Layout as the package's AttrStream: every attribute starts 4-aligned (zero padding before it),
 * its length field is unpadded, nothing follows the last one; a nested attribute's length
 * covers its contents up to the end of its last attribute.
 */

export const RTM_NEWLINK = 16;
export const RTM_SETLINK = 19;
export const RTM_NEWADDR = 20;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;

const IFF_UP = 1;

export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_MASTER = 10;
export const IFLA_LINKINFO = 18;
export const IFLA_IFALIAS = 20;
export const IFLA_AF_SPEC = 26;
export const IFLA_NET_NS_FD = 28;
export const IFLA_NUM_TX_QUEUES = 31;
export const IFLA_NUM_RX_QUEUES = 32;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const IFLA_INFO_SLAVE_KIND = 4;
const IFLA_INFO_SLAVE_DATA = 5;
const VETH_INFO_PEER = 1;
const IFLA_BRPORT_MODE = 4;
const IFLA_BRPORT_LEARNING = 8;

const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_BROADCAST = 4;
const IFA_F_NODAD = 0x02;

const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PRIORITY = 6;
const RTA_PREFSRC = 7;
const RTA_TABLE = 15;

/** One message body under construction (header structs and attributes), in one buffer. */
export class AttrWriter {
  private buf: Buffer;
  private off = 0;

  constructor(size = 512) {
    this.buf = Buffer.alloc(size);
  }

  private room(n: number): void {
    if (this.off + n + 3 <= this.buf.length) return;
    const bigger = Buffer.alloc(Math.max(this.buf.length * 2, this.off + n + 64));
    this.buf.copy(bigger, 0, 0, this.off);
    this.buf = bigger;
  }

  private align(): void {
    // the buffer is zeroed: skipping to the boundary writes the padding
    this.off = (this.off + 3) & ~3;
  }

  /** A fixed header struct (ifinfomsg, ifaddrmsg, rtmsg): raw bytes at an aligned offset. */
  raw(b: Uint8Array): this {
    this.room(b.length + 3);
    this.align();
    this.buf.set(b, this.off);
    this.off += b.length;
    return this;
  }

  attr(type: number, payload: Uint8Array): this {
    this.room(payload.length + 8);
    this.align();
    this.buf.writeUInt16LE(4 + payload.length, this.off);
    this.buf.writeUInt16LE(type & 0x3fff, this.off + 2);
    this.buf.set(payload, this.off + 4);
    this.off += 4 + payload.length;
    return this;
  }

  u32(type: number, n: number): this {
    this.room(12);
    this.align();
    this.buf.writeUInt16LE(8, this.off);
    this.buf.writeUInt16LE(type, this.off + 2);
    this.buf.writeUInt32LE(n >>> 0, this.off + 4);
    this.off += 8;
    return this;
  }

  u8(type: number, n: number): this {
    this.room(12);
    this.align();
    this.buf.writeUInt16LE(5, this.off);
    this.buf.writeUInt16LE(type, this.off + 2);
    this.buf.writeUInt8(n, this.off + 4);
    this.off += 5;
    return this;
  }

  /** A NUL-terminated UTF-8 string. */
  str(type: number, s: string): this {
    const len = Buffer.byteLength(s) + 1;
    this.room(len + 8);
    this.align();
    this.buf.writeUInt16LE(4 + len, this.off);
    this.buf.writeUInt16LE(type, this.off + 2);
    this.buf.write(s, this.off + 4);
    this.buf[this.off + 4 + len - 1] = 0;
    this.off += 4 + len;
    return this;
  }

  /** A nested attribute whose contents `fill` writes. */
  nest(type: number, fill: (w: this) => void): this {
    this.room(8);
    this.align();
    const start = this.off;
    this.buf.writeUInt16LE(type, start + 2);
    this.off += 4;
    fill(this);
    this.buf.writeUInt16LE(this.off - start, start);
    return this;
  }

  done(): Buffer {
    return this.buf.subarray(0, this.off);
  }
}

/** struct ifinfomsg: family 0, type 0, index, flags, change. */
function ifinfomsg(index: number, up: boolean): Buffer {
  const b = Buffer.alloc(16);
  b.writeInt32LE(index, 4);
  if (up) {
    b.writeUInt32LE(IFF_UP, 8);
    b.writeUInt32LE(IFF_UP, 12);
  }
  return b;
}

/** How a link is named in a request: by index in the ifinfomsg, or by name (IFLA_IFNAME). */
export type WireLinkRef = string | number;

const indexOf = (ref: WireLinkRef): number => (typeof ref === 'number' ? ref : 0);

function nameAttr(w: AttrWriter, ref: WireLinkRef): void {
  if (typeof ref === 'string') w.str(IFLA_IFNAME, ref);
}

export interface WireCommon {
  mtu?: number;
  /** 6 bytes */
  mac?: Buffer;
}

function common(w: AttrWriter, o: WireCommon): void {
  if (o.mtu !== undefined) w.u32(IFLA_MTU, o.mtu);
  if (o.mac !== undefined) w.attr(IFLA_ADDRESS, o.mac);
}

/**
 * One tx and one rx queue for each end, asked in the create (decision 54). A veth's queue counts
 * default to the number of possible CPUs, and `veth_newlink` then cuts each end's real tx
 * queues to one (`veth_init_queues`) — a cut that, on a registered device under RTNL, waits for
 * an expedited RCU grace period (`netif_set_real_num_tx_queues` → `synchronize_net`): two waits
 * per pair on a machine with more than one CPU (0.03–8 ms each, measured on a loaded 2-vCPU box),
 * inside the create's request. Born with one queue, neither end is cut: the same real queue
 * counts as before, no wait. (Only `ethtool -L` above one channel is lost: the allocated count.)
 */
function singleQueues(w: AttrWriter): void {
  w.u32(IFLA_NUM_TX_QUEUES, 1);
  w.u32(IFLA_NUM_RX_QUEUES, 1);
}

/** RTM_NEWLINK body of a veth pair: the peer's name, mtu, mac and netns; the host end's, its master and up. */
export function vethCreate(
  name: string,
  peer: WireCommon & { name: string; netnsFd?: number },
  host: WireCommon & { master?: number; up?: boolean },
): Buffer {
  const w = new AttrWriter();
  w.raw(ifinfomsg(0, host.up === true));
  w.str(IFLA_IFNAME, name);
  common(w, host);
  singleQueues(w);
  w.nest(IFLA_LINKINFO, (li) => {
    li.str(IFLA_INFO_KIND, 'veth');
    li.nest(IFLA_INFO_DATA, (d) =>
      d.nest(VETH_INFO_PEER, (p) => {
        p.raw(ifinfomsg(0, false));
        p.str(IFLA_IFNAME, peer.name);
        common(p, peer);
        singleQueues(p);
        if (peer.netnsFd !== undefined) p.u32(IFLA_NET_NS_FD, peer.netnsFd);
      }),
    );
  });
  if (host.master !== undefined) w.u32(IFLA_MASTER, host.master);
  return w.done();
}

/** IFLA_AF_SPEC payload entries by address family (e.g. AF_INET6 → its attributes). */
export type AfSpec = ReadonlyMap<number, Buffer>;

function afSpecAttr(w: AttrWriter, afSpec: AfSpec): void {
  w.nest(IFLA_AF_SPEC, (n) => {
    for (const [af, payload] of afSpec) n.attr(af, payload);
  });
}

/** RTM_NEWLINK body on an existing bridge port: its port options, alias and IFLA_AF_SPEC. */
export function linkAndPort(
  ref: WireLinkRef,
  port: { mode?: number; learning?: number },
  alias: string | undefined,
  afSpec: AfSpec | undefined,
): Buffer {
  const w = new AttrWriter();
  w.raw(ifinfomsg(indexOf(ref), false));
  nameAttr(w, ref);
  if (port.mode !== undefined || port.learning !== undefined)
    w.nest(IFLA_LINKINFO, (li) => {
      li.str(IFLA_INFO_SLAVE_KIND, 'bridge');
      li.nest(IFLA_INFO_SLAVE_DATA, (d) => {
        if (port.mode !== undefined) d.u8(IFLA_BRPORT_MODE, port.mode);
        if (port.learning !== undefined) d.u8(IFLA_BRPORT_LEARNING, port.learning);
      });
    });
  if (alias !== undefined) w.str(IFLA_IFALIAS, alias);
  if (afSpec) afSpecAttr(w, afSpec);
  return w.done();
}

/** RTM_SETLINK body bringing a link up, with an IFLA_AF_SPEC when given. */
export function linkUp(ref: WireLinkRef, afSpec: AfSpec | undefined): Buffer {
  const w = new AttrWriter(64);
  w.raw(ifinfomsg(indexOf(ref), true));
  nameAttr(w, ref);
  if (afSpec) afSpecAttr(w, afSpec);
  return w.done();
}

/** RTM_NEWADDR body: local and address the same, the IPv4 broadcast when given. */
export function addressAdd(
  af: number,
  prefixLen: number,
  index: number,
  ip: Buffer,
  opts: { broadcast?: Buffer; noDad?: boolean },
): Buffer {
  const w = new AttrWriter(96);
  const h = Buffer.alloc(8);
  h.writeUInt8(af, 0);
  h.writeUInt8(prefixLen, 1);
  if (opts.noDad) h.writeUInt8(IFA_F_NODAD, 2);
  h.writeUInt32LE(index >>> 0, 4);
  w.raw(h);
  w.attr(IFA_LOCAL, ip);
  w.attr(IFA_ADDRESS, ip);
  if (opts.broadcast) w.attr(IFA_BROADCAST, opts.broadcast);
  return w.done();
}

/** An rtmsg and the route attributes tsnet sends, in the order it sends them. */
export interface WireRoute {
  family: number;
  dstLen: number;
  /** rtm_table: the table when under 256, else 0 (RT_TABLE_UNSPEC; RTA_TABLE says it). */
  rtmTable: number;
  protocol: number;
  scope: number;
  type: number;
  /** rtm_flags */
  flags?: number;
  table: number;
  dst?: Buffer;
  gateway?: Buffer;
  prefsrc?: Buffer;
  priority?: number;
  oif?: number;
}

/** RTM_NEWROUTE / RTM_DELROUTE body. */
export function route(r: WireRoute): Buffer {
  const w = new AttrWriter(128);
  const h = Buffer.alloc(12);
  h.writeUInt8(r.family, 0);
  h.writeUInt8(r.dstLen, 1);
  h.writeUInt8(r.rtmTable, 4);
  h.writeUInt8(r.protocol, 5);
  h.writeUInt8(r.scope, 6);
  h.writeUInt8(r.type, 7);
  if (r.flags) h.writeUInt32LE(r.flags >>> 0, 8);
  w.raw(h);
  w.u32(RTA_TABLE, r.table);
  if (r.dst) w.attr(RTA_DST, r.dst);
  if (r.gateway) w.attr(RTA_GATEWAY, r.gateway);
  if (r.prefsrc) w.attr(RTA_PREFSRC, r.prefsrc);
  if (r.priority !== undefined) w.u32(RTA_PRIORITY, r.priority);
  if (r.oif !== undefined) w.u32(RTA_OIF, r.oif);
  return w.done();
}
