/**
 * The one IPv4/IPv6 address and CIDR library of tsnet: parsing, formatting (as Docker prints
 * addresses), prefix maths on bigint, and the byte form the kernel uses. No I/O, no state;
 * every layer (kernel included) may use it.
 *
 * Parsing is strict (like Go's net/netip, which Docker uses): dotted quads without leading
 * zeros, IPv6 without zone ids, prefix lengths in range. Errors are TsnetErrors with one
 * clear line naming what was given and what is expected.
 */
import { TsnetError } from '../errors/index.js';

export type IpFamily = 4 | 6;

export interface IpAddress {
  readonly family: IpFamily;
  readonly value: bigint;
}

export interface Cidr {
  readonly family: IpFamily;
  /** The address as written (may have host bits set). */
  readonly address: bigint;
  readonly prefix: number;
  /** First address of the prefix (host bits cleared). */
  readonly network: bigint;
  /** Last address of the prefix (host bits set): the IPv4 broadcast address. */
  readonly last: bigint;
}

export function familyBits(family: IpFamily): 32 | 128 {
  return family === 4 ? 32 : 128;
}

export function familyName(family: IpFamily): 'IPv4' | 'IPv6' {
  return family === 4 ? 'IPv4' : 'IPv6';
}

/** Netmask for a prefix length, as a number of `bits` bits. */
export function prefixMask(prefix: number, family: IpFamily): bigint {
  const bits = BigInt(familyBits(family));
  const host = bits - BigInt(prefix);
  return ((1n << bits) - 1n) ^ ((1n << host) - 1n);
}

/** Number of addresses in a prefix (2^(bits - prefix)). */
export function addressCount(cidr: string | Cidr): bigint {
  const c = toCidr(cidr);
  return 1n << BigInt(familyBits(c.family) - c.prefix);
}

// ---------------------------------------------------------------------------------------------
// Parsing and formatting

const DECIMAL_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseV4(text: string): bigint | string {
  const parts = text.split('.');
  if (parts.length !== 4) return 'an IPv4 address has four dot-separated numbers';
  let value = 0n;
  for (const part of parts) {
    if (!DECIMAL_OCTET.test(part)) {
      return /^0[0-9]+$/.test(part) ? `leading zeros are not allowed ("${part}")` : `"${part}" is not a number from 0 to 255`;
    }
    const n = Number(part);
    if (n > 255) return `"${part}" is not a number from 0 to 255`;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function parseV6(text: string): bigint | string {
  if (text.includes('%')) return 'zone ids (%eth0) are not allowed';
  let head = text;
  let v4tail: bigint | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    const v4 = parseV4(text.slice(lastColon + 1));
    if (typeof v4 === 'string') return `embedded IPv4 part: ${v4}`;
    v4tail = v4;
    // keep the colon(s) before the IPv4 part and stand two placeholder groups in for it
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const doubles = head.split('::');
  if (doubles.length > 2) return '"::" may appear only once';
  const split = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const left = split(doubles[0]!);
  const right = doubles.length === 2 ? split(doubles[1]!) : [];
  for (const g of [...left, ...right]) {
    if (!HEX_GROUP.test(g)) return `"${g}" is not a group of 1 to 4 hex digits`;
  }
  const given = left.length + right.length;
  if (doubles.length === 1 && given !== 8) return 'an IPv6 address has eight groups (or uses "::")';
  if (doubles.length === 2 && given > 7) return 'too many groups for an address with "::"';
  const groups = doubles.length === 2 ? [...left, ...Array<string>(8 - given).fill('0'), ...right] : left;
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(parseInt(g, 16));
  if (v4tail !== undefined) value = (value & ~0xffffffffn) | v4tail;
  return value;
}

/** Parse an address without throwing; undefined when it is not a valid IPv4/IPv6 address. */
export function tryParseIp(text: string): IpAddress | undefined {
  const r = parseIpDetailed(text);
  return typeof r === 'string' ? undefined : r;
}

function parseIpDetailed(text: string): IpAddress | string {
  if (typeof text !== 'string' || text === '') return 'it is empty';
  if (text.trim() !== text) return 'it has surrounding spaces';
  if (text.includes(':')) {
    const v = parseV6(text);
    return typeof v === 'string' ? v : { family: 6, value: v };
  }
  if (text.includes('.')) {
    const v = parseV4(text);
    return typeof v === 'string' ? v : { family: 4, value: v };
  }
  return 'expected IPv4 like 10.0.0.1 or IPv6 like fd00::1';
}

/**
 * Parse a plain IP address. Throws TSNET_BAD_IP (or `code`) with a message like
 * `invalid IP address "10.0.0.300": "300" is not a number from 0 to 255`.
 */
export function parseIp(
  text: string,
  what = 'IP address',
  code: 'TSNET_BAD_IP' | 'TSNET_BAD_GATEWAY' = 'TSNET_BAD_IP',
): IpAddress {
  const r = parseIpDetailed(text);
  if (typeof r === 'string') {
    const hint = typeof text === 'string' && text.includes('/') ? 'give a plain address without /prefix' : r;
    throw new TsnetError(code, `invalid ${what} "${String(text)}": ${hint}`);
  }
  return r;
}

function formatV4(value: bigint): string {
  const n = Number(value);
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function formatV6(value: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  // IPv4-mapped (::ffff:a.b.c.d) keeps its dotted tail, as Go and RFC 5952 do.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${formatV4(value & 0xffffffffn)}`;
  }
  // RFC 5952: compress the longest run (>= 2) of zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** The address as 4 or 16 bytes in network order (for netlink and sockaddr). */
export function ipToBytes(ip: IpAddress): Buffer {
  const n = ip.family === 4 ? 4 : 16;
  const out = Buffer.alloc(n);
  let v = ip.value;
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** 4 or 16 bytes in network order → the address; undefined for any other length. */
export function ipFromBytes(bytes: Uint8Array): IpAddress | undefined {
  if (bytes.length !== 4 && bytes.length !== 16) return undefined;
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return { family: bytes.length === 4 ? 4 : 6, value };
}

/** Canonical text of an address: dotted quad, or RFC 5952 IPv6 (lower case, longest :: run). */
export function formatIp(value: bigint, family: IpFamily): string {
  return family === 4 ? formatV4(value) : formatV6(value);
}

function parseCidrDetailed(text: string): Cidr | string {
  if (typeof text !== 'string' || text === '') return 'it is empty';
  const slash = text.indexOf('/');
  if (slash < 0) return 'missing prefix length';
  const ip = parseIpDetailed(text.slice(0, slash));
  if (typeof ip === 'string') return ip;
  const bits = familyBits(ip.family);
  const p = text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > bits) {
    return `prefix length must be a number from 0 to ${bits} for ${familyName(ip.family)}`;
  }
  return makeCidr(ip.value, Number(p), ip.family);
}

/** Build a Cidr from an address, a prefix length and a family. */
export function makeCidr(address: bigint, prefix: number, family: IpFamily): Cidr {
  const mask = prefixMask(prefix, family);
  const network = address & mask;
  const all = (1n << BigInt(familyBits(family))) - 1n;
  return { family, address, prefix, network, last: network | (all ^ mask) };
}

/**
 * Parse `addr/prefix`. Host bits may be set (10.42.0.5/24 is an interface address);
 * use parseSubnet where a network is meant. Throws TSNET_BAD_CIDR.
 */
export function parseCidr(text: string, what = 'CIDR'): Cidr {
  const r = parseCidrDetailed(text);
  if (typeof r === 'string') {
    const example = typeof text === 'string' && text.includes(':') ? 'fd00:1::/64' : '10.42.0.0/24';
    throw new TsnetError('TSNET_BAD_CIDR', `invalid ${what} "${String(text)}": ${r} (e.g. ${example})`);
  }
  return r;
}

/** Parse without throwing; undefined if invalid. */
export function tryParseCidr(text: string): Cidr | undefined {
  const r = parseCidrDetailed(text);
  return typeof r === 'string' ? undefined : r;
}

export function isCanonical(cidr: Cidr): boolean {
  return cidr.address === cidr.network;
}

/**
 * Parse a network prefix that must be in canonical form, as Docker requires for --subnet,
 * --ip-range and pool bases: `subnet 10.42.0.5/24 has host bits set: use 10.42.0.0/24`.
 */
export function parseSubnet(text: string, what = 'subnet'): Cidr {
  const c = parseCidr(text, what);
  if (!isCanonical(c)) {
    throw new TsnetError('TSNET_BAD_CIDR', `${what} ${text} has host bits set: use ${formatCidr(c, true)}`);
  }
  return c;
}

/** `addr/prefix` text; with `network` true the host bits are cleared. */
export function formatCidr(cidr: Cidr, network = true): string {
  return `${formatIp(network ? cidr.network : cidr.address, cidr.family)}/${cidr.prefix}`;
}

/** Canonical (network) form of a CIDR string: '10.42.0.5/24' -> '10.42.0.0/24'. */
export function canonicalCidr(cidr: string | Cidr): string {
  return formatCidr(toCidr(cidr), true);
}

function toCidr(c: string | Cidr): Cidr {
  return typeof c === 'string' ? parseCidr(c) : c;
}

function toIp(ip: string | IpAddress): IpAddress {
  return typeof ip === 'string' ? parseIp(ip) : ip;
}

// ---------------------------------------------------------------------------------------------
// Predicates and arithmetic

/** Family of an IP or CIDR string: true for IPv6. Invalid text is not IPv6 (false). */
export function isV6(text: string): boolean {
  const r = text.includes('/') ? tryParseCidr(text) : tryParseIp(text);
  return r?.family === 6;
}

/** Is the address inside the prefix? Different families never contain each other. */
export function contains(cidr: string | Cidr, ip: string | IpAddress): boolean {
  const c = toCidr(cidr);
  const a = toIp(ip);
  return a.family === c.family && a.value >= c.network && a.value <= c.last;
}

/** Is the whole of `inner` inside `outer`? */
export function containsCidr(outer: string | Cidr, inner: string | Cidr): boolean {
  const o = toCidr(outer);
  const i = toCidr(inner);
  return o.family === i.family && i.network >= o.network && i.last <= o.last;
}

/** Do two prefixes share at least one address? Different families never overlap. */
export function overlaps(a: string | Cidr, b: string | Cidr): boolean {
  const x = toCidr(a);
  const y = toCidr(b);
  return x.family === y.family && x.network <= y.last && y.network <= x.last;
}

/**
 * The n-th address of a prefix (0 = network address); negative n counts from the end
 * (-1 = last address). Throws TSNET_INVALID_ARGUMENT when out of range.
 */
export function nthAddress(cidr: string | Cidr, n: number | bigint): string {
  const c = toCidr(cidr);
  const k = BigInt(n);
  const value = k >= 0n ? c.network + k : c.last + 1n + k;
  if (value < c.network || value > c.last) {
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `address #${String(n)} is outside ${formatCidr(c)} (${addressCount(c)} addresses)`,
    );
  }
  return formatIp(value, c.family);
}

export function networkAddress(cidr: string | Cidr): string {
  const c = toCidr(cidr);
  return formatIp(c.network, c.family);
}

/** Last address of the prefix (the broadcast address for IPv4). */
export function broadcastAddress(cidr: string | Cidr): string {
  const c = toCidr(cidr);
  return formatIp(c.last, c.family);
}

/**
 * Does this prefix reserve its network (and, for IPv4, broadcast) address? IPv4 /31 and /32
 * (RFC 3021) and IPv6 /127 and /128 (RFC 6164) do not.
 */
export function reservesEdges(cidr: Cidr): boolean {
  return cidr.prefix < familyBits(cidr.family) - 1;
}

/** First usable host: network+1 (the Docker default gateway), or the network address itself for /31, /32, /127, /128. */
export function firstHostValue(c: Cidr): bigint {
  return reservesEdges(c) ? c.network + 1n : c.network;
}

/** Last usable host: broadcast-1 for IPv4, the last address for IPv6 (or for /31, /32). */
export function lastHostValue(c: Cidr): bigint {
  return reservesEdges(c) && c.family === 4 ? c.last - 1n : c.last;
}

export function firstHost(cidr: string | Cidr): string {
  const c = toCidr(cidr);
  return formatIp(firstHostValue(c), c.family);
}

export function lastHost(cidr: string | Cidr): string {
  const c = toCidr(cidr);
  return formatIp(lastHostValue(c), c.family);
}

/** Round `value` up to a multiple of `step` (a power of two). */
export function alignUp(value: bigint, step: bigint): bigint {
  const rem = value % step;
  return rem === 0n ? value : value + (step - rem);
}
