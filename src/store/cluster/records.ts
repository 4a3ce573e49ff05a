/**
 * What the cluster store holds, as JSON values. Decoding is defensive: a record written by a
 * newer or broken daemon that does not fit is skipped (and reported), never trusted.
 */
import type { IpamData } from '../../network/driver-api.js';

/** One daemon, registered under its lease while it is alive. */
export interface NodeRecord {
  /** Node id (default: the advertise address). */
  id: string;
  /** Underlay address other hosts send VXLAN to (the VTEP). */
  advertiseAddr: string;
  /** When this daemon registered (ISO time). */
  startedAt: string;
  version?: string;
}

/** A global-scope network, the same on every host. */
export interface GlobalNetworkRecord {
  id: string;
  name: string;
  /** Driver name ("overlay"). */
  driver: string;
  /** The VXLAN network identifier (overlay). */
  vni?: number;
  options: Record<string, string>;
  labels: Record<string, string>;
  internal: boolean;
  attachable: boolean;
  enableIPv6: boolean;
  /** IPAM driver name and options as given at create. */
  ipamDriver: string;
  ipamOptions: Record<string, string>;
  ipv4: IpamData[];
  ipv6: IpamData[];
  /** Pool ids of the cluster IPAM (to release at delete). */
  poolIds?: string[];
  /**
   * The pools as the controller keeps them (NetworkRecord.pools), so another host can rebuild
   * its local record without asking the IPAM again.
   */
  pools?: GlobalPoolRef[];
  created: string;
  /** Node that created it. */
  createdBy?: string;
}

export interface GlobalPoolRef {
  poolId: string;
  subnet: string;
  /** Plain IP. */
  gateway: string;
  v6: boolean;
  ipRange?: string;
}

/** One endpoint of a global network on one host (a peer, seen from the other hosts). */
export interface EndpointRecord {
  networkId: string;
  endpointId: string;
  containerId?: string;
  /** Container name, for the embedded DNS of every host. */
  name?: string;
  /** Network-scoped aliases (`--network-alias`), for DNS. */
  aliases: string[];
  /** Address with prefix (10.77.0.2/24). */
  address?: string;
  addressV6?: string;
  mac: string;
  /** Owner node id. */
  node: string;
  /** Owner node's VTEP (its advertise address). */
  vtep: string;
  /** The endpoint is joined to a running sandbox: peers program it into their data path. */
  joined: boolean;
}

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; reason: string };

function obj(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
const isStr = (v: unknown): v is string => typeof v === 'string';
const strMap = (v: unknown): Record<string, string> => {
  const o = obj(v);
  const out: Record<string, string> = {};
  if (o) for (const [k, x] of Object.entries(o)) if (isStr(x)) out[k] = x;
  return out;
};
const strList = (v: unknown): string[] => (Array.isArray(v) ? v.filter(isStr) : []);

function parse(text: string): Record<string, unknown> | undefined {
  try {
    return obj(JSON.parse(text));
  } catch {
    return undefined;
  }
}

export function decodeNode(text: string): DecodeResult<NodeRecord> {
  const o = parse(text);
  if (!o || !isStr(o.id) || !isStr(o.advertiseAddr)) return { ok: false, reason: 'not a node record' };
  const r: NodeRecord = { id: o.id, advertiseAddr: o.advertiseAddr, startedAt: isStr(o.startedAt) ? o.startedAt : '' };
  if (isStr(o.version)) r.version = o.version;
  return { ok: true, value: r };
}

function ipamData(v: unknown): IpamData[] {
  if (!Array.isArray(v)) return [];
  const out: IpamData[] = [];
  for (const x of v) {
    const o = obj(x);
    if (!o || !isStr(o.pool)) continue;
    const d: IpamData = { pool: o.pool };
    if (isStr(o.gateway)) d.gateway = o.gateway;
    if (obj(o.auxAddresses)) d.auxAddresses = strMap(o.auxAddresses);
    out.push(d);
  }
  return out;
}

export function decodeNetwork(text: string): DecodeResult<GlobalNetworkRecord> {
  const o = parse(text);
  if (!o || !isStr(o.id) || !isStr(o.name) || !isStr(o.driver)) return { ok: false, reason: 'not a network record' };
  const r: GlobalNetworkRecord = {
    id: o.id,
    name: o.name,
    driver: o.driver,
    options: strMap(o.options),
    labels: strMap(o.labels),
    internal: o.internal === true,
    attachable: o.attachable === true,
    enableIPv6: o.enableIPv6 === true,
    ipamDriver: isStr(o.ipamDriver) ? o.ipamDriver : 'default',
    ipamOptions: strMap(o.ipamOptions),
    ipv4: ipamData(o.ipv4),
    ipv6: ipamData(o.ipv6),
    created: isStr(o.created) ? o.created : '',
  };
  const vni = o.vni;
  if (vni !== undefined) {
    if (!Number.isInteger(vni) || (vni as number) < 1 || (vni as number) > 0xffffff)
      return { ok: false, reason: `bad vni ${JSON.stringify(vni)}` };
    r.vni = vni as number;
  }
  if (Array.isArray(o.poolIds)) r.poolIds = strList(o.poolIds);
  if (Array.isArray(o.pools)) {
    r.pools = [];
    for (const x of o.pools as unknown[]) {
      const p = obj(x);
      if (!p || !isStr(p.poolId) || !isStr(p.subnet) || !isStr(p.gateway)) continue;
      const ref: GlobalPoolRef = { poolId: p.poolId, subnet: p.subnet, gateway: p.gateway, v6: p.v6 === true };
      if (isStr(p.ipRange)) ref.ipRange = p.ipRange;
      r.pools.push(ref);
    }
  }
  if (isStr(o.createdBy)) r.createdBy = o.createdBy;
  return { ok: true, value: r };
}

export function decodeEndpoint(text: string): DecodeResult<EndpointRecord> {
  const o = parse(text);
  if (!o) return { ok: false, reason: 'not JSON' };
  for (const k of ['networkId', 'endpointId', 'mac', 'node', 'vtep'] as const) {
    if (!isStr(o[k])) return { ok: false, reason: `endpoint record without ${k}` };
  }
  const r: EndpointRecord = {
    networkId: o.networkId as string,
    endpointId: o.endpointId as string,
    aliases: strList(o.aliases),
    mac: o.mac as string,
    node: o.node as string,
    vtep: o.vtep as string,
    joined: o.joined === true,
  };
  for (const k of ['containerId', 'name', 'address', 'addressV6'] as const) {
    const v = o[k];
    if (isStr(v)) r[k] = v;
  }
  return { ok: true, value: r };
}

/** Deterministic JSON (stable key order) so equal records compare equal as text. */
export function encodeRecord(r: object): string {
  return JSON.stringify(r, (_k, v: unknown) => {
    const o = obj(v);
    if (!o) return v;
    return Object.fromEntries(
      Object.keys(o)
        .sort()
        .map((k) => [k, o[k]]),
    );
  });
}
