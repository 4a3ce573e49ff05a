/** Persisted network records and their Docker API JSON. */
import type { EndpointRecord } from './sandbox-record.js';
import type { NetworkSpec, Scope } from './driver-api.js';

export interface IpamConfigEntry {
  Subnet?: string;
  Gateway?: string;
  IPRange?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

export interface PoolRef {
  poolId: string;
  subnet: string;
  gateway: string;
  v6: boolean;
  ipRange?: string;
}

export interface NetworkRecord {
  id: string;
  name: string;
  driver: string;
  scope: Scope;
  created: string;
  internal: boolean;
  attachable: boolean;
  enableIPv6: boolean;
  options: Record<string, string>;
  labels: Record<string, string>;
  ipam: { driver: string; options: Record<string, string>; config: IpamConfigEntry[] };
  pools: PoolRef[];
  /** Swarm mode's routing-mesh network (`ingress`; Docker's Ingress). */
  ingress?: boolean;
  /** bridge, host, none: made by the daemon, cannot be removed. */
  predefined?: boolean;
  /**
   * Saved before `network rm` touches the driver, IPAM or cluster (intent before effect): a
   * daemon that died during the removal finishes it at its next start.
   */
  removing?: boolean;
}

export function networkSpec(n: NetworkRecord): NetworkSpec {
  const prefix = (p: PoolRef) => p.subnet.split('/')[1];
  const data = (p: PoolRef) => ({ pool: p.subnet, gateway: `${p.gateway}/${prefix(p)}` });
  return {
    id: n.id,
    name: n.name,
    options: n.options,
    labels: n.labels,
    internal: n.internal,
    enableIPv6: n.enableIPv6,
    attachable: n.attachable,
    ipv4: n.pools.filter((p) => !p.v6).map(data),
    ipv6: n.pools.filter((p) => p.v6).map(data),
  };
}

export function networkJson(n: NetworkRecord, endpoints: EndpointRecord[]) {
  const attached: Record<
    string,
    { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }
  > = {};
  for (const ep of endpoints) {
    attached[ep.containerId] = {
      Name: ep.containerName,
      EndpointID: ep.endpointId,
      MacAddress: ep.mac ?? '',
      IPv4Address: ep.ipv4 ?? '',
      IPv6Address: ep.ipv6 ?? '',
    };
  }
  return {
    Name: n.name,
    Id: n.id,
    Created: n.created,
    Scope: n.scope,
    Driver: n.driver,
    EnableIPv6: n.enableIPv6,
    IPAM: {
      // the swarm's IPAM is Docker's default IPAM of swarm scope: Docker shows "default"
      Driver: n.ipam.driver === 'swarm' ? 'default' : n.ipam.driver,
      // Go marshals a nil map as null: Docker shows null unless --ipam-opt was given
      Options: Object.keys(n.ipam.options).length > 0 ? n.ipam.options : null,
      Config: n.pools.length
        ? n.pools.map((p) => {
            const given = n.ipam.config.find((c) => c.Subnet === p.subnet);
            return {
              Subnet: p.subnet,
              Gateway: p.gateway,
              ...(p.ipRange ? { IPRange: p.ipRange } : {}),
              ...(given?.AuxiliaryAddresses ? { AuxiliaryAddresses: given.AuxiliaryAddresses } : {}),
            };
          })
        : [],
    },
    Internal: n.internal,
    Attachable: n.attachable,
    Ingress: n.ingress === true,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: attached,
    Options: n.options,
    Labels: n.labels,
  };
}
