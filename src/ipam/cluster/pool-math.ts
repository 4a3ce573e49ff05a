/**
 * Pure helpers of the cluster IPAM: pool ids, the address geometry of a pool (dynamic range,
 * reserved addresses), and the serial choice of the next candidate address. No I/O.
 */
import { TsnetError } from '../../errors/index.js';
import { createOffsetSet, type OffsetSet } from '../bitmap.js';
import { familyBits, formatIp, parseIp, parseSubnet, type Cidr } from '../../lib/cidr.js';
import { edgeReservations } from '../pool-planner.js';
import type { PoolRecord } from '../store-api.js';

/** Docker's global address space name (pool ids look like `GlobalDefault/10.0.1.0/24`). */
export const GLOBAL_ADDRESS_SPACE = 'GlobalDefault';

/** The subnet a pool id names: `GlobalDefault/10.77.0.0/24[/10.77.0.128/25]` → `10.77.0.0/24`. */
export function subnetOfPoolId(poolId: string): string {
  const parts = typeof poolId === 'string' ? poolId.split('/') : [];
  if ((parts.length !== 3 && parts.length !== 5) || parts[0] !== GLOBAL_ADDRESS_SPACE) {
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `IPAM pool ${JSON.stringify(poolId)} is not a cluster pool id (expected ${GLOBAL_ADDRESS_SPACE}/<subnet>[/<ip-range>])`,
    );
  }
  const subnet = `${parts[1]}/${parts[2]}`;
  parseSubnet(subnet, 'pool subnet');
  return subnet;
}

export interface PoolGeometry {
  subnet: Cidr;
  /** Dynamic allocation bounds (offsets from the network address), from the ip-range. */
  lo: bigint;
  hi: bigint;
  /** Offsets never handed out: network/broadcast, gateway, aux addresses. */
  reserved: Map<bigint, string>;
  size: bigint;
}

export function poolGeometry(rec: PoolRecord): PoolGeometry {
  const subnet = parseSubnet(rec.subnet, 'subnet');
  const range = rec.ipRange ? parseSubnet(rec.ipRange, 'ip-range') : subnet;
  const reserved = edgeReservations(subnet);
  reserved.set(parseIp(rec.gateway, 'gateway', 'TSNET_BAD_GATEWAY').value - subnet.network, 'gateway');
  for (const [n, ip] of Object.entries(rec.auxAddresses ?? {})) {
    reserved.set(parseIp(ip, `auxiliary address ${n}`).value - subnet.network, `auxiliary address "${n}"`);
  }
  return {
    subnet,
    lo: range.network - subnet.network,
    hi: range.last - subnet.network,
    reserved,
    size: 1n << BigInt(familyBits(subnet.family) - subnet.prefix),
  };
}

/** A used-offset set with the reserved offsets already marked. */
export function usedSet(g: PoolGeometry): OffsetSet {
  const used = createOffsetSet(g.size);
  for (const off of g.reserved.keys()) if (off >= 0n && off < g.size) used.add(off);
  return used;
}

export function ipAt(g: PoolGeometry, offset: bigint): string {
  return formatIp(g.subnet.network + offset, g.subnet.family);
}

/**
 * The offset of a requested address, validated: inside the subnet, not the network/broadcast
 * address, not reserved. (The ip-range limits dynamic allocation only, as in Docker.)
 */
export function offsetOfRequested(g: PoolGeometry, ip: string, networkName: string): bigint {
  const a = parseIp(ip, 'IP address');
  const net = `network "${networkName}"`;
  const subnetText = `${formatIp(g.subnet.network, g.subnet.family)}/${g.subnet.prefix}`;
  if (a.family !== g.subnet.family || a.value < g.subnet.network || a.value > g.subnet.last) {
    throw new TsnetError(
      'TSNET_BAD_IP',
      `IP address ${ip} is not in subnet ${subnetText} of ${net}: choose an address inside it`,
    );
  }
  const off = a.value - g.subnet.network;
  const what = g.reserved.get(off);
  if (what === 'network address' || what === 'broadcast address') {
    throw new TsnetError(
      'TSNET_BAD_IP',
      `IP address ${ip} is the ${what} of subnet ${subnetText} of ${net}: choose another address`,
    );
  }
  if (what !== undefined)
    throw new TsnetError('TSNET_ADDRESS_IN_USE', `IP address ${ip} is reserved as the ${what} of ${net}: choose another address`);
  return off;
}

/**
 * The next free offset after `cursor` inside [lo, hi], wrapping around once (serial
 * allocation, as Docker does, delays the reuse of released addresses). `wrapped` tells that
 * the search went past hi — the moment to refresh a stale used-set.
 */
export function nextCandidate(
  g: PoolGeometry,
  used: OffsetSet,
  cursor: bigint | undefined,
): { offset: bigint; wrapped: boolean } | undefined {
  const start = cursor !== undefined && cursor + 1n >= g.lo && cursor + 1n <= g.hi ? cursor + 1n : g.lo;
  const ahead = used.nextFree(start, g.hi);
  if (ahead !== undefined) return { offset: ahead, wrapped: false };
  if (start > g.lo) {
    const behind = used.nextFree(g.lo, start - 1n);
    if (behind !== undefined) return { offset: behind, wrapped: true };
  }
  return undefined;
}
