/**
 * Default address pools: Docker's predefined local pools, the tsnetd
 * `--default-address-pool base=CIDR,size=N` flag (repeatable; replaces the defaults, as in
 * Docker), and the host avoid-list (on-link routes and nameservers) that dynamic subnet
 * choice must not overlap.
 */
import crypto from 'node:crypto';
import { TsnetError } from '../errors/index.js';
import {
  canonicalCidr,
  familyBits,
  formatCidr,
  formatIp,
  parseSubnet,
  tryParseCidr,
  tryParseIp,
  type IpFamily,
} from '../lib/cidr.js';

/** A base prefix split into subnets of prefix length `size`. */
export interface AddressPoolSpec {
  readonly base: string;
  readonly size: number;
}

/**
 * Docker's local-scope predefined pools (`ipamutils.localScopeDefaultNetworks`):
 * 172.17.0.0/16 … 172.31.0.0/16 as /16s, then 192.168.0.0/16 split into /20s — 31 networks.
 */
export const DOCKER_DEFAULT_LOCAL_POOLS: readonly AddressPoolSpec[] = Object.freeze(
  [
    { base: '172.17.0.0/16', size: 16 },
    { base: '172.18.0.0/16', size: 16 },
    { base: '172.19.0.0/16', size: 16 },
    { base: '172.20.0.0/14', size: 16 },
    { base: '172.24.0.0/14', size: 16 },
    { base: '172.28.0.0/14', size: 16 },
    { base: '192.168.0.0/16', size: 20 },
  ].map((p) => Object.freeze(p)),
);

/** Docker's global-scope (swarm/overlay) default: 10.0.0.0/8 split into /24s. */
export const DOCKER_DEFAULT_GLOBAL_POOLS: readonly AddressPoolSpec[] = Object.freeze([
  Object.freeze({ base: '10.0.0.0/8', size: 24 }),
]);

const FLAG = '--default-address-pool';
const EXAMPLE = 'base=10.10.0.0/16,size=24';

/** Validate one pool: canonical base, integer size between the base prefix and the family width. */
export function validatePoolSpec(spec: AddressPoolSpec, where = `${FLAG}`): AddressPoolSpec {
  let base: ReturnType<typeof parseSubnet>;
  try {
    base = parseSubnet(spec.base, 'base');
  } catch (err) {
    throw new TsnetError('TSNET_BAD_CIDR', `invalid ${where}: ${(err as Error).message}`, { cause: err });
  }
  const max = familyBits(base.family);
  if (!Number.isInteger(spec.size) || spec.size < base.prefix || spec.size > max) {
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `invalid ${where}: size ${String(spec.size)} must be a prefix length from ${base.prefix} (the base's) to ${max}`,
    );
  }
  return Object.freeze({ base: formatCidr(base), size: spec.size });
}

/**
 * Parse one `--default-address-pool` value, `base=10.10.0.0/16,size=24` (keys in any order,
 * case-insensitive, as Docker's PoolsOpt). Throws TSNET_INVALID_ARGUMENT / TSNET_BAD_CIDR.
 */
export function parseAddressPoolFlag(value: string): AddressPoolSpec {
  const where = `${FLAG} "${value}"`;
  let base: string | undefined;
  let size: string | undefined;
  for (const field of value.split(',')) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const val = eq < 0 ? '' : field.slice(eq + 1).trim();
    if (key === 'base' && eq >= 0) base = val;
    else if (key === 'size' && eq >= 0) size = val;
    else {
      throw new TsnetError(
        'TSNET_INVALID_ARGUMENT',
        `invalid ${where}: unexpected "${field}", expected base=CIDR,size=N like ${EXAMPLE}`,
      );
    }
  }
  if (base === undefined || base === '') {
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid ${where}: missing base, expected e.g. ${EXAMPLE}`);
  }
  if (size === undefined || size === '') {
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid ${where}: missing size, expected e.g. ${EXAMPLE}`);
  }
  if (!/^[0-9]{1,3}$/.test(size)) {
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `invalid ${where}: size "${size}" is not a prefix length, expected e.g. ${EXAMPLE}`,
    );
  }
  return validatePoolSpec({ base, size: Number(size) }, where);
}

/**
 * Parse all `--default-address-pool` values. Exact duplicates are dropped; order is kept
 * (earlier pools are tried first).
 */
export function parseAddressPoolFlags(values: readonly string[]): AddressPoolSpec[] {
  return dedupe(values.map(parseAddressPoolFlag));
}

/**
 * The pools tsnetd uses: the flag values if any were given (they replace the defaults, as
 * Docker's default-address-pools do), else Docker's local defaults. With a `hostId`, and when
 * no IPv6 pool is among them, the host's ULA /48 (split into /64s) is added, as Docker 27+ does
 * so that `network create --ipv6` needs no --subnet.
 */
export function resolveDefaultPools(flagValues: readonly string[] = [], hostId?: string): AddressPoolSpec[] {
  const pools = flagValues.length > 0 ? parseAddressPoolFlags(flagValues) : [...DOCKER_DEFAULT_LOCAL_POOLS];
  if (hostId !== undefined && !pools.some((p) => poolFamily(p) === 6)) pools.push(deriveUlaPool(hostId));
  return pools;
}

/**
 * The host's own IPv6 Unique Local prefix, as Docker's `deriveULABaseNetwork`: the low 40 bits
 * of the first 8 bytes (big endian) of sha256(hostId) are the RFC 4193 Global ID after `fd`
 * (prefix fc00::/7 with the L bit), giving `fdXX:XXXX:XXXX::/48`, handed out as /64s. Stable
 * as long as the host id (tsnetd's engine id) is.
 */
export function deriveUlaPool(hostId: string): AddressPoolSpec {
  const sha = crypto.createHash('sha256').update(hostId).digest();
  const globalId = sha.readBigUInt64BE(0) & ((1n << 40n) - 1n);
  const base = (0xfdn << 120n) | (globalId << 80n);
  return Object.freeze({ base: `${formatIp(base, 6)}/48`, size: 64 });
}

/** Validate a list (e.g. daemon.json `default-address-pools`); duplicates dropped, order kept. */
export function validatePoolSpecs(specs: readonly AddressPoolSpec[]): AddressPoolSpec[] {
  return dedupe(specs.map((s, i) => validatePoolSpec(s, `default address pool #${i + 1}`)));
}

function dedupe(specs: AddressPoolSpec[]): AddressPoolSpec[] {
  const seen = new Set<string>();
  return specs.filter((s) => {
    const key = `${s.base}|${s.size}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** How many subnets a pool spec yields. */
export function poolSubnetCount(spec: AddressPoolSpec): bigint {
  const c = parseSubnet(spec.base, 'base');
  return 1n << BigInt(spec.size - c.prefix);
}

/**
 * Prefixes dynamic subnet choice must avoid, like Docker's `netutils.InferReservedNetworks`:
 * the caller passes the host's on-link route destinations and resolv.conf nameservers.
 * Routes are canonicalised (default routes /0 are dropped: they would exclude everything);
 * nameservers become /32 or /128 (a zone id such as `%eth0` is ignored). Entries that do not
 * parse are skipped: host data must not make network creation fail. Duplicates removed.
 */
export function hostAvoidList(routesCidrs: readonly string[], nameserverIps: readonly string[]): string[] {
  const out = new Set<string>();
  for (const r of routesCidrs) {
    const c = tryParseCidr(r.trim());
    if (c && c.prefix > 0) out.add(canonicalCidr(c));
  }
  for (const n of nameserverIps) {
    const ip = tryParseIp(n.trim().replace(/%.*$/, ''));
    if (ip) out.add(`${formatIp(ip.value, ip.family)}/${familyBits(ip.family)}`);
  }
  return [...out];
}

/** The family of a spec's base (specs are validated, so this does not throw). */
export function poolFamily(spec: AddressPoolSpec): IpFamily {
  return spec.base.includes(':') ? 6 : 4;
}
