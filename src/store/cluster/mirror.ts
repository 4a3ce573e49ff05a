/**
 * The daemon's local copy of the cluster's state/ keys (nodes, networks, endpoints), pure:
 * fed with full listings and watch events, it answers reads without etcd and turns every
 * change into events. Revisions make it safe against reordering: a put or delete older than
 * what the mirror holds (or than a delete it applied itself) is ignored.
 *
 * When etcd goes away the mirror is simply left as it is — nothing is withdrawn from the data
 * path until a fresh listing says so.
 */
import type { KeyLayout } from './keys.js';
import {
  decodeEndpoint,
  decodeNetwork,
  decodeNode,
  type EndpointRecord,
  type GlobalNetworkRecord,
  type NodeRecord,
} from './records.js';

export type ChangeType = 'added' | 'updated' | 'removed';

export type ClusterEvent =
  | { kind: 'node'; type: ChangeType; node: NodeRecord; previous?: NodeRecord }
  | { kind: 'network'; type: ChangeType; network: GlobalNetworkRecord; previous?: GlobalNetworkRecord }
  | { kind: 'endpoint'; type: ChangeType; endpoint: EndpointRecord; previous?: EndpointRecord }
  /**
   * available false: etcd was lost (kernel state stays, changes are refused).
   * available true + resynced: a full listing was applied after (re)connecting.
   */
  | { kind: 'status'; available: boolean; resynced: boolean; reason?: string };

interface Entry<T> {
  rec: T;
  text: string;
  modRevision: bigint;
}

export interface MirrorKv {
  key: string;
  value: string;
  modRevision: string;
}

const rev = (r: string | bigint): bigint => (typeof r === 'bigint' ? r : BigInt(r || '0'));

export class StateMirror {
  private readonly nodesMap = new Map<string, Entry<NodeRecord>>();
  private readonly networksMap = new Map<string, Entry<GlobalNetworkRecord>>();
  /** key: `<networkId>/<endpointId>` */
  private readonly endpointsMap = new Map<string, Entry<EndpointRecord>>();
  /** Deletes applied locally before the watch saw them: key → revision. */
  private readonly tombstones = new Map<string, bigint>();
  /** Records that did not decode, one line each (for the log). */
  readonly warnings: string[] = [];

  constructor(private readonly keys: KeyLayout) {}

  // ------------------------------------------------------------------ reads

  nodes(): NodeRecord[] {
    return [...this.nodesMap.values()].map((e) => e.rec);
  }
  node(id: string): NodeRecord | undefined {
    return this.nodesMap.get(id)?.rec;
  }
  networks(): GlobalNetworkRecord[] {
    return [...this.networksMap.values()].map((e) => e.rec);
  }
  network(id: string): GlobalNetworkRecord | undefined {
    return this.networksMap.get(id)?.rec;
  }
  endpoints(networkId?: string): EndpointRecord[] {
    const out: EndpointRecord[] = [];
    for (const e of this.endpointsMap.values()) if (networkId === undefined || e.rec.networkId === networkId) out.push(e.rec);
    return out;
  }
  endpoint(networkId: string, endpointId: string): EndpointRecord | undefined {
    return this.endpointsMap.get(`${networkId}/${endpointId}`)?.rec;
  }

  // ------------------------------------------------------------------ changes

  /** Replace everything with a full listing of state/ (taken at one revision). */
  replaceAll(kvs: MirrorKv[]): ClusterEvent[] {
    this.tombstones.clear();
    const seen = new Set<string>();
    const adds: ClusterEvent[] = [];
    for (const kv of kvs) {
      const id = this.idOf(kv.key);
      if (!id) continue;
      seen.add(`${id.kind}:${id.id}`);
      adds.push(...this.put(kv, true));
    }
    const removes: ClusterEvent[] = [];
    for (const [id, e] of this.endpointsMap) if (!seen.has(`endpoint:${id}`)) removes.push(...this.remove('endpoint', id, e));
    for (const [id, e] of this.networksMap) if (!seen.has(`network:${id}`)) removes.push(...this.remove('network', id, e));
    for (const [id, e] of this.nodesMap) if (!seen.has(`node:${id}`)) removes.push(...this.remove('node', id, e));
    const order = { node: 0, network: 1, endpoint: 2, status: 3 } as const;
    adds.sort((a, b) => order[a.kind] - order[b.kind]);
    return [...removes, ...adds];
  }

  /** A put seen by the watch, or written by this daemon (read-your-writes). */
  applyPut(kv: MirrorKv): ClusterEvent[] {
    const t = this.tombstones.get(kv.key);
    if (t !== undefined && rev(kv.modRevision) <= t) return [];
    return this.put(kv, false);
  }

  /** A delete seen by the watch (at `revision`), or made by this daemon. */
  applyDelete(key: string, revision: string, local = false): ClusterEvent[] {
    const r = rev(revision);
    if (local) this.tombstones.set(key, r);
    else {
      // the watch has caught up to r: older tombstones are no longer needed
      for (const [k, tr] of this.tombstones) if (tr <= r) this.tombstones.delete(k);
    }
    const id = this.idOf(key);
    if (!id) return [];
    const map = this.mapOf(id.kind);
    const cur = map.get(id.id);
    if (!cur || cur.modRevision >= r) return [];
    return this.remove(id.kind, id.id, cur);
  }

  /** Tell the mirror the watch reached `revision` (drops tombstones it no longer needs). */
  watchedTo(revision: string): void {
    const r = rev(revision);
    for (const [k, tr] of this.tombstones) if (tr <= r) this.tombstones.delete(k);
  }

  // ------------------------------------------------------------------ internals

  private idOf(key: string): { kind: 'node' | 'network' | 'endpoint'; id: string } | undefined {
    const p = this.keys.parseState(key);
    if (!p) return undefined;
    if (p.kind === 'node') return { kind: 'node', id: p.nodeId };
    if (p.kind === 'network') return { kind: 'network', id: p.networkId };
    return { kind: 'endpoint', id: `${p.networkId}/${p.endpointId}` };
  }

  private mapOf(kind: 'node' | 'network' | 'endpoint'): Map<string, Entry<never>> {
    return (kind === 'node' ? this.nodesMap : kind === 'network' ? this.networksMap : this.endpointsMap) as Map<
      string,
      Entry<never>
    >;
  }

  private put(kv: MirrorKv, fromListing: boolean): ClusterEvent[] {
    const id = this.idOf(kv.key);
    if (!id) return [];
    const r = rev(kv.modRevision);
    const map = this.mapOf(id.kind);
    const cur = map.get(id.id) as Entry<unknown> | undefined;
    if (cur && (fromListing ? cur.text === kv.value && cur.modRevision === r : cur.modRevision >= r)) return [];
    if (cur && cur.text === kv.value) {
      cur.modRevision = r;
      return [];
    }
    const decoded =
      id.kind === 'node' ? decodeNode(kv.value) : id.kind === 'network' ? decodeNetwork(kv.value) : decodeEndpoint(kv.value);
    if (!decoded.ok) {
      this.warnings.push(`skipped ${kv.key}: ${decoded.reason}`);
      if (this.warnings.length > 100) this.warnings.shift();
      return [];
    }
    const entry = { rec: decoded.value, text: kv.value, modRevision: r };
    (map as Map<string, Entry<unknown>>).set(id.id, entry);
    const type: ChangeType = cur ? 'updated' : 'added';
    return [this.event(id.kind, type, decoded.value, cur?.rec)];
  }

  private remove(kind: 'node' | 'network' | 'endpoint', id: string, e: Entry<unknown>): ClusterEvent[] {
    this.mapOf(kind).delete(id);
    return [this.event(kind, 'removed', e.rec, undefined)];
  }

  private event(kind: 'node' | 'network' | 'endpoint', type: ChangeType, rec: unknown, previous: unknown): ClusterEvent {
    const prev = previous === undefined ? {} : { previous };
    if (kind === 'node') return { kind, type, node: rec as NodeRecord, ...(prev as { previous?: NodeRecord }) };
    if (kind === 'network')
      return { kind, type, network: rec as GlobalNetworkRecord, ...(prev as { previous?: GlobalNetworkRecord }) };
    return { kind, type, endpoint: rec as EndpointRecord, ...(prev as { previous?: EndpointRecord }) };
  }
}
