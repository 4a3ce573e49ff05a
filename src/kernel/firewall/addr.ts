/**
 * Addresses in the exact text form `iptables-save` prints them (glibc inet_ntop), so that rules
 * generated here compare equal to rules read back from the kernel. Pure; returns undefined on
 * bad input instead of throwing (the caller words the error). Parsing is src/lib/cidr.ts's.
 */
import { formatIp, type IpAddress, type IpFamily, ipToBytes, tryParseCidr, tryParseIp } from '../../lib/cidr.js';

export type Family = IpFamily;

export interface ParsedIp {
  family: Family;
  /** 4 bytes or 16 bytes. */
  bytes: number[];
  /** Canonical text: dotted quad, or RFC 5952-style compressed IPv6 like glibc prints. */
  text: string;
}

export interface ParsedCidr {
  family: Family;
  prefix: number;
  /** Network address (host bits cleared), canonical text. */
  network: string;
  /** `network/prefix`, as iptables-save prints it. */
  text: string;
}

/**
 * The text iptables-save prints (glibc inet_ntop). It is src/lib/cidr.ts's formatting except
 * for the deprecated IPv4-compatible IPv6 form, which glibc prints with a dotted tail (::1.2.3.4).
 */
function ntop(ip: IpAddress): string {
  if (ip.family === 6 && ip.value >> 32n === 0n && ip.value >= 0x10000n) return `::${formatIp(ip.value & 0xffffffffn, 4)}`;
  return formatIp(ip.value, ip.family);
}

export function parseIp(s: string): ParsedIp | undefined {
  if (typeof s !== 'string' || s.length === 0 || s.length > 64) return undefined;
  const ip = tryParseIp(s);
  return ip ? { family: ip.family, bytes: [...ipToBytes(ip)], text: ntop(ip) } : undefined;
}

export function parseCidr(s: string): ParsedCidr | undefined {
  if (typeof s !== 'string' || s.length > 70) return undefined;
  const c = tryParseCidr(s);
  if (!c) return undefined;
  const network = ntop({ family: c.family, value: c.network });
  return { family: c.family, prefix: c.prefix, network, text: `${network}/${c.prefix}` };
}

/** `addr/32` or `addr/128`: how iptables-save prints a single-address match. */
export function hostCidr(ip: ParsedIp): string {
  return `${ip.text}/${ip.family === 4 ? 32 : 128}`;
}

export function isUnspecified(ip: ParsedIp): boolean {
  return ip.bytes.every((b) => b === 0);
}

export function isIpv4Loopback(ip: ParsedIp): boolean {
  return ip.family === 4 && ip.bytes[0] === 127;
}
