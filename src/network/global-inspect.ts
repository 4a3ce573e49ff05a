/**
 * `network inspect` of a global (overlay) network shows every host's endpoints, as Docker's
 * classic multi-host mode did: containers of this host under their container id, those of
 * other hosts under `ep-<endpoint id>`, each with the node it runs on (`Node`, a tsnet
 * addition), and `Peers` (Docker's field): the nodes with endpoints on the network.
 */
import type { EndpointRecord } from '../store/cluster/records.js';

/** What the inspect needs from the cluster store (ClusterStore provides it). */
export interface InspectCluster {
  readonly nodeId: string;
  endpoints(networkId: string): EndpointRecord[];
  nodes(): Array<{ id: string; advertiseAddr: string }>;
}

export interface ContainerEntry {
  Name: string;
  EndpointID: string;
  MacAddress: string;
  IPv4Address: string;
  IPv6Address: string;
  Node?: string;
}

/**
 * The inspect key of an endpoint that belongs to no local container (another host's, or one
 * waiting for its plugin): Docker keys such entries by name of their own ("lb-<network>").
 */
export function endpointEntryKey(endpointId: string): string {
  return `ep-${endpointId}`;
}

export function withClusterEndpoints<T extends { Id: string; Containers: Record<string, ContainerEntry> }>(
  json: T,
  cluster: InspectCluster,
): T & { Peers: Array<{ Name: string; IP: string }> } {
  const records = cluster.endpoints(json.Id);
  const containers: Record<string, ContainerEntry> = {};
  for (const [key, c] of Object.entries(json.Containers)) containers[key] = { ...c, Node: cluster.nodeId };
  for (const r of records) {
    if (r.node === cluster.nodeId) continue;
    containers[endpointEntryKey(r.endpointId)] = {
      Name: r.name ?? '',
      EndpointID: r.endpointId,
      MacAddress: r.mac,
      IPv4Address: r.address ?? '',
      IPv6Address: r.addressV6 ?? '',
      Node: r.node,
    };
  }
  const vteps = new Map(cluster.nodes().map((n) => [n.id, n.advertiseAddr]));
  const peers = new Map<string, string>();
  for (const r of records) peers.set(r.node, vteps.get(r.node) ?? r.vtep);
  return {
    ...json,
    Containers: containers,
    Peers: [...peers].sort(([a], [b]) => a.localeCompare(b)).map(([Name, IP]) => ({ Name, IP })),
  };
}
