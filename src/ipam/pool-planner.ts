/**
 * Pool rules of the default IPAM, pure: validate a RequestPool (canonical subnet, overlap
 * with other networks, family, ip-range, gateway, aux addresses) and, without --subnet, pick
 * the first free subnet of the default pools that overlaps neither existing pools nor the
 * host avoid-list.
 */
import { TsnetError } from '../errors/index.js';
import {
  alignUp,
  containsCidr,
  familyBits,
  familyName,
  firstHostValue,
  formatCidr,
  formatIp,
  makeCidr,
  overlaps,
  parseCidr,
  parseIp,
  parseSubnet,
  reservesEdges,
  type Cidr,
  type IpFamily,
} from '../lib/cidr.js';
import type { PoolRequest } from './ipam-api.js';
import { poolFamily, type AddressPoolSpec } from './pools.js';
import type { PoolRecord } from './store-api.js';

export interface PlanContext {
  defaultPools: readonly AddressPoolSpec[];
  /** Pool id prefix ("LocalDefault"). */
  addressSpace: string;
  /** Pools that exist now (every network's). */
  existing: () => Iterable<{ subnet: Cidr; networkName: string; networkId: string }>;
  now: () => Date;
}

function fail(code: ConstructorParameters<typeof TsnetError>[0], message: string, details?: Record<string, unknown>): never {
  throw new TsnetError(code, message, details ? { details } : {});
}

/** Validate a request and choose its subnet. Changes nothing; follow with addPool. */
export function planPool(req: PoolRequest, ctx: PlanContext): PoolRecord {
  if (typeof req.networkId !== 'string' || req.networkId === '') {
    fail('TSNET_INVALID_ARGUMENT', 'requestPool needs a networkId');
  }
  const family: IpFamily = req.v6 ? 6 : 4;
  const fam = familyName(family);

  let subnet: Cidr;
  if (req.subnet === undefined || req.subnet === '') {
    for (const [flag, given] of [
      ['--ip-range', req.ipRange],
      ['--gateway', req.gateway],
    ] as const) {
      if (given !== undefined && given !== '') {
        fail('TSNET_INVALID_ARGUMENT', `${flag} ${given} needs a --subnet: give the subnet it belongs to`);
      }
    }
    if (req.auxAddresses && Object.keys(req.auxAddresses).length > 0) {
      fail('TSNET_INVALID_ARGUMENT', '--aux-address needs a --subnet: give the subnet the addresses belong to');
    }
    subnet = pickSubnet(
      ctx.defaultPools,
      family,
      [...ctx.existing()].map((p) => p.subnet),
      req.avoid ?? [],
    );
  } else {
    subnet = parseSubnet(req.subnet, 'subnet');
    if (subnet.family !== family) {
      fail(
        'TSNET_BAD_CIDR',
        `subnet ${req.subnet} is ${familyName(subnet.family)} but an ${fam} pool was requested: give an ${fam} --subnet`,
      );
    }
    for (const p of ctx.existing()) {
      if (overlaps(p.subnet, subnet)) {
        fail(
          'TSNET_SUBNET_OVERLAP',
          `subnet ${formatCidr(subnet)} overlaps with network "${p.networkName}" (${formatCidr(p.subnet)}): choose another --subnet`,
          { networkId: p.networkId, subnet: formatCidr(p.subnet) },
        );
      }
    }
  }
  const subnetText = formatCidr(subnet);

  let ipRange: string | undefined;
  if (req.ipRange !== undefined && req.ipRange !== '') {
    const r = parseSubnet(req.ipRange, 'ip-range');
    if (r.family !== family || !containsCidr(subnet, r)) {
      fail('TSNET_BAD_CIDR', `ip-range ${req.ipRange} is not inside subnet ${subnetText}: choose an --ip-range within it`);
    }
    ipRange = formatCidr(r);
  }

  const reserved = edgeReservations(subnet);
  let gateway: bigint;
  if (req.gateway !== undefined && req.gateway !== '') {
    const gw = parseIp(req.gateway, 'gateway', 'TSNET_BAD_GATEWAY');
    if (gw.family !== family || gw.value < subnet.network || gw.value > subnet.last) {
      fail('TSNET_BAD_GATEWAY', `gateway ${req.gateway} is not in subnet ${subnetText}`);
    }
    const what = reserved.get(gw.value - subnet.network);
    if (what !== undefined) {
      fail(
        'TSNET_BAD_GATEWAY',
        `gateway ${req.gateway} is the ${what} of subnet ${subnetText}: use a host address such as ${formatIp(firstHostValue(subnet), family)}`,
      );
    }
    gateway = gw.value;
  } else {
    gateway = firstHostValue(subnet);
  }
  const gatewayText = formatIp(gateway, family);
  reserved.set(gateway - subnet.network, 'gateway');

  const aux: Record<string, string> = {};
  for (const [auxName, text] of Object.entries(req.auxAddresses ?? {})) {
    if (auxName === '') fail('TSNET_INVALID_ARGUMENT', `--aux-address =${text} has no name: use name=ip`);
    const ip = parseIp(text, `auxiliary address ${auxName}`);
    const shown = `auxiliary address ${auxName}=${text}`;
    if (ip.family !== family || ip.value < subnet.network || ip.value > subnet.last) {
      fail('TSNET_BAD_IP', `${shown} is not in subnet ${subnetText}: choose an address inside it`);
    }
    const what = reserved.get(ip.value - subnet.network);
    if (what !== undefined) {
      const hint = what === 'gateway' && (req.gateway === undefined || req.gateway === '') ? ' or set --gateway' : '';
      fail('TSNET_BAD_IP', `${shown} is the ${what} of subnet ${subnetText}: choose another address${hint}`);
    }
    reserved.set(ip.value - subnet.network, `auxiliary address "${auxName}"`);
    aux[auxName] = formatIp(ip.value, family);
  }

  const record: PoolRecord = {
    poolId: ipRange ? `${ctx.addressSpace}/${subnetText}/${ipRange}` : `${ctx.addressSpace}/${subnetText}`,
    networkId: req.networkId,
    networkName: req.networkName,
    family,
    subnet: subnetText,
    gateway: gatewayText,
    auxAddresses: aux,
    dynamic: req.subnet === undefined || req.subnet === '',
    createdAt: ctx.now().toISOString(),
  };
  if (ipRange) record.ipRange = ipRange;
  return record;
}

/**
 * The first subnet of the default pools (in order) of this family overlapping neither an
 * existing pool nor an `avoid` entry. Each pool is walked lazily: a candidate that hits a
 * blocker jumps past the blocker's end, so the cost is O(blockers) per pool, not O(subnets).
 */
export function pickSubnet(
  specs: readonly AddressPoolSpec[],
  family: IpFamily,
  existing: Iterable<Cidr>,
  avoid: readonly string[],
): Cidr {
  const fam = familyName(family);
  const blockers: Cidr[] = [];
  for (const c of existing) if (c.family === family) blockers.push(c);
  for (const a of avoid) {
    const c = parseCidr(a, 'avoid-list entry');
    if (c.family === family) blockers.push(c);
  }
  const ofFamily = specs.filter((s) => poolFamily(s) === family);
  if (ofFamily.length === 0) {
    fail(
      family === 6 ? 'TSNET_INVALID_ARGUMENT' : 'TSNET_POOL_EXHAUSTED',
      `no default ${fam} address pools are configured: give an ${fam} --subnet, or configure one with tsnetd --default-address-pool base=${family === 6 ? 'fd00:1::/48,size=64' : '10.10.0.0/16,size=24'}`,
    );
  }
  const bits = familyBits(family);
  for (const spec of ofFamily) {
    const base = parseSubnet(spec.base, 'base');
    const step = 1n << BigInt(bits - spec.size);
    const inBase = blockers.filter((b) => overlaps(b, base));
    let cand = base.network;
    while (cand + step - 1n <= base.last) {
      const candLast = cand + step - 1n;
      let blockedUntil: bigint | undefined;
      for (const b of inBase) {
        if (b.network <= candLast && b.last >= cand && (blockedUntil === undefined || b.last > blockedUntil)) {
          blockedUntil = b.last;
        }
      }
      if (blockedUntil === undefined) return makeCidr(cand, spec.size, family);
      cand = alignUp(blockedUntil + 1n, step);
    }
  }
  fail(
    'TSNET_POOL_EXHAUSTED',
    `could not find an available, non-overlapping ${fam} address pool among the defaults to assign to the network: configure more with tsnetd --default-address-pool`,
  );
}

/** Network (and IPv4 broadcast) offsets a subnet reserves, keyed by offset. */
export function edgeReservations(subnet: Cidr): Map<bigint, string> {
  const m = new Map<bigint, string>();
  if (reservesEdges(subnet)) {
    m.set(0n, 'network address');
    if (subnet.family === 4) m.set(subnet.last - subnet.network, 'broadcast address');
  }
  return m;
}
