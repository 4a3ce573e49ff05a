/**
 * The cluster store: etcd through `etcd3`, built from `--cluster-store etcd://…` and
 * `--advertise-addr`. It
 * - registers this node under a lease (TTL 15 s by default, kept alive every TTL/3);
 * - holds global network records, cluster-wide VNI reservations and endpoint records (the
 *   latter under the node's lease, so a dead host's endpoints vanish after the TTL);
 * - mirrors state/ (nodes, networks, endpoints) locally from one listing + one watch, and tells
 *   subscribers what was added, updated or removed;
 * - survives etcd going away: the mirror and the kernel state stay as they are, changes are
 *   refused with TSNET_CLUSTER_UNAVAILABLE, and when etcd is back it re-registers (a new lease
 *   if the old one expired), re-puts this node's endpoints, applies deletes made meanwhile,
 *   re-lists everything (subscribers get the differences) and watches again.
 *
 * The connection loop is session.ts, the network/VNI transactions networks.ts, the mirror
 * mirror.ts; the key layout keys.ts and docs/overlay.md.
 */
import { TsnetError } from '../../errors/index.js';
import { EtcdKv, cmpExists, isUnreachable, opDelete, opPut, reasonOf } from './etcd.js';
import { KeyLayout, checkSegment } from './keys.js';
import { StateMirror, type ClusterEvent } from './mirror.js';
import { allocateVniTxn, createNetworkTxn, deleteNetworkTxn, releaseVniTxn, type TxnContext } from './networks.js';
import { encodeRecord, type EndpointRecord, type GlobalNetworkRecord, type NodeRecord } from './records.js';
import { ClusterSession } from './session.js';
import { parseAdvertiseAddr, parseClusterStoreUrl } from './url.js';
import { NOOP_LOGGER, type Logger } from '../../lib/logger.js';

export interface ClusterStoreOptions {
  /** `etcd://host:2379[,host2:2379]` */
  url: string;
  /** This host's underlay address: its VTEP, and its node id unless `nodeId` is given. */
  advertiseAddr: string;
  nodeId?: string;
  /** Key prefix (default /tsnet/v1). */
  prefix?: string;
  /** Node lease TTL in seconds (default 15). */
  leaseTtlSeconds?: number;
  /** Deadline of each etcd call (default 3000 ms). */
  opTimeoutMs?: number;
  /** How long start() waits for the first sync (default 5000 ms). */
  startTimeoutMs?: number;
  /** Reconnect backoff bounds (default 250 … 2000 ms). */
  retryMinMs?: number;
  retryMaxMs?: number;
  version?: string;
  logger?: Logger;
  now?: () => Date;
}

/** What putEndpoint takes: the node and VTEP are this daemon's. */
export interface EndpointInput {
  networkId: string;
  endpointId: string;
  containerId?: string;
  name?: string;
  aliases?: string[];
  address?: string;
  addressV6?: string;
  mac: string;
  joined: boolean;
}

export interface ClusterStatus {
  available: boolean;
  /** Why it is unavailable (the last error), when it is. */
  reason?: string;
  leaseId?: string;
  /** Number of completed (re)synchronisations. */
  syncs: number;
}

export type ClusterListener = (e: ClusterEvent) => void;

/** etcd's default --max-txn-ops is 128. */
const TXN_CHUNK = 100;

export class ClusterStore {
  readonly url: string;
  readonly nodeId: string;
  readonly advertiseAddr: string;
  readonly keys: KeyLayout;
  readonly kv: EtcdKv;
  readonly leaseTtlSeconds: number;

  private readonly log: Logger;
  private readonly opts: ClusterStoreOptions;
  private readonly mirror: StateMirror;
  private readonly session: ClusterSession;
  private readonly listeners = new Set<ClusterListener>();
  /** This node's endpoint records, by key: re-put after every resync. */
  private readonly own = new Map<string, EndpointRecord>();
  /** Deletes of own endpoint keys that could not reach etcd: applied at the next sync. */
  private readonly pendingDeletes = new Set<string>();
  private readonly startedAt: string;
  private readonly txn: TxnContext;

  constructor(options: ClusterStoreOptions) {
    const url = parseClusterStoreUrl(options.url);
    this.url = url.display;
    this.advertiseAddr = parseAdvertiseAddr(options.advertiseAddr);
    this.nodeId = checkSegment('node id', options.nodeId ?? this.advertiseAddr);
    const ttl = options.leaseTtlSeconds ?? 15;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 3600) {
      throw new TsnetError(
        'TSNET_INVALID_ARGUMENT',
        `invalid cluster lease TTL ${ttl}: a whole number of seconds from 1 to 3600`,
      );
    }
    this.leaseTtlSeconds = ttl;
    this.keys = new KeyLayout(options.prefix);
    this.opts = options;
    this.log = options.logger ?? NOOP_LOGGER;
    this.startedAt = (options.now ?? (() => new Date()))().toISOString();
    this.mirror = new StateMirror(this.keys);
    this.kv = new EtcdKv(url, options.opTimeoutMs !== undefined ? { opTimeoutMs: options.opTimeoutMs } : {});
    this.txn = { kv: this.kv, keys: this.keys, url: this.url, guard: (what, fn) => this.guard(what, fn) };
    this.session = new ClusterSession(
      this.kv,
      {
        prefix: this.keys.state(),
        leaseTtlSeconds: ttl,
        retryMinMs: options.retryMinMs ?? 250,
        retryMaxMs: options.retryMaxMs ?? 2000,
        logger: this.log,
        name: `cluster store ${this.url} (node ${this.nodeId})`,
      },
      {
        register: (lease) => this.register(lease),
        listed: (kvs) => this.emit(this.mirror.replaceAll(kvs)),
        put: (kv) => this.emit(this.mirror.applyPut(kv)),
        deleted: (key, revision) => this.emit(this.mirror.applyDelete(key, revision)),
        watchedTo: (revision) => this.mirror.watchedTo(revision),
        status: (available, reason) =>
          this.emit([{ kind: 'status', available, resynced: available, ...(reason ? { reason } : {}) }]),
      },
    );
  }

  // ================================================================== lifecycle

  /**
   * Start the background loop (register, list, watch; reconnect forever) and wait for the
   * first synchronisation. Throws TSNET_CLUSTER_UNAVAILABLE when etcd could not be reached
   * within startTimeoutMs — the loop keeps trying in the background; close() stops it.
   */
  async start(): Promise<void> {
    if (this.session.closed) throw this.unavailableError('start');
    if (!(await this.session.start(this.opts.startTimeoutMs ?? 5000))) throw this.unavailableError('start');
  }

  get available(): boolean {
    return this.session.ready;
  }

  status(): ClusterStatus {
    const s: ClusterStatus = { available: this.available, syncs: this.session.syncs };
    const reason = this.session.reason;
    if (!this.available && reason) s.reason = reason;
    if (this.session.leaseId) s.leaseId = this.session.leaseId;
    return s;
  }

  /**
   * Stop: no more keepalives, watch closed, client closed. Without `revoke` the lease is left
   * to expire (a daemon restart keeps its endpoints visible to the others meanwhile); with
   * `revoke` this node and its endpoints disappear from the cluster at once.
   */
  async close(opts: { revoke?: boolean } = {}): Promise<void> {
    if (this.session.closed) return;
    const wasReady = this.session.ready;
    const lease = this.session.leaseId;
    await this.session.stop();
    if (opts.revoke && lease && wasReady) {
      try {
        await this.kv.revokeLease(lease);
      } catch (err) {
        this.log.warn(`cluster store: revoke lease at close: ${(err as Error).message}`);
      }
    }
    this.kv.close();
    await this.session.finished();
  }

  // ================================================================== events and reads

  /** Listen to changes (added/updated/removed nodes, networks, endpoints; status). */
  subscribe(listener: ClusterListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  nodes(): NodeRecord[] {
    return this.mirror.nodes();
  }
  networks(): GlobalNetworkRecord[] {
    return this.mirror.networks();
  }
  /**
   * Read the global networks from etcd now (one range read) and apply them to the mirror, as the
   * watch would: a network another host has just made, which the watch has not brought yet.
   * Only adds and updates (a record already seen at its revision changes nothing); removals stay
   * the watch's.
   */
  async pullNetworks(): Promise<void> {
    this.ensureAvailable('read the networks');
    const r = await this.guard('read the networks', () => this.kv.getPrefix('read the networks', this.keys.networks()));
    this.emit(r.kvs.flatMap((kv) => this.mirror.applyPut(kv)));
  }

  /** A global network by exact id or by name. */
  network(idOrName: string): GlobalNetworkRecord | undefined {
    return this.mirror.network(idOrName) ?? this.mirror.networks().find((n) => n.name === idOrName);
  }
  /** Endpoint records, of one network or of all (from the local mirror). */
  endpoints(networkId?: string): EndpointRecord[] {
    return this.mirror.endpoints(networkId);
  }
  endpoint(networkId: string, endpointId: string): EndpointRecord | undefined {
    return this.mirror.endpoint(networkId, endpointId);
  }
  /**
   * For the embedded DNS: joined endpoints of `networkId` whose container name or one of whose
   * aliases is `name` (case-insensitive), or whose container id starts with it (12 digits), from
   * every host.
   */
  lookup(networkId: string, name: string): EndpointRecord[] {
    const n = name.toLowerCase().replace(/\.$/, '');
    return this.mirror
      .endpoints(networkId)
      .filter(
        (e) =>
          e.joined &&
          (e.name?.toLowerCase() === n ||
            e.aliases.some((a) => a.toLowerCase() === n) ||
            (n.length >= 12 && e.containerId?.startsWith(n) === true)),
      );
  }
  /** Records the mirror skipped because they did not decode. */
  warnings(): readonly string[] {
    return this.mirror.warnings;
  }

  // ================================================================== networks and VNIs

  /**
   * Create a global network record (and its name) atomically. With `vni`, the VNI must have
   * been reserved for this network by allocateVni. Name or id taken: TSNET_NETWORK_EXISTS.
   */
  async createNetwork(rec: GlobalNetworkRecord): Promise<GlobalNetworkRecord> {
    this.ensureAvailable('create network');
    const record: GlobalNetworkRecord = { ...rec, createdBy: rec.createdBy ?? this.nodeId };
    const { text, revision } = await createNetworkTxn(this.txn, record);
    this.emit(this.mirror.applyPut({ key: this.keys.network(rec.id), value: text, modRevision: revision }));
    return record;
  }

  /**
   * Delete a global network — refused with TSNET_NETWORK_IN_USE while any host has an
   * endpoint on it (one transaction over the endpoint prefix). Unknown network: no-op.
   * Its name and VNI go with it.
   */
  async deleteNetwork(networkId: string): Promise<void> {
    checkSegment('network id', networkId);
    this.ensureAvailable('delete network');
    const revision = await deleteNetworkTxn(this.txn, networkId, this.mirror.network(networkId));
    if (revision) this.emit(this.mirror.applyDelete(this.keys.network(networkId), revision, true));
  }

  /**
   * Reserve a VNI for a network, cluster-wide and unique (a transaction per candidate).
   * `requested` (from -o …vxlanid_list) must be free (TSNET_VNI_IN_USE otherwise); without it
   * the lowest free VNI from 4096 up is taken. Idempotent per network.
   */
  async allocateVni(networkId: string, requested?: number): Promise<number> {
    this.ensureAvailable('allocate a VXLAN id');
    return allocateVniTxn(this.txn, networkId, requested);
  }

  /** Give back the VNI reserved for a network. Idempotent. */
  async releaseVni(networkId: string): Promise<void> {
    this.ensureAvailable('release a VXLAN id');
    await releaseVniTxn(this.txn, networkId);
  }

  // ================================================================== endpoints

  /**
   * Publish (create or update) one of this node's endpoints, under the node's lease. Refused
   * with TSNET_NETWORK_NOT_FOUND when the network is not (or no longer) in the store, and
   * with TSNET_CLUSTER_UNAVAILABLE when etcd cannot be reached — unless `deferIfUnavailable`:
   * then the record is kept and published at the next resync (leave and restore use that).
   */
  async putEndpoint(input: EndpointInput, opts: { deferIfUnavailable?: boolean } = {}): Promise<EndpointRecord> {
    const rec: EndpointRecord = {
      networkId: input.networkId,
      endpointId: input.endpointId,
      aliases: [...(input.aliases ?? [])],
      mac: input.mac,
      node: this.nodeId,
      vtep: this.advertiseAddr,
      joined: input.joined,
    };
    for (const k of ['containerId', 'name', 'address', 'addressV6'] as const) {
      const v = input[k];
      if (v !== undefined) rec[k] = v;
    }
    const key = this.keys.endpoint(rec.networkId, rec.endpointId);
    const keep = (): EndpointRecord => {
      this.own.set(key, rec);
      this.pendingDeletes.delete(key);
      return rec;
    };
    if (opts.deferIfUnavailable && !this.available) return keep();
    this.ensureAvailable('publish endpoint');
    const lease = this.session.leaseId!;
    const text = encodeRecord(rec);
    let res: Awaited<ReturnType<typeof this.kv.txn>>;
    try {
      res = await this.guard('publish endpoint', () =>
        this.kv.txn(
          `publish endpoint ${rec.endpointId.slice(0, 12)}`,
          [cmpExists(this.keys.network(rec.networkId))],
          [opPut(key, text, lease)],
        ),
      );
    } catch (err) {
      if (opts.deferIfUnavailable && isUnreachable(err)) return keep();
      throw err;
    }
    if (!res.succeeded) {
      throw new TsnetError(
        'TSNET_NETWORK_NOT_FOUND',
        `network ${rec.networkId} does not exist in the cluster store (was it removed on another host?)`,
      );
    }
    keep();
    this.emit(this.mirror.applyPut({ key, value: text, modRevision: String(res.header.revision) }));
    return rec;
  }

  /**
   * Withdraw one of this node's endpoints. Never fails for etcd being away: the delete is then
   * queued and applied at the next resync (the lease would drop it anyway if this node died).
   */
  async removeEndpoint(networkId: string, endpointId: string): Promise<void> {
    const key = this.keys.endpoint(networkId, endpointId);
    this.own.delete(key);
    if (!this.available) {
      this.pendingDeletes.add(key);
      return;
    }
    try {
      const res = await this.kv.txn(`withdraw endpoint ${endpointId.slice(0, 12)}`, [], [opDelete(key)]);
      this.emit(this.mirror.applyDelete(key, String(res.header.revision), true));
    } catch (err) {
      if (!isUnreachable(err)) throw err;
      this.pendingDeletes.add(key);
      this.session.trouble(reasonOf(err));
    }
  }

  /** This node's own endpoint records (what a resync re-puts). */
  ownEndpoints(): EndpointRecord[] {
    return [...this.own.values()];
  }

  /** Throw TSNET_CLUSTER_UNAVAILABLE now when etcd is known to be away (ClusterIpam uses it). */
  assertAvailable(what: string): void {
    this.ensureAvailable(what);
  }

  // ================================================================== internals

  private unavailableError(what: string): TsnetError {
    const why = this.session.closed ? 'the client is closed' : (this.session.reason ?? 'not connected yet');
    return new TsnetError('TSNET_CLUSTER_UNAVAILABLE', `cluster store ${this.url} unreachable: ${why}; cannot ${what} now`, {
      details: { store: this.url, reason: why },
    });
  }

  private ensureAvailable(what: string): void {
    if (!this.available) throw this.unavailableError(what);
  }

  /** Run an etcd call; if etcd turned out to be unreachable, start a resync and rethrow. */
  private async guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!isUnreachable(err)) throw err;
      this.session.trouble(reasonOf(err));
      throw err instanceof TsnetError ? err : this.kv.unavailable(err, what);
    }
  }

  private emit(events: ClusterEvent[]): void {
    for (const e of events) {
      for (const l of this.listeners) {
        try {
          l(e);
        } catch (err) {
          this.log.warn(`cluster store: a listener failed on a ${e.kind} event: ${(err as Error).message}`);
        }
      }
    }
  }

  /** Session hook: this node and its endpoints under `lease`, and the deletes queued meanwhile. */
  private async register(lease: string): Promise<void> {
    const node: NodeRecord = { id: this.nodeId, advertiseAddr: this.advertiseAddr, startedAt: this.startedAt };
    if (this.opts.version) node.version = this.opts.version;
    // back (or new): cancel any reclaiming of this node's addresses (src/ipam/cluster/reclaim.ts)
    await this.kv.txn(
      'register node',
      [],
      [
        opPut(this.keys.node(this.nodeId), encodeRecord(node), lease),
        opDelete(this.keys.goneNode(this.nodeId)),
        opDelete(this.keys.grace(this.nodeId)),
      ],
    );
    if (this.pendingDeletes.size > 0) {
      const keys = [...this.pendingDeletes];
      for (let i = 0; i < keys.length; i += TXN_CHUNK) {
        await this.kv.txn('withdraw endpoints', [], keys.slice(i, i + TXN_CHUNK).map(opDelete));
      }
      for (const k of keys) this.pendingDeletes.delete(k);
    }
    const byNetwork = new Map<string, Array<[string, EndpointRecord]>>();
    for (const [key, rec] of this.own) byNetwork.set(rec.networkId, [...(byNetwork.get(rec.networkId) ?? []), [key, rec]]);
    for (const [networkId, list] of byNetwork) {
      for (let i = 0; i < list.length; i += TXN_CHUNK) {
        const chunk = list.slice(i, i + TXN_CHUNK);
        const res = await this.kv.txn(
          're-publish endpoints',
          [cmpExists(this.keys.network(networkId))],
          chunk.map(([k, r]) => opPut(k, encodeRecord(r), lease)),
        );
        if (!res.succeeded) {
          this.log.warn(
            `cluster store: network ${networkId} is gone from the cluster; not re-publishing its ${list.length} local endpoint(s)`,
          );
          for (const [k] of list) this.own.delete(k);
          break;
        }
      }
    }
  }
}
