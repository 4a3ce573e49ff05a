/**
 * What the daemon holds from one IPAM driver, for plugins whose capabilities say
 * RequiresRequestReplay (moby's controller.reservePools): every pool of every network that uses
 * the driver — with its subnet, range, gateway, aux addresses and options — and every endpoint
 * address inside those pools.
 */
import { canonicalCidr, contains } from '../lib/cidr.js';
import type { ReplayAddress, ReplayPool } from '../ipam/remote/index.js';
import type { NetworkRecord } from './network-record.js';

/** An endpoint's leased addresses (plain values: no container or runtime types). */
export interface HeldEndpoint {
  networkId: string;
  endpointId: string;
  /** The endpoint name sent with the first request (the container's name). */
  name?: string;
  /** CIDR form. */
  ipv4?: string;
  ipv6?: string;
  mac?: string;
}

export function replayPlan(
  ipamName: string,
  networks: Iterable<NetworkRecord>,
  endpoints: Iterable<HeldEndpoint>,
): { pools: ReplayPool[]; addresses: ReplayAddress[] } {
  const pools: ReplayPool[] = [];
  const byNetwork = new Map<string, NetworkRecord>();
  for (const n of networks) {
    if (n.ipam.driver !== ipamName || n.removing) continue;
    byNetwork.set(n.id, n);
    for (const p of n.pools) {
      const entry = n.ipam.config.find((c) => c.Subnet && canonicalCidr(c.Subnet) === p.subnet);
      const aux = entry?.AuxiliaryAddresses;
      pools.push({
        networkId: n.id,
        networkName: n.name,
        poolId: p.poolId,
        subnet: p.subnet,
        ...(p.ipRange ? { ipRange: p.ipRange } : {}),
        gateway: p.gateway,
        ...(aux && Object.keys(aux).length ? { auxAddresses: { ...aux } } : {}),
        ...(Object.keys(n.ipam.options).length ? { options: { ...n.ipam.options } } : {}),
        v6: p.v6,
      });
    }
  }
  const addresses: ReplayAddress[] = [];
  for (const e of endpoints) {
    const n = byNetwork.get(e.networkId);
    if (!n) continue;
    for (const [cidr, v6] of [
      [e.ipv4, false],
      [e.ipv6, true],
    ] as const) {
      if (!cidr) continue;
      const ip = cidr.split('/')[0]!;
      const pool = n.pools.find((p) => p.v6 === v6 && contains(p.subnet, ip));
      if (!pool) continue;
      addresses.push({
        poolId: pool.poolId,
        address: cidr,
        owner: e.endpointId,
        ...(e.name ? { name: e.name } : {}),
        ...(e.mac ? { mac: e.mac } : {}),
      });
    }
  }
  return { pools, addresses };
}
