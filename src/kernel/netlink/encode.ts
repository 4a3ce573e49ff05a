/**
 * Value encoding for rtnetlink: MAC/IP/CIDR strings to and from the Buffers the `netlink`
 * package wants, and the attributes it leaves to the caller (IFLA_LINKINFO nesting, the veth
 * peer's ifinfomsg, the VXLAN destination port as big-endian u16).
 *
 * Pure functions, no I/O. Malformed input throws TSNET_INVALID_ARGUMENT before any kernel call.
 */
import { AttrStream, ifla, rt, type StreamData } from 'netlink';
import { TsnetError } from '../../errors/index.js';
import { formatIp as formatIpValue, ipFromBytes, ipToBytes, makeCidr, tryParseIp, type IpFamily } from '../../lib/cidr.js';

export type { IpFamily };

export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_BRIDGE = 7;

export function afOf(family: IpFamily): number {
  return family === 4 ? AF_INET : AF_INET6;
}

export function familyOfAf(af: number | undefined): IpFamily | undefined {
  return af === AF_INET ? 4 : af === AF_INET6 ? 6 : undefined;
}

function invalid(what: string, value: unknown): TsnetError {
  return new TsnetError('TSNET_INVALID_ARGUMENT', `invalid ${what}: ${JSON.stringify(value)}`, {
    details: { [what.replace(/\s+/g, '_')]: value },
  });
}

// ---------------------------------------------------------------------------- attributes

/** Serialize a StreamData (what the package's `format*` functions return) to one Buffer. */
export function encodeAttrs(data: StreamData): Buffer {
  const s = new AttrStream();
  s.emit(data);
  return Buffer.concat(s.bufs);
}

/** IFLA_LINKINFO payload: {IFLA_INFO_KIND, IFLA_INFO_DATA?}. The package types `linkinfo` as a raw Buffer. */
export function linkInfo(kind: string, data?: StreamData): Buffer {
  const info: ifla.Info = { kind };
  if (data !== undefined) info.data = encodeAttrs(data);
  return encodeAttrs(ifla.formatInfo(info));
}

/**
 * IFLA_LINKINFO payload that changes the options a master gives its port
 * ({IFLA_INFO_SLAVE_KIND, IFLA_INFO_SLAVE_DATA}), e.g. bridge port hairpin mode.
 * Must be sent with RTM_NEWLINK (RTM_SETLINK ignores IFLA_LINKINFO).
 */
export function slaveInfo(slaveKind: string, slaveData: StreamData): Buffer {
  return encodeAttrs(ifla.formatInfo({ slaveKind, slaveData: encodeAttrs(slaveData) }));
}

/** VETH_INFO_PEER payload: a whole `struct ifinfomsg` followed by the peer's IFLA_* attributes. */
export function vethPeer(attrs: ifla.LinkAttrs, data: rt.Link = {}): Buffer {
  const s = new AttrStream();
  rt.formatLinkMessage({ kind: 'link', data, attrs }, s);
  return Buffer.concat(s.bufs);
}

/** IFLA_EXT_MASK value: leave the link's counters out of an answer (RTEXT_FILTER_SKIP_STATS). */
const RTEXT_FILTER_SKIP_STATS = 1 << 3;

/** An RTM_GETLINK body for `name` whose answer carries no counters (ifinfomsg + IFLA_IFNAME + IFLA_EXT_MASK). */
export function linkByNameRequest(name: string): Uint8Array[] {
  const s = new AttrStream();
  rt.formatLinkMessage({ kind: 'link', data: {}, attrs: { ifname: name, extMask: u32le(RTEXT_FILTER_SKIP_STATS) } }, s);
  return s.bufs;
}

/** IFLA_LINKINFO for a veth pair whose peer gets `peer` attributes (name, netns fd, mtu, mac). */
export function vethLinkInfo(peer: ifla.LinkAttrs): Buffer {
  return linkInfo('veth', ifla.formatVethInfo({ peer: vethPeer(peer) }));
}

export function u16be(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw invalid('port', n);
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
}

export function u32le(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw invalid('u32', n);
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n, 0);
  return b;
}

export function readU32le(b: Buffer | undefined): number | undefined {
  return b && b.length >= 4 ? b.readUInt32LE(0) : undefined;
}

export interface VxlanSpec {
  /** VXLAN network identifier, 0..2^24-1. */
  vni: number;
  /** UDP destination port (4789 for IANA VXLAN). */
  port: number;
  /** Local (source) VTEP address, IPv4 or IPv6. */
  local?: string;
  /** Ifindex of the underlay device (IFLA_VXLAN_LINK). */
  underlayIndex?: number;
  /** Learn remote MACs from received packets. Overlay networks turn this off and program the FDB. */
  learning: boolean;
  ttl?: number;
  /** Answer ARP from the neighbour table (IFLA_VXLAN_PROXY). */
  proxy?: boolean;
  /** Compute UDP checksums on IPv4 (IFLA_VXLAN_UDP_CSUM). */
  udpCsum?: boolean;
}

/** IFLA_INFO_DATA attributes for kind "vxlan". Note IFLA_VXLAN_PORT is big-endian. */
export function vxlanData(spec: VxlanSpec): ifla.Vxlan {
  if (!Number.isInteger(spec.vni) || spec.vni < 0 || spec.vni > 0xffffff) throw invalid('vni', spec.vni);
  const v: ifla.Vxlan = { id: spec.vni, port: u16be(spec.port), learning: spec.learning ? 1 : 0 };
  if (spec.local !== undefined) {
    const ip = parseIp(spec.local);
    if (ip.family === 4) v.local = ip.bytes;
    else v.local6 = ip.bytes;
  }
  if (spec.underlayIndex !== undefined) {
    if (!Number.isInteger(spec.underlayIndex) || spec.underlayIndex <= 0) throw invalid('underlay index', spec.underlayIndex);
    v.link = spec.underlayIndex;
  }
  if (spec.ttl !== undefined) {
    if (!Number.isInteger(spec.ttl) || spec.ttl < 0 || spec.ttl > 255) throw invalid('ttl', spec.ttl);
    v.ttl = spec.ttl;
  }
  if (spec.proxy !== undefined) v.proxy = spec.proxy ? 1 : 0;
  if (spec.udpCsum !== undefined) v.udpCsum = spec.udpCsum ? 1 : 0;
  return v;
}

export interface VxlanInfo {
  vni: number;
  port: number;
  local?: string;
  underlayIndex?: number;
  learning: boolean;
  ttl?: number;
  proxy?: boolean;
}

/** Read back IFLA_INFO_DATA of a vxlan link (the inverse of vxlanData, as far as the kernel reports it). */
export function parseVxlanData(data: Buffer): VxlanInfo {
  const v = ifla.parseVxlan(data);
  const out: VxlanInfo = {
    vni: v.id ?? 0,
    port: v.port && v.port.length >= 2 ? v.port.readUInt16BE(0) : 0,
    learning: (v.learning ?? 0) !== 0,
  };
  const local = v.local ?? v.local6;
  if (local && local.length > 0 && !local.every((x) => x === 0)) out.local = formatIp(local);
  if (v.link) out.underlayIndex = v.link;
  if (v.ttl !== undefined) out.ttl = v.ttl;
  if (v.proxy !== undefined) out.proxy = v.proxy !== 0;
  return out;
}

export type MacvlanMode = 'private' | 'vepa' | 'bridge' | 'passthru' | 'source';

export function macvlanData(mode: MacvlanMode): ifla.Macvlan {
  const modes: Record<MacvlanMode, ifla.MacvlanMode> = {
    private: { private: true },
    vepa: { vepa: true },
    bridge: { bridge: true },
    passthru: { passthru: true },
    source: { source: true },
  };
  const m = modes[mode];
  if (!m) throw invalid('macvlan mode', mode);
  return { mode: ifla.formatMacvlanMode(m) };
}

// ---------------------------------------------------------------------------- MAC

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** 'aa:bb:cc:dd:ee:ff' (any case) → 6-byte Buffer. */
export function macToBuffer(mac: string): Buffer {
  if (typeof mac !== 'string' || !MAC_RE.test(mac)) throw invalid('mac', mac);
  return Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
}

/** Buffer → lowercase 'aa:bb:..' (any length, e.g. 6 for Ethernet). */
export function bufferToMac(b: Buffer | undefined): string {
  if (!b) return '';
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

// ---------------------------------------------------------------------------- IP

export interface ParsedIp {
  family: IpFamily;
  bytes: Buffer;
}

/** Parse an IPv4 or IPv6 address (no prefix, no zone); the parsing is src/lib/cidr.ts's. */
export function parseIp(ip: string): ParsedIp {
  const a = typeof ip === 'string' ? tryParseIp(ip) : undefined;
  if (!a) throw invalid('ip address', ip);
  return { family: a.family, bytes: ipToBytes(a) };
}

export function ipToBuffer(ip: string): Buffer {
  return parseIp(ip).bytes;
}

/** 4 or 16 bytes → canonical text (RFC 5952 for IPv6: lowercase, longest zero run compressed). */
export function formatIp(b: Buffer): string {
  const a = ipFromBytes(b);
  if (!a) throw invalid('ip bytes', b.toString('hex'));
  return formatIpValue(a.value, a.family);
}

export interface ParsedCidr extends ParsedIp {
  prefixLen: number;
  /** The address as given, canonicalized. */
  ip: string;
}

/** '10.0.0.2/24' or 'fd00::2/64' → address bytes + prefix length. A bare address gets /32 or /128. */
export function parseCidr(cidr: string): ParsedCidr {
  if (typeof cidr !== 'string') throw invalid('cidr', cidr);
  const slash = cidr.indexOf('/');
  const addr = slash === -1 ? cidr : cidr.slice(0, slash);
  let ip: ParsedIp;
  try {
    ip = parseIp(addr);
  } catch {
    throw invalid('cidr', cidr);
  }
  const max = ip.family === 4 ? 32 : 128;
  let prefixLen = max;
  if (slash !== -1) {
    const p = cidr.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > max) throw invalid('cidr', cidr);
    prefixLen = Number(p);
  }
  return { ...ip, prefixLen, ip: formatIp(ip.bytes) };
}

export function formatCidr(b: Buffer, prefixLen: number): string {
  return `${formatIp(b)}/${prefixLen}`;
}

/** Zero the host bits: the network address of `bytes`/`prefixLen`. */
export function maskIp(bytes: Buffer, prefixLen: number): Buffer {
  const a = ipFromBytes(bytes);
  if (!a) throw invalid('ip bytes', bytes.toString('hex'));
  return ipToBytes({ family: a.family, value: makeCidr(a.value, prefixLen, a.family).network });
}

/** IPv4 broadcast address for an address/prefix (all host bits set). */
export function ipv4Broadcast(bytes: Buffer, prefixLen: number): Buffer {
  const a = ipFromBytes(bytes);
  if (a?.family !== 4) throw invalid('ipv4 bytes', bytes.toString('hex'));
  return ipToBytes({ family: 4, value: makeCidr(a.value, prefixLen, 4).last });
}

// ---------------------------------------------------------------------------- scopes

export type Scope = 'universe' | 'site' | 'link' | 'host' | 'nowhere';

const SCOPES: Record<Scope, number> = { universe: 0, site: 200, link: 253, host: 254, nowhere: 255 };

export function scopeToNumber(s: Scope | number): number {
  if (typeof s === 'number') {
    if (!Number.isInteger(s) || s < 0 || s > 255) throw invalid('scope', s);
    return s;
  }
  const n = SCOPES[s];
  if (n === undefined) throw invalid('scope', s);
  return n;
}

export function scopeName(n: number | string | undefined): Scope | number {
  if (typeof n === 'string') {
    const lower = n.toLowerCase();
    if (lower in SCOPES) return lower as Scope;
    return Number(rt.RouteScope[n as keyof typeof rt.RouteScope] ?? 0);
  }
  const v = n ?? 0;
  for (const [k, x] of Object.entries(SCOPES)) if (x === v) return k as Scope;
  return v;
}
