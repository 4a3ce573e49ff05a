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
 * Key layout: keys.ts and docs/overlay.md.
 */
import { TsnetError } from '../../errors/index.js';
import type { Watcher, IKeyValue, IWatchResponse } from 'etcd3';
import {
  EtcdKv,
  cmpAbsent,
  cmpExists,
  cmpModRev,
  cmpPrefixEmpty,
  cmpValue,
  isUnreachable,
  opDelete,
  reasonOf,
  opGet,
  opPut,
  rangeOf,
  toKv,
} from './etcd.js';
import { KeyLayout, checkSegment, prefixEnd } from './keys.js';
import { StateMirror, type ClusterEvent } from './mirror.js';
import { decodeEndpoint, encodeRecord, type EndpointRecord, type GlobalNetworkRecord, type NodeRecord } from './records.js';
import { parseAdvertiseAddr, parseClusterStoreUrl } from './url.js';
import { VNI_MAX, checkVni, pickVni } from './vni.js';

export interface ClusterLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

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
  logger?: ClusterLogger;
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

type State = 'idle' | 'syncing' | 'ready' | 'unavailable' | 'closed';

const NOOP_LOGGER: ClusterLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
/** etcd's default --max-txn-ops is 128. */
const TXN_CHUNK = 100;

export class ClusterStore {
  readonly url: string;
  readonly nodeId: string;
  readonly advertiseAddr: string;
  readonly keys: KeyLayout;
  readonly kv: EtcdKv;
  readonly leaseTtlSeconds: number;

  private readonly log: ClusterLogger;
  private readonly now: () => Date;
  private readonly opts: ClusterStoreOptions;
  private readonly mirror: StateMirror;
  private readonly listeners = new Set<ClusterListener>();
  /** This node's endpoint records, by key: re-put after every resync. */
  private readonly own = new Map<string, EndpointRecord>();
  /** Deletes of own endpoint keys that could not reach etcd: applied at the next sync. */
  private readonly pendingDeletes = new Set<string>();
  private readonly startedAt: string;

  private state: State = 'idle';
  private reason: string | undefined;
  private leaseId: string | undefined;
  private watcher: Watcher | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private keepaliveGen = 0;
  private wake: ((reason: string) => void) | undefined;
  private syncs = 0;
  private loopDone: Promise<void> | undefined;
  private readyWaiters: Array<() => void> = [];

  constructor(options: ClusterStoreOptions) {
    const url = parseClusterStoreUrl(options.url);
    this.url = url.display;
    this.advertiseAddr = parseAdvertiseAddr(options.advertiseAddr);
    this.nodeId = checkSegment('node id', options.nodeId ?? this.advertiseAddr);
    const ttl = options.leaseTtlSeconds ?? 15;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 3600) {
      throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid cluster lease TTL ${ttl}: a whole number of seconds from 1 to 3600`);
    }
    this.leaseTtlSeconds = ttl;
    this.keys = new KeyLayout(options.prefix);
    this.opts = options;
    this.log = options.logger ?? NOOP_LOGGER;
    this.now = options.now ?? (() => new Date());
    this.startedAt = this.now().toISOString();
    this.mirror = new StateMirror(this.keys);
    this.kv = new EtcdKv(url, options.opTimeoutMs !== undefined ? { opTimeoutMs: options.opTimeoutMs } : {});
  }

  // ================================================================== lifecycle

  /**
   * Start the background loop (register, list, watch; reconnect forever) and wait for the
   * first synchronisation. Throws TSNET_CLUSTER_UNAVAILABLE when etcd could not be reached
   * within startTimeoutMs — the loop keeps trying in the background; close() stops it.
   */
  async start(): Promise<void> {
    if (this.state === 'closed') throw new TsnetError('TSNET_CLUSTER_UNAVAILABLE', `cluster store ${this.url}: closed`);
    if (!this.loopDone) this.loopDone = this.loop();
    if (this.state === 'ready') return;
    const timeout = this.opts.startTimeoutMs ?? 5000;
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeout);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.readyWaiters.push(done);
    });
    if (!ready) throw this.unavailableError('start');
  }

  get available(): boolean {
    return this.state === 'ready';
  }

  status(): ClusterStatus {
    const s: ClusterStatus = { available: this.available, syncs: this.syncs };
    if (!this.available && this.reason) s.reason = this.reason;
    if (this.leaseId) s.leaseId = this.leaseId;
    return s;
  }

  /**
   * Stop: no more keepalives, watch closed, client closed. Without `revoke` the lease is left
   * to expire (a daemon restart keeps its endpoints visible to the others meanwhile); with
   * `revoke` this node and its endpoints disappear from the cluster at once.
   */
  async close(opts: { revoke?: boolean } = {}): Promise<void> {
    if (this.state === 'closed') return;
    const wasReady = this.state === 'ready';
    this.state = 'closed';
    this.stopKeepalive();
    this.stopWatch();
    this.wake?.('closed');
    if (opts.revoke && this.leaseId && wasReady) {
      try {
        await this.kv.revokeLease(this.leaseId);
      } catch (err) {
        this.log.warn(`cluster store: revoke lease at close: ${(err as Error).message}`);
      }
    }
    this.kv.close();
    await this.loopDone?.catch(() => undefined);
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
   * aliases is `name` (case-insensitive), from every host.
   */
  lookup(networkId: string, name: string): EndpointRecord[] {
    const n = name.toLowerCase().replace(/\.$/, '');
    return this.mirror
      .endpoints(networkId)
      .filter((e) => e.joined && (e.name?.toLowerCase() === n || e.aliases.some((a) => a.toLowerCase() === n) || e.containerId?.slice(0, 12) === n));
  }
  /** Records the mirror skipped because they did not decode. */
  warnings(): readonly string[] {
    return this.mirror.warnings;
  }

  // ================================================================== networks

  /**
   * Create a global network record (and its name) atomically. With `vni`, the VNI must have
   * been reserved for this network by allocateVni. Name or id taken: TSNET_NETWORK_EXISTS.
   */
  async createNetwork(rec: GlobalNetworkRecord): Promise<GlobalNetworkRecord> {
    checkSegment('network id', rec.id);
    checkSegment('network name', rec.name);
    if (rec.vni !== undefined) checkVni(rec.vni);
    this.ensureAvailable('create network');
    const record: GlobalNetworkRecord = { ...rec, createdBy: rec.createdBy ?? this.nodeId };
    const netKey = this.keys.network(rec.id);
    const nameKey = this.keys.networkName(rec.name);
    const compare = [cmpAbsent(netKey), cmpAbsent(nameKey)];
    if (rec.vni !== undefined) compare.push(cmpValue(this.keys.vni(rec.vni), rec.id));
    const text = encodeRecord(record);
    const res = await this.guard('create network', () =>
      this.kv.txn(`create network ${rec.name}`, compare, [opPut(netKey, text), opPut(nameKey, rec.id)], [opGet(netKey), opGet(nameKey), ...(rec.vni !== undefined ? [opGet(this.keys.vni(rec.vni))] : [])]),
    );
    if (!res.succeeded) {
      const [byId, byName, vni] = [rangeOf(res, 0)[0], rangeOf(res, 1)[0], rec.vni !== undefined ? rangeOf(res, 2)[0] : undefined];
      if (byName) throw new TsnetError('TSNET_NETWORK_EXISTS', `network with name ${rec.name} already exists in the cluster`, { details: { id: byName.value } });
      if (byId) throw new TsnetError('TSNET_NETWORK_EXISTS', `network ${rec.id} already exists in the cluster`);
      throw new TsnetError('TSNET_VNI_IN_USE', vni ? `VXLAN id ${rec.vni} belongs to network ${vni.value}` : `VXLAN id ${rec.vni} is not reserved for network ${rec.name}: call allocateVni first`);
    }
    this.emit(this.mirror.applyPut({ key: netKey, value: text, modRevision: String(res.header.revision) }));
    return record;
  }

  /**
   * Delete a global network — refused with TSNET_NETWORK_IN_USE while any host has an
   * endpoint on it (one transaction over the endpoint prefix). Unknown network: no-op.
   * Its name and VNI go with it.
   */
  async deleteNetwork(networkId: string): Promise<void> {
    const netKey = this.keys.network(networkId);
    this.ensureAvailable('delete network');
    for (let attempt = 0; attempt < 5; attempt++) {
      const cur = await this.guard('delete network', () => this.kv.get(`read network ${networkId}`, netKey));
      if (!cur) return;
      const parsed = this.mirror.network(networkId) ?? safeNetwork(cur.value);
      const success = [opDelete(netKey)];
      if (parsed) {
        const nameKey = this.keys.networkName(parsed.name);
        success.push({ request_txn: { compare: [cmpValue(nameKey, networkId)], success: [opDelete(nameKey)], failure: [] } });
        if (parsed.vni !== undefined) {
          const vniKey = this.keys.vni(parsed.vni);
          success.push({ request_txn: { compare: [cmpValue(vniKey, networkId)], success: [opDelete(vniKey)], failure: [] } });
        }
      }
      const epPrefix = this.keys.endpoints(networkId);
      const res = await this.guard('delete network', () =>
        this.kv.txn(`delete network ${networkId}`, [cmpPrefixEmpty(epPrefix), cmpModRev(netKey, cur.modRevision)], success, [
          { request_range: { key: Buffer.from(epPrefix), range_end: prefixEnd(Buffer.from(epPrefix)) } },
        ]),
      );
      if (res.succeeded) {
        this.emit(this.mirror.applyDelete(netKey, String(res.header.revision), true));
        return;
      }
      const eps = rangeOf(res, 0);
      if (eps.length > 0) {
        const perNode = new Map<string, number>();
        for (const kv of eps) {
          const d = decodeEndpoint(kv.value);
          const node = d.ok ? d.value.node : '?';
          perNode.set(node, (perNode.get(node) ?? 0) + 1);
        }
        const hosts = [...perNode].map(([n, c]) => `${n} (${c})`).join(', ');
        const name = parsed?.name ?? networkId;
        throw new TsnetError('TSNET_NETWORK_IN_USE', `network ${name} has active endpoints on ${perNode.size} host(s): ${hosts}`, {
          details: { endpoints: eps.length, hosts: [...perNode.keys()] },
        });
      }
      // the record changed under us: read again
    }
    throw new TsnetError('TSNET_CLUSTER_UNAVAILABLE', `cluster store ${this.url}: network ${networkId} keeps changing; try again`);
  }

  // ================================================================== VNIs

  /**
   * Reserve a VNI for a network, cluster-wide and unique (a transaction per candidate).
   * `requested` (from -o …vxlanid_list) must be free (TSNET_VNI_IN_USE otherwise); without it
   * the lowest free VNI from 4096 up is taken. Idempotent per network.
   */
  async allocateVni(networkId: string, requested?: number): Promise<number> {
    checkSegment('network id', networkId);
    if (requested !== undefined) checkVni(requested);
    this.ensureAvailable('allocate a VXLAN id');
    for (let attempt = 0; attempt < 50; attempt++) {
      const list = await this.guard('allocate a VXLAN id', () => this.kv.getPrefix('list VXLAN ids', this.keys.vnis()));
      const used = new Set<number>();
      for (const kv of list.kvs) {
        const vni = Number(kv.key.slice(this.keys.vnis().length));
        if (kv.value === networkId) return vni;
        used.add(vni);
      }
      const candidate = requested ?? pickVni(used);
      if (candidate === undefined) throw new TsnetError('TSNET_POOL_EXHAUSTED', `no free VXLAN id left (4096 … ${VNI_MAX} are all in use)`);
      const key = this.keys.vni(candidate);
      const res = await this.guard('allocate a VXLAN id', () => this.kv.txn(`reserve VXLAN id ${candidate}`, [cmpAbsent(key)], [opPut(key, networkId)], [opGet(key)]));
      if (res.succeeded) return candidate;
      const holder = rangeOf(res, 0)[0]?.value;
      if (holder === networkId) return candidate;
      if (requested !== undefined) {
        throw new TsnetError('TSNET_VNI_IN_USE', `VXLAN id ${requested} is already used by network ${holder ?? '?'}: choose another -o com.docker.network.driver.overlay.vxlanid_list`);
      }
    }
    throw new TsnetError('TSNET_CLUSTER_UNAVAILABLE', `cluster store ${this.url}: could not reserve a VXLAN id (too much contention); try again`);
  }

  /** Give back the VNI reserved for a network. Idempotent. */
  async releaseVni(networkId: string): Promise<void> {
    this.ensureAvailable('release a VXLAN id');
    const list = await this.guard('release a VXLAN id', () => this.kv.getPrefix('list VXLAN ids', this.keys.vnis()));
    for (const kv of list.kvs) {
      if (kv.value !== networkId) continue;
      await this.guard('release a VXLAN id', () => this.kv.txn(`release ${kv.key}`, [cmpValue(kv.key, networkId)], [opDelete(kv.key)]));
    }
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
    const defer = (): EndpointRecord => {
      this.own.set(key, rec);
      this.pendingDeletes.delete(key);
      return rec;
    };
    if (opts.deferIfUnavailable && this.state !== 'ready') return defer();
    this.ensureAvailable('publish endpoint');
    const lease = this.leaseId!;
    const text = encodeRecord(rec);
    let res;
    try {
      res = await this.guard('publish endpoint', () =>
        this.kv.txn(`publish endpoint ${rec.endpointId.slice(0, 12)}`, [cmpExists(this.keys.network(rec.networkId))], [opPut(key, text, lease)]),
      );
    } catch (err) {
      if (opts.deferIfUnavailable && isUnreachable(err)) return defer();
      throw err;
    }
    if (!res.succeeded) {
      throw new TsnetError('TSNET_NETWORK_NOT_FOUND', `network ${rec.networkId} does not exist in the cluster store (was it removed on another host?)`);
    }
    this.own.set(key, rec);
    this.pendingDeletes.delete(key);
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
    if (this.state !== 'ready') {
      this.pendingDeletes.add(key);
      return;
    }
    try {
      const res = await this.kv.txn(`withdraw endpoint ${endpointId.slice(0, 12)}`, [], [opDelete(key)]);
      this.emit(this.mirror.applyDelete(key, String(res.header.revision), true));
    } catch (err) {
      if (!isUnreachable(err)) throw err;
      this.pendingDeletes.add(key);
      this.trouble(reasonOf(err));
    }
  }

  /** This node's own endpoint records (what a resync re-puts). */
  ownEndpoints(): EndpointRecord[] {
    return [...this.own.values()];
  }

  // ================================================================== internals: availability

  private unavailableError(what: string): TsnetError {
    const why = this.state === 'closed' ? 'the client is closed' : (this.reason ?? 'not connected yet');
    return new TsnetError('TSNET_CLUSTER_UNAVAILABLE', `cluster store ${this.url} unreachable: ${why}; cannot ${what} now`, { details: { store: this.url, reason: why } });
  }

  private ensureAvailable(what: string): void {
    if (this.state !== 'ready') throw this.unavailableError(what);
  }

  /** Throw TSNET_CLUSTER_UNAVAILABLE now when etcd is known to be away (ClusterIpam uses it). */
  assertAvailable(what: string): void {
    this.ensureAvailable(what);
  }

  /** Run an etcd call; if etcd turned out to be unreachable, start a resync and rethrow. */
  private async guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isUnreachable(err)) {
        this.trouble(reasonOf(err));
        if (err instanceof TsnetError) throw err;
        throw this.kv.unavailable(err, what);
      }
      throw err;
    }
  }

  private emit(events: ClusterEvent[]): void {
    for (const e of events) {
      for (const l of this.listeners) {
        try {
          l(e);
        } catch (err) {
          this.log.warn(`cluster store: a listener failed on ${e.kind} ${'type' in e ? e.type : ''}: ${(err as Error).message}`);
        }
      }
    }
  }

  /** Something went wrong with etcd: leave 'ready' and let the loop resynchronise. */
  private trouble(reason: string): void {
    if (this.state !== 'ready') return;
    this.reason = reason;
    const w = this.wake;
    this.wake = undefined;
    w?.(reason);
  }

  // ================================================================== internals: the loop

  private async loop(): Promise<void> {
    const min = this.opts.retryMinMs ?? 250;
    const max = this.opts.retryMaxMs ?? 2000;
    let delay = min;
    let everReady = false;
    while (this.isOpen()) {
      this.state = 'syncing';
      try {
        await this.sync();
        if (!this.isOpen()) break;
        this.state = 'ready';
        this.reason = undefined;
        this.syncs++;
        delay = min;
        this.log.info(`cluster store ${this.url}: ${everReady ? 'resynchronised' : 'connected'} as node ${this.nodeId} (lease ${this.leaseId}, ${this.mirror.networks().length} networks, ${this.mirror.endpoints().length} endpoints)`);
        everReady = true;
        this.emit([{ kind: 'status', available: true, resynced: true }]);
        for (const w of this.readyWaiters.splice(0)) w();
        const reason = await new Promise<string>((resolve) => {
          this.wake = resolve;
        });
        if (!this.isOpen()) break;
        this.stopKeepalive();
        this.stopWatch();
        this.state = 'unavailable';
        this.reason = reason;
        this.log.warn(`cluster store ${this.url} lost: ${reason}; running traffic is untouched, changes are refused until it is back`);
        this.emit([{ kind: 'status', available: false, resynced: false, reason }]);
      } catch (err) {
        if (!this.isOpen()) break;
        this.stopKeepalive();
        this.stopWatch();
        const wasReady = this.state === 'ready';
        this.state = 'unavailable';
        this.reason = reasonOf(err);
        this.log.debug(`cluster store ${this.url}: sync failed: ${this.reason}; retrying in ${delay} ms`);
        if (wasReady) this.emit([{ kind: 'status', available: false, resynced: false, reason: this.reason }]);
        await this.sleep(delay);
        delay = Math.min(max, delay * 2);
      }
    }
  }

  private isOpen(): boolean {
    return this.state !== 'closed';
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** Register, re-publish, list, watch. Throws when etcd cannot be reached. */
  private async sync(): Promise<void> {
    this.stopWatch();
    // 1. the lease: keep the old one if etcd still knows it (a short outage), else a new one
    if (this.leaseId) {
      const ttl = await this.kv.keepAliveOnce(this.leaseId);
      if (ttl <= 0) {
        this.log.info(`cluster store: node lease ${this.leaseId} expired; registering again`);
        this.leaseId = undefined;
      }
    }
    if (!this.leaseId) this.leaseId = await this.kv.grantLease(this.leaseTtlSeconds);
    const lease = this.leaseId;

    // 2. this node, its endpoints (only on networks that still exist), deletes made meanwhile
    const node: NodeRecord = { id: this.nodeId, advertiseAddr: this.advertiseAddr, startedAt: this.startedAt };
    if (this.opts.version) node.version = this.opts.version;
    await this.kv.txn('register node', [], [opPut(this.keys.node(this.nodeId), encodeRecord(node), lease)]);
    if (this.pendingDeletes.size > 0) {
      const keys = [...this.pendingDeletes];
      for (let i = 0; i < keys.length; i += TXN_CHUNK) {
        await this.kv.txn('withdraw endpoints', [], keys.slice(i, i + TXN_CHUNK).map(opDelete));
      }
      for (const k of keys) this.pendingDeletes.delete(k);
    }
    const byNetwork = new Map<string, Array<[string, EndpointRecord]>>();
    for (const [key, rec] of this.own) {
      const list = byNetwork.get(rec.networkId) ?? [];
      list.push([key, rec]);
      byNetwork.set(rec.networkId, list);
    }
    for (const [networkId, list] of byNetwork) {
      for (let i = 0; i < list.length; i += TXN_CHUNK) {
        const chunk = list.slice(i, i + TXN_CHUNK);
        const res = await this.kv.txn('re-publish endpoints', [cmpExists(this.keys.network(networkId))], chunk.map(([k, r]) => opPut(k, encodeRecord(r), lease)));
        if (!res.succeeded) {
          this.log.warn(`cluster store: network ${networkId} is gone from the cluster; not re-publishing its ${list.length} local endpoint(s)`);
          for (const [k] of list) this.own.delete(k);
          break;
        }
      }
    }

    // 3. a full listing at one revision; subscribers get the differences
    const listing = await this.kv.getPrefix('list cluster state', this.keys.state());
    this.emit(this.mirror.replaceAll(listing.kvs));

    // 4. watch from just after the listing
    await this.startWatch((BigInt(listing.revision) + 1n).toString());
    this.startKeepalive();
  }

  private startWatch(fromRevision: string): Promise<void> {
    const w = this.kv.watchPrefix(this.keys.state(), fromRevision);
    this.watcher = w;
    const gone = (why: string) => (err?: Error) => {
      if (this.watcher !== w) return;
      this.trouble(`watch ${why}${err ? `: ${reasonOf(err)}` : ''}`);
    };
    w.on('put', (kv: IKeyValue) => {
      if (this.watcher !== w) return;
      const k = toKv(kv);
      this.emit(this.mirror.applyPut({ key: k.key, value: k.value, modRevision: k.modRevision }));
    });
    w.on('delete', (kv: IKeyValue) => {
      if (this.watcher !== w) return;
      const k = toKv(kv);
      this.emit(this.mirror.applyDelete(k.key, k.modRevision));
    });
    w.on('data', (res: IWatchResponse) => {
      if (this.watcher === w && res.header?.revision) this.mirror.watchedTo(String(res.header.revision));
    });
    w.on('disconnected', gone('disconnected'));
    w.on('error', gone('failed'));
    w.on('end', gone('ended'));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error('the watch was not established in time'));
      }, this.kv.opTimeoutMs);
      const ok = (): void => {
        cleanup();
        resolve();
      };
      const fail = (err?: Error): void => {
        cleanup();
        reject(err ?? new Error('the watch failed'));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        w.off('connected', ok);
        w.off('disconnected', fail);
        w.off('error', fail);
      };
      w.on('connected', ok);
      w.on('disconnected', fail);
      w.on('error', fail);
    });
  }

  private stopWatch(): void {
    const w = this.watcher;
    this.watcher = undefined;
    if (!w) return;
    w.cancel().catch(() => undefined);
    // keep an 'error' listener: an EventEmitter 'error' without one would throw
    w.removeAllListeners();
    w.on('error', () => undefined);
  }

  private startKeepalive(): void {
    this.stopKeepalive();
    const every = Math.max(250, Math.floor((this.leaseTtlSeconds * 1000) / 3));
    const lease = this.leaseId!;
    const gen = ++this.keepaliveGen;
    const tick = async (): Promise<void> => {
      if (gen !== this.keepaliveGen || (this.state !== 'ready' && this.state !== 'syncing')) return;
      try {
        const ttl = await this.kv.keepAliveOnce(lease);
        if (gen !== this.keepaliveGen) return;
        if (ttl <= 0) {
          this.leaseId = undefined;
          this.trouble('the node lease expired');
          return;
        }
      } catch (err) {
        if (gen === this.keepaliveGen) this.trouble(`lease keepalive: ${(err as Error).message}`);
        return;
      }
      if (gen === this.keepaliveGen) this.keepaliveTimer = setTimeout(() => void tick(), every);
    };
    this.keepaliveTimer = setTimeout(() => void tick(), every);
  }

  private stopKeepalive(): void {
    this.keepaliveGen++;
    if (this.keepaliveTimer) clearTimeout(this.keepaliveTimer);
    this.keepaliveTimer = undefined;
  }
}

function safeNetwork(text: string): GlobalNetworkRecord | undefined {
  try {
    const o = JSON.parse(text) as GlobalNetworkRecord;
    return typeof o?.name === 'string' ? o : undefined;
  } catch {
    return undefined;
  }
}

