/** Minimal IPv4/IPv6 maths for the static IPAM example (bigint based, no dependencies). */
import net from 'node:net';

export interface Prefix {
  family: 4 | 6;
  network: bigint;
  last: bigint;
  prefix: number;
}

export function ipToBig(ip: string): { family: 4 | 6; value: bigint } {
  if (net.isIPv4(ip)) return { family: 4, value: ip.split('.').reduce((a, o) => (a << 8n) | BigInt(Number(o)), 0n) };
  if (net.isIPv6(ip)) {
    const [head = '', tail = ''] = ip.split('::');
    const h = head ? head.split(':') : [];
    const t = ip.includes('::') ? (tail ? tail.split(':') : []) : [];
    const groups = ip.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
    return { family: 6, value: groups.reduce((a, g) => (a << 16n) | BigInt(parseInt(g, 16)), 0n) };
  }
  throw new Error(`invalid IP address ${JSON.stringify(ip)}`);
}

export function bigToIp(value: bigint, family: 4 | 6): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join('.');
  const groups: string[] = [];
  for (let i = 7n; i >= 0n; i--) groups.push(((value >> (i * 16n)) & 0xffffn).toString(16));
  // Compress the longest run of zero groups (at least two), as RFC 5952 does.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

export function parsePrefix(cidr: string): Prefix {
  const [ip, len] = cidr.split('/');
  if (!ip || len === undefined || !/^\d+$/.test(len)) throw new Error(`invalid CIDR ${JSON.stringify(cidr)}`);
  const { family, value } = ipToBig(ip);
  const bits = family === 4 ? 32 : 128;
  const prefix = Number(len);
  if (prefix > bits) throw new Error(`invalid CIDR ${JSON.stringify(cidr)}`);
  const host = (1n << BigInt(bits - prefix)) - 1n;
  const network = value & ~host & ((1n << BigInt(bits)) - 1n);
  return { family, network, last: network | host, prefix };
}

export function formatPrefix(p: Prefix): string {
  return `${bigToIp(p.network, p.family)}/${p.prefix}`;
}

export function inPrefix(p: Prefix, ip: string): boolean {
  const a = ipToBig(ip);
  return a.family === p.family && a.value >= p.network && a.value <= p.last;
}
