/**
 * The remote endpoints of one overlay network as seen from this host, and the kernel entries
 * they need on the VXLAN device: a permanent neighbour entry IP → MAC (answered locally by the
 * device's ARP proxy) and a static FDB entry MAC → remote VTEP. Pure.
 *
 * Deletes are safe against address reuse (the trap of Docker's moby#33789): when two records
 * claim the same IP or MAC — a stale one still in the store and its successor — the most
 * recently seen one owns the entry, and removing the other does not remove it.
 */
import type { EndpointRecord } from '../../../store/cluster/records.js';

export interface Peer {
  /** The endpoint's IPv4 address (its IPv6 address when it has no IPv4 one). */
  ip: string;
  /** Its IPv6 address, when it has both. */
  ip6?: string;
  mac: string;
  vtep: string;
}

/** Every address of a peer (one neighbour entry each). */
export function ipsOf(p: Peer): string[] {
  return p.ip6 ? [p.ip, p.ip6] : [p.ip];
}

const samePeer = (a: Peer, b: Peer): boolean => a.ip === b.ip && a.ip6 === b.ip6 && a.mac === b.mac && a.vtep === b.vtep;

export type PeerOp =
  | { op: 'neigh-set'; ip: string; mac: string }
  | { op: 'neigh-del'; ip: string }
  | { op: 'fdb-set'; mac: string; vtep: string }
  | { op: 'fdb-del'; mac: string };

/** A record is a peer of this host when it is another node's, joined, and has an address. */
export function peerOf(rec: EndpointRecord, selfNode: string): Peer | undefined {
  if (rec.node === selfNode || !rec.joined) return undefined;
  const v4 = rec.address?.split('/')[0];
  const v6 = rec.addressV6?.split('/')[0];
  const ip = v4 ?? v6;
  if (!ip) return undefined;
  return { ip, ...(v4 && v6 ? { ip6: v6 } : {}), mac: rec.mac.toLowerCase(), vtep: rec.vtep };
}

export class PeerTable {
  private readonly peers = new Map<string, Peer & { seq: number }>();
  private seq = 0;

  get size(): number {
    return this.peers.size;
  }

  get(endpointId: string): Peer | undefined {
    return this.peers.get(endpointId);
  }

  /** Add or change a peer; returns the kernel changes. */
  upsert(endpointId: string, peer: Peer): PeerOp[] {
    const prev = this.peers.get(endpointId);
    if (prev && samePeer(prev, peer)) return [];
    this.peers.set(endpointId, { ...peer, seq: ++this.seq });
    const ops: PeerOp[] = [];
    const now = ipsOf(peer);
    if (prev) for (const ip of ipsOf(prev)) if (!now.includes(ip)) ops.push(...this.ipReleased(ip));
    if (prev && prev.mac !== peer.mac) ops.push(...this.macReleased(prev.mac));
    for (const ip of now) ops.push({ op: 'neigh-set', ip, mac: peer.mac });
    ops.push({ op: 'fdb-set', mac: peer.mac, vtep: peer.vtep });
    return ops;
  }

  /** Forget a peer; returns the kernel changes. Unknown: nothing. */
  remove(endpointId: string): PeerOp[] {
    const prev = this.peers.get(endpointId);
    if (!prev) return [];
    this.peers.delete(endpointId);
    return [...ipsOf(prev).flatMap((ip) => this.ipReleased(ip)), ...this.macReleased(prev.mac)];
  }

  /** The entries the VXLAN device should hold: ip → mac, mac → vtep. */
  desired(): { neigh: Map<string, string>; fdb: Map<string, string> } {
    const byIp = new Map<string, Peer & { seq: number }>();
    const byMac = new Map<string, Peer & { seq: number }>();
    for (const p of this.peers.values()) {
      for (const ip of ipsOf(p)) {
        const a = byIp.get(ip);
        if (!a || a.seq < p.seq) byIp.set(ip, p);
      }
      const b = byMac.get(p.mac);
      if (!b || b.seq < p.seq) byMac.set(p.mac, p);
    }
    return {
      neigh: new Map([...byIp].map(([ip, p]) => [ip, p.mac])),
      fdb: new Map([...byMac].map(([mac, p]) => [mac, p.vtep])),
    };
  }

  /** Replace the whole table (a full listing); peers already known keep their order. */
  replaceAll(peers: Map<string, Peer>): void {
    for (const id of [...this.peers.keys()]) if (!peers.has(id)) this.peers.delete(id);
    for (const [id, p] of peers) {
      const cur = this.peers.get(id);
      if (!cur || !samePeer(cur, p)) this.peers.set(id, { ...p, seq: ++this.seq });
    }
  }

  private newest(pred: (p: Peer) => boolean): Peer | undefined {
    let best: (Peer & { seq: number }) | undefined;
    for (const p of this.peers.values()) if (pred(p) && (!best || best.seq < p.seq)) best = p;
    return best;
  }

  private ipReleased(ip: string): PeerOp[] {
    const other = this.newest((p) => ipsOf(p).includes(ip));
    return other ? [{ op: 'neigh-set', ip, mac: other.mac }] : [{ op: 'neigh-del', ip }];
  }

  private macReleased(mac: string): PeerOp[] {
    const other = this.newest((p) => p.mac === mac);
    return other ? [{ op: 'fdb-set', mac, vtep: other.vtep }] : [{ op: 'fdb-del', mac }];
  }
}
