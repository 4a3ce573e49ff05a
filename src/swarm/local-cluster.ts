/**
 * The overlay driver's control plane for a single-node swarm: what the etcd cluster store gives
 * it on many hosts, kept in this daemon's memory. One node has no peers, so nothing ever arrives
 * from elsewhere (no events) and the endpoint records are only this node's own — which the
 * driver publishes again at every restore, so they need no file. VNIs come from the network
 * records (their `vxlanid_list` option, via `vnisInUse`) plus the creates in flight.
 */
import { TsnetError } from '../errors/index.js';
import type { OverlayCluster } from '../network/drivers/overlay/index.js';
import type { EndpointInput } from '../store/cluster/cluster-store.js';
import type { EndpointRecord } from '../store/cluster/records.js';
import { pickVni } from '../store/cluster/vni.js';

export class LocalCluster implements OverlayCluster {
  private readonly records = new Map<string, Map<string, EndpointRecord>>();
  /** VNIs taken by creates that have no network record yet (network id → VNI). */
  private readonly reserved = new Map<string, number>();

  constructor(
    readonly nodeId: string,
    readonly advertiseAddr: string,
    private readonly vnisInUse: () => Map<string, number>,
  ) {}

  subscribe(): () => void {
    return () => undefined;
  }

  endpoints(networkId: string): EndpointRecord[] {
    return [...(this.records.get(networkId)?.values() ?? [])];
  }

  /** The VNI comes from the network's own options: nothing to add here. */
  network(): undefined {
    return undefined;
  }

  async putEndpoint(e: EndpointInput): Promise<EndpointRecord> {
    const rec: EndpointRecord = { ...e, aliases: e.aliases ?? [], node: this.nodeId, vtep: this.advertiseAddr };
    let m = this.records.get(e.networkId);
    if (!m) {
      m = new Map();
      this.records.set(e.networkId, m);
    }
    m.set(e.endpointId, rec);
    return rec;
  }

  async removeEndpoint(networkId: string, endpointId: string): Promise<void> {
    const m = this.records.get(networkId);
    m?.delete(endpointId);
    if (m?.size === 0) this.records.delete(networkId);
  }

  async allocateVni(networkId: string, requested?: number): Promise<number> {
    const used = new Map(this.vnisInUse());
    for (const [id, v] of this.reserved) used.set(id, v);
    used.delete(networkId);
    const taken = new Set(used.values());
    if (requested !== undefined) {
      if (taken.has(requested)) {
        throw new TsnetError('TSNET_VNI_IN_USE', `VXLAN id ${requested} is already used by another overlay network`);
      }
      this.reserved.set(networkId, requested);
      return requested;
    }
    const vni = pickVni(taken);
    if (vni === undefined) throw new TsnetError('TSNET_VNI_IN_USE', 'every VXLAN id is in use');
    this.reserved.set(networkId, vni);
    return vni;
  }

  async releaseVni(networkId: string): Promise<void> {
    this.reserved.delete(networkId);
  }
}
