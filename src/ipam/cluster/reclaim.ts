/**
 * Reclaiming the cluster IPAM addresses of a host that is gone for good.
 *
 * Addresses are not under the node lease (a host cut off from etcd for a while must not lose
 * its containers' addresses), so something must free them when the host never comes back:
 *
 * 1. A node is *gone* when its node key is absent (its lease expired or was revoked) while
 *    addresses still name it. Any live daemon that notices writes, in one transaction that
 *    holds only while the node key is absent, a marker `ipam/gone/<node>` and a grace key
 *    `ipam/grace/<node>` under a fresh lease whose TTL is the grace period.
 * 2. etcd deletes the grace key when that lease expires: the grace is measured by etcd's
 *    leader on its own clock (a lease), never by comparing wall clocks of hosts.
 * 3. A node that registers again (ClusterStore.register) deletes both keys in its register
 *    transaction: a host that was only slow (paused, partitioned) keeps everything.
 * 4. A daemon that finds the marker without the grace key deletes the node's address and
 *    owner keys, each only if unchanged since it listed them, and only while the node key,
 *    the grace key are still absent and the marker present; then the marker.
 *
 * Several daemons may do this at once: every step is a compare-and-set, so the result is the
 * same. While any node is in its grace period, daemons look again every second or so (a read
 * of four key ranges; the timing itself is the lease's).
 *
 * A host that comes back after its addresses were reclaimed takes back, after every
 * (re)synchronisation, the addresses of its endpoints that are still free; one that another
 * endpoint took meanwhile is reported (its container must be restarted for a new address).
 */
import { TsnetError } from '../../errors/index.js';
import {
  cmpAbsent,
  cmpExists,
  cmpModRev,
  opDelete,
  opGet,
  opGetPrefix,
  opPut,
  rangeOf,
  type EtcdKv,
  type Kv,
} from '../../store/cluster/etcd.js';
import { poolKeyOf, type KeyLayout } from '../../store/cluster/keys.js';
import type { EndpointRecord } from '../../store/cluster/records.js';
import { formatCidr, formatIp, tryParseCidr } from '../../lib/cidr.js';
import type { ClusterEvent } from '../../store/cluster/mirror.js';

export interface ReclaimBackend {
  readonly kv: EtcdKv;
  readonly keys: KeyLayout;
  readonly nodeId: string;
  readonly available: boolean;
  subscribe(listener: (e: ClusterEvent) => void): () => void;
  /** This node's endpoint records (their addresses are taken back if they were reclaimed). */
  ownEndpoints(): EndpointRecord[];
}

export interface ReclaimLogger {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface ReclaimOptions {
  /** How long a node must stay gone before its addresses are freed (seconds; 0: never). */
  graceSeconds: number;
  logger: ReclaimLogger;
  /** How often to look again while a node is in its grace period (default min(1000, grace/4)). */
  pollMs?: number;
}

/** etcd's default --max-txn-ops is 128: two deletes and one compare per address. */
const CHUNK = 40;
export const DEFAULT_RECLAIM_SECONDS = 86_400;

export function checkGraceSeconds(v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 365 * 86_400) {
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `invalid --cluster-reclaim-after ${v}: a whole number of seconds (0 = never reclaim)`,
    );
  }
  return v;
}

interface AddressKv {
  key: string;
  modRevision: string;
  ownerKey?: string;
}

export class AddressReclaimer {
  private readonly unsubscribe: () => void;
  private readonly pollMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  /** A (re)synchronisation happened: take back this node's addresses if they were reclaimed. */
  private reassertWanted = false;

  constructor(
    private readonly b: ReclaimBackend,
    private readonly o: ReclaimOptions,
  ) {
    checkGraceSeconds(o.graceSeconds);
    this.pollMs = o.pollMs ?? Math.max(100, Math.min(1000, o.graceSeconds * 250));
    this.unsubscribe = b.subscribe((e) => {
      if (e.kind === 'status' && e.available) {
        this.reassertWanted = true;
        this.kick();
      } else if (e.kind === 'node' && e.type === 'removed') this.kick();
    });
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Take back this node's reclaimed addresses that are still free (after a restore). */
  reassertAddresses(): void {
    this.reassertWanted = true;
    this.kick();
  }

  /** Look now (one pass at a time; a kick during a pass runs another after it). */
  kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass()
      .then((pending) => {
        if (pending) this.schedule();
      })
      .catch((err: Error) => {
        this.o.logger.warn(`cluster address reclaim: ${err.message}`);
        this.schedule();
      })
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Resolves when no pass is running (tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private schedule(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, this.pollMs);
    this.timer.unref();
  }

  /** One look at the store; true while some node is in its grace period. */
  private async pass(): Promise<boolean> {
    if (!this.b.available) return false;
    if (this.reassertWanted) {
      this.reassertWanted = false;
      await this.reassert().catch((err: unknown) => {
        this.reassertWanted = true;
        throw err;
      });
    }
    if (this.o.graceSeconds === 0) return false;
    const k = this.b.keys;
    const res = await this.b.kv.txn(
      'list nodes and addresses for reclaiming',
      [],
      [
        opGetPrefix(k.nodes(), { keysOnly: true }),
        opGetPrefix(k.goneNodes()),
        opGetPrefix(k.graces(), { keysOnly: true }),
        opGetPrefix(k.allAddresses()),
      ],
    );
    const tail = (kv: Kv, prefix: string) => kv.key.slice(prefix.length);
    const live = new Set(rangeOf(res, 0).map((kv) => tail(kv, k.nodes())));
    const gone = new Set(rangeOf(res, 1).map((kv) => tail(kv, k.goneNodes())));
    const grace = new Set(rangeOf(res, 2).map((kv) => tail(kv, k.graces())));
    const byNode = new Map<string, AddressKv[]>();
    for (const kv of rangeOf(res, 3)) {
      const a = this.addressOf(kv);
      if (!a) continue;
      byNode.set(a.node, [...(byNode.get(a.node) ?? []), a.kv]);
    }
    let pending = false;
    for (const node of new Set([...byNode.keys(), ...gone])) {
      if (node === this.b.nodeId || live.has(node)) continue; // (a node that is back clears its own marker)
      if (!gone.has(node)) {
        await this.startGrace(node);
        pending = true;
      } else if (grace.has(node)) {
        pending = true;
      } else {
        pending = (await this.reclaim(node, byNode.get(node) ?? [])) || pending;
      }
    }
    return pending;
  }

  private addressOf(kv: Kv): { node: string; kv: AddressKv } | undefined {
    const rest = kv.key.slice(this.b.keys.allAddresses().length);
    const slash = rest.indexOf('/');
    if (slash <= 0) return undefined;
    const poolKey = rest.slice(0, slash);
    try {
      const o = JSON.parse(kv.value) as { node?: unknown; owner?: unknown };
      if (typeof o.node !== 'string') return undefined;
      const a: AddressKv = { key: kv.key, modRevision: kv.modRevision };
      if (typeof o.owner === 'string') a.ownerKey = this.b.keys.owner(poolKey, o.owner);
      return { node: o.node, kv: a };
    } catch {
      return undefined;
    }
  }

  private async startGrace(node: string): Promise<void> {
    const k = this.b.keys;
    const lease = await this.b.kv.grantLease(this.o.graceSeconds);
    const marker = JSON.stringify({
      node,
      since: new Date().toISOString(),
      graceSeconds: this.o.graceSeconds,
      by: this.b.nodeId,
    });
    const res = await this.b.kv.txn(
      `start the grace period of node ${node}`,
      [cmpAbsent(k.node(node)), cmpAbsent(k.goneNode(node))],
      [opPut(k.goneNode(node), marker), opPut(k.grace(node), '', lease)],
    );
    if (res.succeeded) {
      this.o.logger.info(
        `cluster node ${node} is gone: its addresses are reclaimed if it is not back within ${this.o.graceSeconds} s`,
      );
    } else {
      await this.b.kv.revokeLease(lease).catch(() => undefined);
    }
  }

  /** Free the gone node's addresses; true when something changed meanwhile (look again). */
  private async reclaim(node: string, addresses: AddressKv[]): Promise<boolean> {
    const k = this.b.keys;
    const still = [cmpAbsent(k.node(node)), cmpAbsent(k.grace(node)), cmpExists(k.goneNode(node))];
    let freed = 0;
    for (let i = 0; i < addresses.length; i += CHUNK) {
      const chunk = addresses.slice(i, i + CHUNK);
      const res = await this.b.kv.txn(
        `reclaim ${chunk.length} address(es) of node ${node}`,
        [...still, ...chunk.map((a) => cmpModRev(a.key, a.modRevision))],
        chunk.flatMap((a) => [opDelete(a.key), ...(a.ownerKey ? [opDelete(a.ownerKey)] : [])]),
      );
      if (!res.succeeded) return true; // the node is back, or an address changed: look again
      freed += chunk.length;
    }
    const done = await this.b.kv.txn(`forget gone node ${node}`, still, [opDelete(k.goneNode(node))]);
    if (done.succeeded) {
      this.o.logger.info(`cluster node ${node} stayed gone for ${this.o.graceSeconds} s: ${freed} address(es) reclaimed`);
    }
    return !done.succeeded;
  }

  /** Put back the address keys of this node's endpoints that are missing (reclaimed while away). */
  private async reassert(): Promise<void> {
    const k = this.b.keys;
    const items = this.b.ownEndpoints().flatMap((r) =>
      [r.address, r.addressV6].flatMap((a) => {
        const c = a ? tryParseCidr(a) : undefined;
        if (!c) return [];
        const ip = formatIp(c.address, c.family);
        const pk = poolKeyOf(formatCidr(c, true));
        return [{ r, ip, addrKey: k.address(pk, ip), ownerKey: k.owner(pk, r.endpointId), poolKey: k.pool(pk) }];
      }),
    );
    for (let i = 0; i < items.length; i += CHUNK) {
      const chunk = items.slice(i, i + CHUNK);
      const res = await this.b.kv.txn(
        `take back ${chunk.length} address(es) of this node`,
        [],
        chunk.map((x) => ({
          request_txn: {
            compare: [cmpAbsent(x.addrKey), cmpAbsent(x.ownerKey), cmpExists(x.poolKey)],
            success: [
              opPut(x.addrKey, JSON.stringify({ ip: x.ip, owner: x.r.endpointId, node: this.b.nodeId, mac: x.r.mac })),
              opPut(x.ownerKey, x.ip),
            ],
            failure: [opGet(x.addrKey)],
          },
        })),
      );
      chunk.forEach((x, j) => {
        const sub = res.responses[j]?.response_txn;
        const who = `endpoint ${x.r.endpointId.slice(0, 12)}${x.r.name ? ` (container ${x.r.name})` : ''}`;
        if (sub?.succeeded) {
          this.o.logger.info(`address ${x.ip} of ${who} was reclaimed while this host was away: taken back`);
          return;
        }
        const held = sub?.responses[0]?.response_range?.kvs[0];
        if (!held) return;
        if (ownerOf(held.value.toString()) !== x.r.endpointId) {
          this.o.logger.warn(
            `address ${x.ip} of ${who} was reclaimed while this host was away and another endpoint holds it now: restart the container for a new address`,
          );
        }
      });
    }
  }
}

function ownerOf(text: string): unknown {
  try {
    return (JSON.parse(text) as { owner?: unknown }).owner;
  } catch {
    return undefined;
  }
}
