/**
 * What the resolver asks the rest of the daemon, and how it turns one question into a local
 * answer or a decision to forward. Pure: the lookup functions are given, nothing is stored.
 *
 * Rules (Docker's embedded DNS, with one difference noted):
 * - A/AAAA: `lookup(name, type)` gives the addresses visible from this container (names,
 *   aliases, container ids; the lookup decides which forms it knows). [] for both types means
 *   "not ours" and the query is forwarded upstream. A name that is ours but has nothing of the
 *   asked type gets NOERROR with no answers (NODATA), never forwarded.
 * - PTR for a.b.c.d.in-addr.arpa / nibbles.ip6.arpa: `reverse(ip)` gives the name; unknown
 *   addresses are forwarded.
 * - ANY for one of our names: its A and AAAA records. Any other type for one of our names:
 *   NODATA (Docker forwards these; an upstream cannot know container names, so its NXDOMAIN
 *   would contradict our A answer).
 * - Non-IN classes and the root are forwarded.
 * Names reach `lookup` lower-cased, without the trailing dot.
 */
import { formatIp, tryParseIp } from '../../lib/cidr.js';
import { CLASS_IN, normalizeName, TYPE, type DnsQuestion, type DnsRecord } from './message.js';

export type AddressType = 'A' | 'AAAA';

/**
 * Addresses of `name` (lower case, no trailing dot) of the given type, as seen from the
 * container the resolver serves; [] when the name is not one of ours. Must be synchronous
 * and cheap: it runs for every query.
 */
export type LookupFn = (name: string, type: AddressType) => string[];

/** The name (e.g. "web.mynet") of a container address, or undefined when it is not ours. */
export type ReverseFn = (ip: string) => string | undefined;

export interface LocalSource {
  lookup: LookupFn;
  reverse?: ReverseFn | undefined;
  /** TTL of local answers in seconds (Docker: 600). */
  ttl: number;
  /** Told about addresses `lookup` returned that are not valid for the type (they are skipped). */
  onBadAddress?: ((name: string, type: AddressType, address: string) => void) | undefined;
}

export type LocalDecision =
  /** Answer with NOERROR and these records ([] = NODATA). */
  | { kind: 'answer'; records: DnsRecord[] }
  /** Not ours: ask the upstreams. */
  | { kind: 'forward' };

const FORWARD: LocalDecision = { kind: 'forward' };

/** The IP of a reverse-lookup name ("4.3.2.1.in-addr.arpa" → "1.2.3.4"), or undefined. */
export function ptrNameToIp(name: string): string | undefined {
  const n = normalizeName(name);
  if (n.endsWith('.in-addr.arpa')) {
    const parts = n.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4) return undefined;
    const ip = tryParseIp(parts.reverse().join('.'));
    return ip ? formatIp(ip.value, 4) : undefined;
  }
  if (n.endsWith('.ip6.arpa')) {
    const parts = n.slice(0, -'.ip6.arpa'.length).split('.');
    if (parts.length !== 32 || !parts.every((p) => /^[0-9a-f]$/.test(p))) return undefined;
    return formatIp(BigInt(`0x${parts.reverse().join('')}`), 6);
  }
  return undefined;
}

/** The reverse-lookup name of an IP ("1.2.3.4" → "4.3.2.1.in-addr.arpa"). */
export function ipToPtrName(address: string): string | undefined {
  const ip = tryParseIp(address);
  if (!ip) return undefined;
  if (ip.family === 4) return `${formatIp(ip.value, 4).split('.').reverse().join('.')}.in-addr.arpa`;
  const hex = ip.value.toString(16).padStart(32, '0');
  return `${hex.split('').reverse().join('.')}.ip6.arpa`;
}

function addresses(src: LocalSource, name: string, type: AddressType): string[] {
  const got = src.lookup(name, type);
  if (got.length === 0) return got;
  const family = type === 'A' ? 4 : 6;
  const out: string[] = [];
  for (const a of got) {
    const ip = tryParseIp(a);
    if (ip && ip.family === family) out.push(formatIp(ip.value, family));
    else src.onBadAddress?.(name, type, a);
  }
  return out;
}

function addressRecords(owner: string, type: AddressType, list: string[], ttl: number): DnsRecord[] {
  return list.map((address) => ({
    name: owner,
    type: type === 'A' ? TYPE.A : TYPE.AAAA,
    class: CLASS_IN,
    ttl,
    data: type === 'A' ? { kind: 'A', address } : { kind: 'AAAA', address },
  }));
}

/**
 * Decide how to answer one question. Answer owner names are the question's name as written
 * (so the answer matches the client's case). May throw whatever `lookup`/`reverse` throw.
 */
export function resolveLocal(q: DnsQuestion, src: LocalSource): LocalDecision {
  if (q.class !== CLASS_IN) return FORWARD;
  const key = normalizeName(q.name);
  if (key === '') return FORWARD;

  if (key.endsWith('.arpa')) {
    if (q.type !== TYPE.PTR || !src.reverse) return FORWARD;
    const ip = ptrNameToIp(key);
    const host = ip === undefined ? undefined : src.reverse(ip);
    if (host === undefined || host === '') return FORWARD;
    return {
      kind: 'answer',
      records: [{ name: q.name, type: TYPE.PTR, class: CLASS_IN, ttl: src.ttl, data: { kind: 'PTR', target: host } }],
    };
  }

  if (q.type === TYPE.A || q.type === TYPE.AAAA) {
    const type: AddressType = q.type === TYPE.A ? 'A' : 'AAAA';
    const list = addresses(src, key, type);
    if (list.length > 0) return { kind: 'answer', records: addressRecords(q.name, type, list, src.ttl) };
    const other = addresses(src, key, type === 'A' ? 'AAAA' : 'A');
    return other.length > 0 ? { kind: 'answer', records: [] } : FORWARD;
  }

  const v4 = addresses(src, key, 'A');
  const v6 = addresses(src, key, 'AAAA');
  if (v4.length === 0 && v6.length === 0) return FORWARD;
  if (q.type === TYPE.ANY) {
    return {
      kind: 'answer',
      records: [...addressRecords(q.name, 'A', v4, src.ttl), ...addressRecords(q.name, 'AAAA', v6, src.ttl)],
    };
  }
  return { kind: 'answer', records: [] };
}
