/**
 * The etcd key layout (documented in docs/overlay.md). Everything lives under one prefix
 * (default `/tsnet/v1`), split so that one watch on `state/` sees exactly what every daemon
 * mirrors (nodes, networks, endpoints) and nothing of the allocation bookkeeping:
 *
 *   <p>/state/nodes/<node-id>                         NodeRecord        (node lease)
 *   <p>/state/networks/<network-id>                   GlobalNetworkRecord
 *   <p>/state/endpoints/<network-id>/<endpoint-id>    EndpointRecord    (owner node's lease)
 *   <p>/alloc/network-names/<name>                    network id
 *   <p>/alloc/vni/<vni>                               network id
 *   <p>/ipam/pools/<pool-key>                         PoolRecord
 *   <p>/ipam/cursor/<pool-key>                        {last, serial}
 *   <p>/ipam/addresses/<pool-key>/<ip>                {owner, node, mac?, serial?}
 *   <p>/ipam/owners/<pool-key>/<owner>                ip
 *   <p>/ipam/gone/<node-id>                           {node, since, graceSeconds}  a node found gone
 *   <p>/ipam/grace/<node-id>                          ""  under a lease of the grace period
 *
 * `<pool-key>` is the pool's subnet with `/` written `-` (`10.77.0.0-24`): subnets of global
 * pools never overlap, so the subnet names the pool.
 */
import { TsnetError } from '../../errors/index.js';

export const DEFAULT_PREFIX = '/tsnet/v1';

const SEGMENT_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,254}$/;

/** A key segment must not contain `/` (ids, names, IPs, subnet keys all qualify). */
export function checkSegment(what: string, value: string): string {
  if (typeof value !== 'string' || !SEGMENT_RE.test(value)) {
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `invalid ${what} ${JSON.stringify(value)} for the cluster store: letters, digits, '.', '_', ':' and '-' only`,
    );
  }
  return value;
}

/** The first key after every key that starts with `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

export type StateKey =
  | { kind: 'node'; nodeId: string }
  | { kind: 'network'; networkId: string }
  | { kind: 'endpoint'; networkId: string; endpointId: string };

/** Subnet text → pool key: `10.77.0.0/24` → `10.77.0.0-24`, `fd00:1::/64` → `fd00:1::-64`. */
export function poolKeyOf(subnet: string): string {
  return subnet.replace('/', '-');
}

export class KeyLayout {
  readonly prefix: string;

  constructor(prefix: string = DEFAULT_PREFIX) {
    if (!/^\/[A-Za-z0-9_.\-/]*[A-Za-z0-9_.-]$/.test(prefix) || prefix.includes('//')) {
      throw new TsnetError(
        'TSNET_INVALID_ARGUMENT',
        `invalid cluster store key prefix ${JSON.stringify(prefix)}: use an absolute path like ${DEFAULT_PREFIX}`,
      );
    }
    this.prefix = prefix;
  }

  // ---- mirrored state (one watch on state/)
  state(): string {
    return `${this.prefix}/state/`;
  }
  nodes(): string {
    return `${this.prefix}/state/nodes/`;
  }
  node(nodeId: string): string {
    return `${this.nodes()}${checkSegment('node id', nodeId)}`;
  }
  networks(): string {
    return `${this.prefix}/state/networks/`;
  }
  network(networkId: string): string {
    return `${this.networks()}${checkSegment('network id', networkId)}`;
  }
  endpoints(networkId?: string): string {
    const all = `${this.prefix}/state/endpoints/`;
    return networkId === undefined ? all : `${all}${checkSegment('network id', networkId)}/`;
  }
  endpoint(networkId: string, endpointId: string): string {
    return `${this.endpoints(networkId)}${checkSegment('endpoint id', endpointId)}`;
  }

  // ---- allocation bookkeeping
  networkName(name: string): string {
    return `${this.prefix}/alloc/network-names/${checkSegment('network name', name)}`;
  }
  vnis(): string {
    return `${this.prefix}/alloc/vni/`;
  }
  vni(vni: number): string {
    return `${this.vnis()}${vni}`;
  }

  // ---- cluster IPAM
  pools(): string {
    return `${this.prefix}/ipam/pools/`;
  }
  pool(poolKey: string): string {
    return `${this.pools()}${checkSegment('pool key', poolKey)}`;
  }
  cursor(poolKey: string): string {
    return `${this.prefix}/ipam/cursor/${checkSegment('pool key', poolKey)}`;
  }
  addresses(poolKey: string): string {
    return `${this.prefix}/ipam/addresses/${checkSegment('pool key', poolKey)}/`;
  }
  address(poolKey: string, ip: string): string {
    return `${this.addresses(poolKey)}${checkSegment('IP address', ip)}`;
  }
  /** Every address of every pool. */
  allAddresses(): string {
    return `${this.prefix}/ipam/addresses/`;
  }
  /** Nodes found gone whose addresses wait for reclaiming (src/ipam/cluster/reclaim.ts). */
  goneNodes(): string {
    return `${this.prefix}/ipam/gone/`;
  }
  goneNode(nodeId: string): string {
    return `${this.goneNodes()}${checkSegment('node id', nodeId)}`;
  }
  /** The grace timer of a gone node: a key under a lease whose TTL is the grace period. */
  graces(): string {
    return `${this.prefix}/ipam/grace/`;
  }
  grace(nodeId: string): string {
    return `${this.graces()}${checkSegment('node id', nodeId)}`;
  }
  owners(poolKey: string): string {
    return `${this.prefix}/ipam/owners/${checkSegment('pool key', poolKey)}/`;
  }
  owner(poolKey: string, owner: string): string {
    return `${this.owners(poolKey)}${checkSegment('address owner', owner)}`;
  }

  /** What a key under state/ names, or undefined for anything else. */
  parseState(key: string): StateKey | undefined {
    const base = this.state();
    if (!key.startsWith(base)) return undefined;
    const parts = key.slice(base.length).split('/');
    if (parts[0] === 'nodes' && parts.length === 2 && parts[1]) return { kind: 'node', nodeId: parts[1] };
    if (parts[0] === 'networks' && parts.length === 2 && parts[1]) return { kind: 'network', networkId: parts[1] };
    if (parts[0] === 'endpoints' && parts.length === 3 && parts[1] && parts[2]) {
      return { kind: 'endpoint', networkId: parts[1], endpointId: parts[2] };
    }
    return undefined;
  }
}
