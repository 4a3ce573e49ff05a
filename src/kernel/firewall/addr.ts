/**
 * Addresses in the exact text form `iptables-save` prints them (glibc inet_ntop), so that rules
 * generated here compare equal to rules read back from the kernel. Pure; returns undefined on
 * bad input instead of throwing (the caller words the error).
 */

export type Family = 4 | 6;

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

function parseIpv4Bytes(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    if (p.length > 1 && p.startsWith('0')) return undefined; // no octal-looking octets
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

function parseIpv6Bytes(input: string): number[] | undefined {
  let s = input;
  if (s.includes('%')) return undefined; // no zone ids in firewall rules
  let tailV4: number[] | undefined;
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.slice(lastColon + 1).includes('.')) {
    tailV4 = parseIpv4Bytes(s.slice(lastColon + 1));
    if (!tailV4) return undefined;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      groups.push(parseInt(g, 16));
    }
    return groups;
  };
  const head = parseGroups(halves[0] ?? '');
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? '') : [];
  if (!head || !tail) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return undefined;
  const bytes: number[] = [];
  for (const g of groups) bytes.push(g >> 8, g & 0xff);
  if (tailV4) bytes.splice(12, 4, ...tailV4);
  return bytes;
}

function formatIpv4(bytes: number[]): string {
  return bytes.join('.');
}

/** glibc inet_ntop6: compress the first longest run (≥ 2) of zero groups; v4-mapped/compat tails. */
function formatIpv6(bytes: number[]): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (curBase === -1) {
        curBase = i;
        curLen = 1;
      } else {
        curLen++;
      }
      if (curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
    } else {
      curBase = -1;
      curLen = 0;
    }
  }
  if (bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      out += bytes.slice(12).join('.');
      break;
    }
    out += (words[i] ?? 0).toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) out += ':';
  return out;
}

export function parseIp(s: string): ParsedIp | undefined {
  if (typeof s !== 'string' || s.length === 0 || s.length > 64) return undefined;
  if (s.includes(':')) {
    const bytes = parseIpv6Bytes(s);
    return bytes ? { family: 6, bytes, text: formatIpv6(bytes) } : undefined;
  }
  const bytes = parseIpv4Bytes(s);
  return bytes ? { family: 4, bytes, text: formatIpv4(bytes) } : undefined;
}

export function parseCidr(s: string): ParsedCidr | undefined {
  if (typeof s !== 'string') return undefined;
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(s.slice(0, slash));
  const lenText = s.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(lenText)) return undefined;
  const prefix = Number(lenText);
  const max = ip.family === 4 ? 32 : 128;
  if (prefix > max) return undefined;
  const bytes = ip.bytes.map((b, i) => {
    const bitsLeft = prefix - i * 8;
    if (bitsLeft >= 8) return b;
    if (bitsLeft <= 0) return 0;
    return b & (0xff << (8 - bitsLeft)) & 0xff;
  });
  const network = ip.family === 4 ? formatIpv4(bytes) : formatIpv6(bytes);
  return { family: ip.family, prefix, network, text: `${network}/${prefix}` };
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
