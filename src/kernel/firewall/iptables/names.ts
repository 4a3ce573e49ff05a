/**
 * Names of everything tsnet creates in iptables (DESIGN rule 2): chains prefixed TSNET, rules
 * commented `tsnet` (base layout), `tsnet:<net12>` (network level) or `tsnet:<net12>:<ep12>`
 * (one endpoint's published ports) — except the rules of a network's own chains and the jumps
 * into tsnet's chains, which the chain names (no comment on the per-packet path; see
 * network-rules.ts). Pure.
 */

export type Table = 'raw' | 'filter' | 'nat';

export const TABLES: readonly Table[] = ['raw', 'filter', 'nat'];

export const CHAIN = {
  /** filter: the admin's own rules, first in FORWARD; created once, never flushed by tsnet. */
  user: 'TSNET-USER',
  /** filter: second in FORWARD; one `-o <bridge> -j TSNET-N-<net12>` per network (traffic INTO a bridge). */
  bridge: 'TSNET-BRIDGE',
  /** filter: third in FORWARD; one `-i <bridge> -j ACCEPT|DROP` per network (traffic OUT of a bridge). */
  egress: 'TSNET-EGRESS',
  /** nat: jumped from PREROUTING/OUTPUT for local destinations; one jump per published-port slot. */
  dnat: 'TSNET-DNAT',
  /** nat: jumped from POSTROUTING; per network MASQUERADE/SNAT rules. */
  postrouting: 'TSNET-POSTROUTING',
  /** raw: jumped first from PREROUTING; per network: the direct-access guard and notrack. */
  rawPrerouting: 'TSNET-RAW-PREROUTING',
  /**
   * raw: static, no jump from a built-in chain; the direct-access guard every network's raw
   * chain enters by goto for packets not from its bridge (raw-rules.ts).
   */
  rawGuard: 'TSNET-RAW-GUARD',
  /**
   * raw (IPv4 only): static, jumped before TSNET-RAW-PREROUTING; the loopback guard
   * `-d 127.0.0.0/8 ! -i lo -j DROP` (bridges have route_localnet=1; CVE-2020-8558).
   */
  loopbackGuard: 'TSNET-LOOPBACK',
} as const;

/**
 * Base chains of older versions: `init` deletes them and the jumps into them (reconcile.ts).
 * TSNET-FORWARD (filter) held the jumps to TSNET-BRIDGE and TSNET-EGRESS, which FORWARD now
 * makes itself (decision 53).
 */
export const LEGACY_CHAINS: readonly { table: Table; name: string }[] = [{ table: 'filter', name: 'TSNET-FORWARD' }];

export const NETWORK_CHAIN_PREFIX = 'TSNET-N-';
/** Per-endpoint chains of tsnet before the slot pool (only swept now). */
export const ENDPOINT_CHAIN_PREFIX = 'TSNET-EP-';
/** nat: the published-port slots (slots.ts). */
export const SLOT_CHAIN_PREFIX = 'TSNET-S-';
export const BASE_COMMENT = 'tsnet';

export const BUILTIN_CHAINS: Record<Table, readonly string[]> = {
  raw: ['PREROUTING', 'OUTPUT'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
};

/** Ids: a letter or digit, then letters, digits, '_', '.', '-'. */
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && id.length <= 256 && ID_RE.test(id);
}

export function id12(id: string): string {
  return id.slice(0, 12);
}

export function networkChain(netId: string): string {
  return NETWORK_CHAIN_PREFIX + id12(netId);
}

export function endpointChain(epId: string): string {
  return ENDPOINT_CHAIN_PREFIX + id12(epId);
}

export function slotChain(k: number): string {
  return `${SLOT_CHAIN_PREFIX}${k}`;
}

export function networkComment(netId: string): string {
  return `tsnet:${id12(netId)}`;
}

export function endpointComment(netId: string, epId: string): string {
  return `tsnet:${id12(netId)}:${id12(epId)}`;
}

export type Owner = { kind: 'base' } | { kind: 'network'; net12: string } | { kind: 'endpoint'; net12: string; ep12: string };

/** Who a rule belongs to, from its comment; undefined when it is not a tsnet comment. */
export function parseOwner(comment: string | undefined): Owner | undefined {
  if (comment === undefined) return undefined;
  if (comment === BASE_COMMENT) return { kind: 'base' };
  const m = /^tsnet:([A-Za-z0-9][A-Za-z0-9_.-]*)(?::([A-Za-z0-9][A-Za-z0-9_.-]*))?$/.exec(comment);
  if (!m || m[1] === undefined) return undefined;
  return m[2] === undefined ? { kind: 'network', net12: m[1] } : { kind: 'endpoint', net12: m[1], ep12: m[2] };
}

/** Chains whose whole content tsnet rewrites (per network, per endpoint, per slot). */
export function isOwnedObjectChain(name: string): boolean {
  return name.startsWith(NETWORK_CHAIN_PREFIX) || name.startsWith(ENDPOINT_CHAIN_PREFIX) || name.startsWith(SLOT_CHAIN_PREFIX);
}

export function isTsnetChain(name: string): boolean {
  return name.startsWith('TSNET-');
}

/** Linux IFNAMSIZ - 1, and characters that are safe in an iptables argument (no '+' wildcard). */
export function isValidIfName(name: unknown): name is string {
  return typeof name === 'string' && /^[A-Za-z0-9_.-]{1,15}$/.test(name) && name !== '.' && name !== '..';
}
