/**
 * The network controller: networks (create, inspect, remove, prune) and their drivers and IPAM.
 * Container endpoints are in attachments.ts. Validation first, then steps with undo (rule 1).
 */
import { defaultBridgeBody, defaultBridgeMatches, type DefaultBridgeConfig } from './default-bridge.js';
import { contains } from '../lib/cidr.js';
import crypto from 'node:crypto';
import { TsnetError } from '../errors/index.js';
import { Rollback } from '../errors/rollback.js';
import type { Logger } from '../lib/logger.js';
import type { EventSink } from '../events/types.js';
import type { IpamDriver, PoolLease } from '../ipam/ipam-api.js';
import type { RecordStore } from '../store/record-store.js';
import type { FileThread } from '../store/file-thread.js';
import type { Failpoint } from '../lib/failpoints.js';
import { KeyedMutex } from '../lib/keyed-mutex.js';
import type { EndpointRecord as ClusterEndpointRecord, GlobalNetworkRecord } from '../store/cluster/records.js';
import { withClusterEndpoints } from './global-inspect.js';
import type { ClusterEvent } from '../store/cluster/mirror.js';
import {
  hasNetworkAllocator,
  isRestorable,
  isSweepable,
  type JoinSpec,
  type NetworkDriver,
  type NetworkModeDriver,
} from './driver-api.js';
import { checkScope } from './scope.js';
import { networkJson, networkSpec, type IpamConfigEntry, type NetworkRecord, type PoolRef } from './network-record.js';
import { ENDPOINT_TRANSITIONS, type EndpointRecord, type EndpointStatus, type SandboxRecord } from './sandbox-record.js';
import type { PendingDelete } from './pending-deletes.js';

export interface NetworkCreateBody {
  Name?: string;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  EnableIPv6?: boolean;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
  IPAM?: { Driver?: string; Options?: Record<string, string> | null; Config?: IpamConfigEntry[] | null } | null;
  CheckDuplicate?: boolean;
  Ingress?: boolean;
  Scope?: string;
}

export interface DriverSource {
  /** Built-in drivers first, then plugins; throws TSNET_DRIVER_NOT_FOUND. */
  network(name: string): Promise<NetworkDriver>;
  ipam(name: string): Promise<IpamDriver>;
  builtinNames(): string[];
  /** The built-in driver of that name when it is a network mode driver (host, null). */
  modeDriver(name: string): NetworkModeDriver | undefined;
}

/** What the controller needs from the cluster store (global-scope networks; ClusterStore provides it). */
export interface ControllerCluster {
  readonly nodeId: string;
  readonly available: boolean;
  networks(): GlobalNetworkRecord[];
  network(idOrName: string): GlobalNetworkRecord | undefined;
  createNetwork(rec: GlobalNetworkRecord): Promise<GlobalNetworkRecord>;
  deleteNetwork(networkId: string): Promise<void>;
  subscribe(listener: (e: ClusterEvent) => void): () => void;
  /** Read the global networks from etcd now instead of waiting for the watch to bring them. */
  pullNetworks(): Promise<void>;
  endpoints(networkId: string): ClusterEndpointRecord[];
  nodes(): Array<{ id: string; advertiseAddr: string }>;
}

/** IPAM driver name of global-scope networks (the cluster IPAM). */
export const GLOBAL_IPAM = 'cluster';
/** IPAM driver name of swarm-scope networks (the swarm's default address pool, src/swarm). */
export const SWARM_IPAM = 'swarm';

export interface ControllerDeps {
  store: RecordStore<NetworkRecord>;
  /** Sandbox and endpoint records (`<root>/state/sandboxes`, `<root>/state/endpoints`): written only here. */
  sandboxStore: RecordStore<SandboxRecord>;
  endpointStore: RecordStore<EndpointRecord>;
  drivers: DriverSource;
  /** CIDRs a default-pool subnet must avoid (host routes, nameservers). */
  avoid: () => Promise<string[]>;
  defaultBridgeName: string;
  /** The default bridge as the daemon's flags describe it (name, --ipv6, --fixed-cidr-v6). */
  defaultBridge?: DefaultBridgeConfig;
  /** The cluster store, when tsnetd runs with --cluster-store. */
  cluster?: ControllerCluster;
  /** Network events (create, destroy, connect, disconnect) go here: the daemon's event bus. */
  events?: EventSink;
  /** Test-only crash points (TSNET_FAILPOINTS). */
  failpoint?: Failpoint;
  /**
   * Where a create's records are written behind (saveAttach not durable): the create waits for
   * the thread's queue before its commit (decision 44). Absent: written synchronously.
   */
  files?: FileThread;
  logger: Logger;
}

/** What the start-up reconcile needs from an IPAM that keeps owners (the default IPAM). */
export interface OwnedIpam {
  listPools(): Array<{ poolId: string; networkId: string; subnet: string }>;
  listAddresses(poolId: string): Array<{ ip: string; owner: string }>;
  releasePool(poolId: string): Promise<void>;
  releaseAddress(poolId: string, ip: string): Promise<void>;
  requestAddress(poolId: string, request: { owner: string; ip: string }): Promise<unknown>;
}

/** Lock key of the queue that applies cluster events one after the other. */
const CLUSTER_EVENTS = 'cluster-events';
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const NAME_RE = /^[^\x00-\x1f\x7f]{1,255}$/;

/** Endpoint ids on one network → the container (name) each belongs to. */
type EndpointsOfNetwork = Map<string, string>;

/**
 * Concurrency (DESIGN "State ownership"): no lock is held across a driver, IPAM or plugin call.
 * Each operation reserves what it needs in a synchronous check-and-mark (names being created,
 * networks being removed, endpoints by network), calls out, then commits or drops the reservation.
 * A network with endpoints, reserved ones included, cannot be removed; a network being removed
 * takes no new endpoint.
 */
export class NetworkController {
  private readonly networks = new Map<string, NetworkRecord>();
  private readonly locks = new KeyedMutex();
  /** Global networks this host is creating right now (their store events are not foreign). */
  private readonly creatingGlobal = new Set<string>();
  /** Names of networks being created (reserved until the record is saved or the create fails). */
  private readonly creatingNames = new Set<string>();
  /** Networks being removed: the removal in progress (a second rm waits for it). */
  private readonly removing = new Map<string, Promise<void>>();
  /**
   * Sandbox deletions in flight, by sandbox id: a `run --rm` container is gone for the API before
   * its network teardown ends. Its endpoints are no longer shown; `network rm`, prune and an
   * address request refused as in use or exhausted wait for these first.
   */
  private readonly sandboxRemovals = new Map<string, Promise<void>>();
  /** Plugin drivers whose restore has not succeeded yet, and the restore in progress. */
  private readonly unrestored = new Set<string>();
  private readonly restoring = new Map<string, Promise<NetworkDriver>>();
  /** Endpoints indexed by network: reserved before the driver is called, dropped after leave. */
  private readonly endpoints = new Map<string, EndpointsOfNetwork>();
  /** The records of sandboxes and endpoints (the source of truth; `endpoints` indexes them). */
  private readonly sandboxRecs = new Map<string, SandboxRecord>();
  private readonly endpointRecs = new Map<string, EndpointRecord>();
  /** Endpoint ids by sandbox id (an endpoint's sandbox never changes), so a sandbox's view is O(its endpoints). */
  private readonly bySandbox = new Map<string, Set<string>>();
  /** Sandboxes whose external connectivity is programmed (their container runs); not persisted. */
  private readonly active = new Set<string>();
  /** A sandbox's revision: a new number at every change of its records or of its active flag (see revision()). */
  private readonly revisions = new Map<string, number>();
  /** The same for a network: the last revision of any sandbox with an endpoint on it (see networkRevision()). */
  private readonly networkRevisions = new Map<string, number>();
  private lastRevision = 0;

  constructor(private readonly d: ControllerDeps) {}

  /**
   * Load records and make the predefined networks of the network mode drivers (host, none) when
   * missing (bridge comes with restoreDrivers).
   */
  async load(): Promise<void> {
    for (const n of await this.d.store.loadAll()) this.networks.set(n.id, n);
    await this.loadSandboxes();
    for (const driver of this.d.drivers.builtinNames()) {
      const mode = this.d.drivers.modeDriver(driver)?.mode;
      if (mode && !this.findByName(mode)) await this.saveNew({ ...blankRecord(mode, driver), predefined: true });
    }
  }

  /** The network mode driver of a network (host, none), or undefined for networks that take endpoints. */
  modeDriverOf(n: NetworkRecord): NetworkModeDriver | undefined {
    return this.d.drivers.modeDriver(n.driver);
  }

  /**
   * Start-up: finish the removals a crash interrupted (records saved with `removing`). Built-in
   * drivers' networks are finished now, plugin ones in the background.
   */
  async finishRemovals(): Promise<void> {
    const builtin = new Set(this.d.drivers.builtinNames());
    for (const n of [...this.networks.values()].filter((x) => x.removing)) {
      const done = this.remove(n.id).catch((err: Error) =>
        this.d.logger.warn(`finishing the removal of network ${n.name}: ${err.message}`),
      );
      if (builtin.has(n.driver)) await done;
    }
  }

  /**
   * Start-up: the IPAM's records carry their owners (network id per pool, endpoint id per
   * address) and are written before any kernel work, so they are the intent of an interrupted
   * network create or attach. Pools of no network and addresses of no endpoint are released.
   * Call after load (endpoint records), before anything else runs. Returns one line per release.
   */
  async reconcileIpam(ipam: OwnedIpam): Promise<string[]> {
    const released: string[] = [];
    for (const p of ipam.listPools()) {
      const n = this.networks.get(p.networkId);
      if (!n?.pools.some((x) => x.poolId === p.poolId)) {
        await ipam.releasePool(p.poolId);
        released.push(`pool ${p.subnet}`);
        continue;
      }
      const live = this.endpoints.get(n.id);
      const held = new Set<string>();
      for (const a of ipam.listAddresses(p.poolId)) {
        if (live?.has(a.owner)) {
          held.add(a.ip);
          continue;
        }
        await ipam.releaseAddress(p.poolId, a.ip);
        released.push(`address ${a.ip}`);
      }
      // The other way round: an endpoint's address the IPAM store lost (allocations are written
      // without fsync; the endpoint record is the durable one) is taken again.
      for (const e of this.endpointsOn(n.id)) {
        for (const cidr of [e.ipv4, e.ipv6]) {
          const ip = cidr?.split('/')[0];
          if (!ip || held.has(ip) || !contains(p.subnet, ip)) continue;
          await ipam.requestAddress(p.poolId, { owner: e.endpointId, ip }).then(
            () => released.push(`re-reserved address ${ip}`),
            (err: Error) => this.d.logger.warn(`re-reserve ${ip} of ${e.containerName}: ${err.message}`),
          );
        }
      }
    }
    return released;
  }

  /**
   * Start-up: sandbox and endpoint records, indexed by network. An endpoint saved `pending-delete`
   * (a disconnect a crash interrupted) or of no sandbox goes: its record is dropped here, and what
   * the kernel and IPAM still hold of it is explained by nothing, so the IPAM reconcile and the
   * drivers' sweep remove it.
   */
  private async loadSandboxes(): Promise<void> {
    for (const sb of await this.d.sandboxStore.loadAll()) this.sandboxRecs.set(sb.id, sb);
    for (const ep of await this.d.endpointStore.loadAll()) {
      if (ep.teardown) {
        // waiting for its plugin (a pending delete): stays reserved; pending-deletes.ts retries it
        this.putEndpoint(ep);
        if (this.networks.has(ep.networkId)) this.indexOf(ep.networkId).set(ep.id, pendingHolder(ep.containerName));
        continue;
      }
      if (ep.state !== 'active' || !this.sandboxRecs.has(ep.sandboxId)) {
        await this.d.endpointStore.remove(ep.id);
        continue;
      }
      this.indexEndpoint(ep);
    }
  }

  // ---- sandbox and endpoint records (this controller is their only writer) ------------------

  sandbox(id: string): SandboxRecord | undefined {
    return this.sandboxRecs.get(id);
  }

  sandboxList(): SandboxRecord[] {
    return [...this.sandboxRecs.values()];
  }

  /** Every endpoint record of a sandbox (not those waiting for their plugin to be told of their delete). */
  allEndpoints(): EndpointRecord[] {
    return [...this.endpointRecs.values()].filter((e) => !e.teardown);
  }

  /** The endpoints of a sandbox, in the order they were made. */
  endpointsOf(sandboxId: string): EndpointRecord[] {
    const out: EndpointRecord[] = [];
    for (const id of this.bySandbox.get(sandboxId) ?? []) {
      const e = this.endpointRecs.get(id);
      if (e && !e.teardown) out.push(e);
    }
    return out.sort((a, b) => a.seq - b.seq);
  }

  /**
   * A number that changes whenever anything a sandbox's view shows may have changed: its record
   * saved, an endpoint of it saved, moved to pending-delete or dropped, the container renamed,
   * its ports live or revoked. Callers that keep something built from the view (the serialized
   * `ps` entries) rebuild it when the number differs.
   */
  revision(sandboxId: string): number {
    return this.revisions.get(sandboxId) ?? 0;
  }

  /**
   * A number that changes whenever anything of the endpoints on a network may have changed (one
   * added, dropped or saved, a container renamed, started or stopped): the embedded DNS keeps its
   * name index of a network while it holds.
   */
  networkRevision(networkId: string): number {
    return this.networkRevisions.get(networkId) ?? 0;
  }

  /** A new revision for the sandbox and every network it has an endpoint on. */
  private touch(sandboxId: string): void {
    const rev = ++this.lastRevision;
    this.revisions.set(sandboxId, rev);
    for (const id of this.bySandbox.get(sandboxId) ?? []) {
      const ep = this.endpointRecs.get(id);
      if (ep) this.networkRevisions.set(ep.networkId, rev);
    }
  }

  private putEndpoint(ep: EndpointRecord): void {
    this.endpointRecs.set(ep.id, ep);
    let ids = this.bySandbox.get(ep.sandboxId);
    if (!ids) {
      ids = new Set();
      this.bySandbox.set(ep.sandboxId, ids);
    }
    ids.add(ep.id);
    this.touch(ep.sandboxId);
  }

  /** A saved endpoint joins the records and its network's index (as its container's). */
  private indexEndpoint(ep: EndpointRecord): void {
    this.putEndpoint(ep);
    this.indexOf(ep.networkId).set(ep.id, ep.containerName);
  }

  private dropEndpoint(id: string): void {
    const ep = this.endpointRecs.get(id);
    if (!ep) return;
    this.touch(ep.sandboxId);
    this.endpointRecs.delete(id);
    const ids = this.bySandbox.get(ep.sandboxId);
    ids?.delete(id);
    if (ids?.size === 0) this.bySandbox.delete(ep.sandboxId);
  }

  /** The endpoint records of sandboxes on a network (by the index). */
  endpointsOn(networkId: string): EndpointRecord[] {
    const ids = this.endpoints.get(networkId);
    if (!ids) return [];
    return [...ids.keys()]
      .map((id) => this.endpointRecs.get(id))
      .filter((e): e is EndpointRecord => e !== undefined && !e.teardown);
  }

  // ---- pending deletes: endpoint records waiting for their plugin (pending-deletes.ts) --------

  /** Views of the `pending-delete` endpoint records that have a teardown left. */
  pendingList(): PendingDelete[] {
    const out: PendingDelete[] = [];
    for (const ep of this.endpointRecs.values()) {
      const t = ep.teardown;
      if (!t) continue;
      out.push({
        id: ep.id,
        networkId: ep.networkId,
        containerId: ep.containerId,
        containerName: ep.containerName,
        steps: [...t.steps],
        addresses: t.addresses.map((a) => ({ ...a })),
        ...(ep.mac ? { mac: ep.mac } : {}),
        since: t.since,
        lastError: t.lastError,
        attempts: t.attempts,
      });
    }
    return out;
  }

  /**
   * An endpoint's teardown waits for its plugin: its record goes to `pending-delete` with what is
   * left to tell (made from the view when the record is gone: old-format records at start), and
   * it stays reserved on its network, out of its sandbox.
   */
  async savePending(p: PendingDelete): Promise<void> {
    const teardown = {
      steps: [...p.steps],
      addresses: p.addresses.map((a) => ({ ...a })),
      since: p.since,
      lastError: p.lastError,
      attempts: p.attempts,
    };
    let ep = this.endpointRecs.get(p.id);
    if (!ep) {
      ep = {
        id: p.id,
        endpointId: p.id,
        networkId: p.networkId,
        networkName: this.networks.get(p.networkId)?.name ?? '',
        aliases: [],
        ...(p.mac ? { mac: p.mac } : {}),
        sandboxId: '',
        containerId: p.containerId,
        containerName: p.containerName,
        state: 'pending-delete',
        seq: 0,
      };
    }
    const before = ep.teardown;
    ep.teardown = teardown;
    try {
      if (ep.state === 'pending-delete') await this.d.endpointStore.save(ep);
      else await this.setEndpointState(ep, 'pending-delete');
    } catch (err) {
      if (before) ep.teardown = before;
      else delete ep.teardown;
      throw err;
    }
    this.putEndpoint(ep);
    if (this.networks.has(ep.networkId)) this.indexOf(ep.networkId).set(ep.id, pendingHolder(ep.containerName));
  }

  /** The teardown is done: the endpoint record goes and its network no longer counts it. */
  async removePending(id: string): Promise<void> {
    const ep = this.endpointRecs.get(id);
    if (ep) await this.removeEndpoint(ep);
  }

  async saveSandbox(sb: SandboxRecord): Promise<void> {
    await this.d.sandboxStore.save(sb);
    this.sandboxRecs.set(sb.id, sb);
    this.touch(sb.id);
  }

  /** A sandbox deletion runs (see sandboxRemovals) until `done` settles. */
  noteSandboxRemoval(id: string, done: Promise<unknown>): void {
    const settled: Promise<void> = done
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        if (this.sandboxRemovals.get(id) === settled) this.sandboxRemovals.delete(id);
      });
    this.sandboxRemovals.set(id, settled);
  }

  /** Wait for the sandbox deletions in flight; false when there were none. */
  async sandboxRemovalsDone(): Promise<boolean> {
    if (!this.sandboxRemovals.size) return false;
    await Promise.all([...this.sandboxRemovals.values()]);
    return true;
  }

  /**
   * Atomic but not fsynced (RecordStore.saveVolatile), for what a reboot makes stale anyway: the
   * published ports of a running container (no container runs after a reboot).
   */
  saveSandboxVolatile(sb: SandboxRecord): void {
    this.d.sandboxStore.saveVolatile(sb);
    this.sandboxRecs.set(sb.id, sb);
    this.touch(sb.id);
  }

  /**
   * A sandbox a create is making, known in memory only: the join that follows saves it with its
   * endpoints (saveAttach). Until then a crash leaves its netns, veths and addresses explained by
   * no record, which the start-up sweeps and reconciles away (as before the first save).
   */
  holdSandbox(sb: SandboxRecord): void {
    this.sandboxRecs.set(sb.id, sb);
    this.touch(sb.id);
  }

  /**
   * Commit an attach: the endpoint records, then the sandbox record (decision 36). Durable: the
   * temp files are written and fsynced together; then the endpoints are renamed into place
   * (their directory fsynced once for all), then the sandbox: the order and durability of one
   * save after the other, at the cost of one file fsync and two directory fsyncs instead of two
   * per record. Not durable (a container create, whose container record is the durable commit
   * that follows): atomic renames without fsync, as the records of a container's state. The
   * endpoints join the index once saved. On failure nothing is in memory; endpoint records
   * already renamed are the caller's to remove (its rollback).
   */
  async saveAttach(eps: readonly EndpointRecord[], sb: SandboxRecord, durable: boolean): Promise<void> {
    const files = this.d.files;
    if (durable) await this.commitAttach(eps, sb);
    else if (files) {
      // written behind on the file thread, in this order; the create waits for its queue before
      // its commit. A failure is logged: the durable container record makes the records again
      // at its next start (remakeNetwork), as after a power loss (decision 36)
      const writes = [...eps.map((ep) => this.d.endpointStore.saveBehind(ep, files)), this.d.sandboxStore.saveBehind(sb, files)];
      void Promise.all(writes).catch((err: Error) =>
        this.d.logger.warn(`records of sandbox ${sb.id.slice(0, 12)} (${sb.containerName}): ${err.message}`),
      );
    } else {
      for (const ep of eps) this.d.endpointStore.saveVolatile(ep);
      this.d.sandboxStore.saveVolatile(sb);
    }
    for (const ep of eps) this.indexEndpoint(ep);
    this.sandboxRecs.set(sb.id, sb);
    this.touch(sb.id);
  }

  /** saveAttach's durable writes: all temp files fsynced together, endpoints renamed, then the sandbox. */
  private async commitAttach(eps: readonly EndpointRecord[], sb: SandboxRecord): Promise<void> {
    const prepared = await Promise.allSettled([
      this.d.sandboxStore.prepare(sb),
      ...eps.map((ep) => this.d.endpointStore.prepare(ep)),
    ]);
    const failed = prepared.find((p) => p.status === 'rejected');
    const [sbWrite, ...epWrites] = prepared.flatMap((p) => (p.status === 'fulfilled' ? [p.value] : []));
    if (failed || !sbWrite) {
      await Promise.all(prepared.map((p) => (p.status === 'fulfilled' ? p.value.abort() : undefined)));
      throw (failed as PromiseRejectedResult).reason;
    }
    try {
      await Promise.all(epWrites.map((w) => w.commit()));
    } catch (err) {
      await sbWrite.abort();
      throw err;
    }
    await sbWrite.commit();
  }

  /**
   * The sandbox record goes, with any endpoint record still in it. Idempotent. `behind`: the
   * unlinks on libuv's pool (RecordStore.removeBehind: a teardown nothing waits for).
   */
  async removeSandbox(id: string, behind = false): Promise<void> {
    for (const ep of this.endpointsOf(id)) await this.removeEndpoint(ep, behind);
    await (behind ? this.d.sandboxStore.removeBehind(id) : this.d.sandboxStore.remove(id));
    this.sandboxRecs.delete(id);
    this.active.delete(id);
    this.revisions.delete(id);
  }

  /** Save an endpoint (made and joined): it commits the attach; the index holds it. */
  async saveEndpoint(ep: EndpointRecord): Promise<void> {
    await this.d.endpointStore.save(ep);
    this.indexEndpoint(ep);
  }

  /** The one place endpoint states change (ENDPOINT_TRANSITIONS); saved before the caller goes on. */
  async setEndpointState(ep: EndpointRecord, next: EndpointStatus): Promise<void> {
    if (ep.state === next) return;
    if (!ENDPOINT_TRANSITIONS[ep.state].includes(next))
      throw new TsnetError('TSNET_INTERNAL', `endpoint ${ep.id.slice(0, 12)} cannot go from ${ep.state} to ${next}`);
    const before = ep.state;
    ep.state = next;
    this.touch(ep.sandboxId);
    try {
      await this.d.endpointStore.save(ep);
    } catch (err) {
      ep.state = before;
      throw err;
    }
  }

  /** The endpoint record goes and the network no longer counts it. Idempotent. `behind`: see removeSandbox. */
  async removeEndpoint(ep: { id: string; networkId: string }, behind = false): Promise<void> {
    await (behind ? this.d.endpointStore.removeBehind(ep.id) : this.d.endpointStore.remove(ep.id));
    this.dropEndpoint(ep.id);
    this.releaseEndpoint(ep.networkId, ep.id);
  }

  /** Rename the container of a sandbox in its records (DNS answers the new name). */
  async renameSandbox(id: string, name: string): Promise<void> {
    const sb = this.sandboxRecs.get(id);
    if (!sb) return;
    sb.containerName = name;
    await this.d.sandboxStore.save(sb);
    for (const ep of this.endpointsOf(id)) {
      ep.containerName = name;
      await this.d.endpointStore.save(ep);
      this.indexOf(ep.networkId).set(ep.id, name);
    }
    this.touch(id);
  }

  /** External connectivity programmed (the container runs) or revoked. */
  setActive(sandboxId: string, on: boolean): void {
    if (on) this.active.add(sandboxId);
    else this.active.delete(sandboxId);
    this.touch(sandboxId);
  }

  isActive(sandboxId: string): boolean {
    return this.active.has(sandboxId);
  }

  private indexOf(networkId: string): EndpointsOfNetwork {
    let m = this.endpoints.get(networkId);
    if (!m) {
      m = new Map();
      this.endpoints.set(networkId, m);
    }
    return m;
  }

  /**
   * Reserve an endpoint on a network before any driver/IPAM work for it (synchronous, so it is
   * atomic with respect to `remove`). Throws when the network is gone or being removed. Returns
   * false when the endpoint was already indexed (a re-attach after a reboot).
   */
  reserveEndpoint(networkId: string, endpointId: string, containerName: string): boolean {
    const n = this.networks.get(networkId);
    if (!n) throw new TsnetError('TSNET_NETWORK_NOT_FOUND', `network ${networkId.slice(0, 12)} not found`);
    if (this.removing.has(networkId))
      throw new TsnetError('TSNET_NETWORK_NOT_FOUND', `network ${n.name} is being removed: it takes no new endpoints`);
    const index = this.indexOf(networkId);
    const fresh = !index.has(endpointId);
    index.set(endpointId, containerName);
    return fresh;
  }

  /** The endpoint is gone (left, deleted, or its attach was rolled back). Idempotent. */
  releaseEndpoint(networkId: string, endpointId: string): void {
    const m = this.endpoints.get(networkId);
    m?.delete(endpointId);
    if (m?.size === 0) this.endpoints.delete(networkId);
  }

  /** Names of the containers with endpoints (reserved or made) on a network. */
  endpointUsers(networkId: string): string[] {
    return [...new Set(this.endpoints.get(networkId)?.values() ?? [])];
  }

  /**
   * After a restart (and after containers are loaded): drivers rebuild their kernel state. Built-in
   * drivers are restored before this returns; plugin drivers in the background (a plugin that does
   * not answer must not keep the daemon from listening): operations on their networks wait for
   * that restore, and fail with the plugin's one-line error while it does not answer (each such
   * operation tries the restore again).
   */
  async restoreDrivers(): Promise<void> {
    const want = this.d.defaultBridge ?? { name: this.d.defaultBridgeName, ipv6: false };
    if (!this.findByName('bridge')) await this.create(defaultBridgeBody(want), { predefined: true });
    const builtin = new Set(this.d.drivers.builtinNames());
    const byDriver = new Set<string>();
    for (const n of this.networks.values()) if (!this.d.drivers.modeDriver(n.driver)) byDriver.add(n.driver);
    for (const name of byDriver) {
      if (!builtin.has(name)) {
        void this.restorePlugin(name).catch(() => undefined);
        continue;
      }
      try {
        await this.restoreDriver(name, await this.d.drivers.network(name));
      } catch (err) {
        this.d.logger.warn(`networks of driver ${name} are not restored: ${(err as Error).message}`);
      }
    }
    await this.applyDefaultBridgeFlags(want);
  }

  /**
   * As dockerd: the default bridge follows the daemon's flags (--ipv6, --fixed-cidr-v6,
   * --bridge-name). A stored one that differs is removed (its driver restored first, so its
   * firewall rules and device go with it) and made again — unless containers still use it.
   */
  private async applyDefaultBridgeFlags(want: DefaultBridgeConfig): Promise<void> {
    const stale = this.findByName('bridge');
    if (!stale || defaultBridgeMatches(stale, want)) return;
    const users = this.endpointUsers(stale.id);
    if (users.length) {
      this.d.logger.warn(
        `the default bridge keeps its old settings: containers use it (${users.join(', ')}); remove them and restart tsnetd to apply --ipv6/--fixed-cidr-v6/--bridge-name`,
      );
      return;
    }
    await this.removeReserved(stale);
    await this.create(defaultBridgeBody(want), { predefined: true });
  }

  /** Restore one plugin driver (once at a time); on failure the next operation tries again. */
  private restorePlugin(name: string): Promise<NetworkDriver> {
    const pending = this.restoring.get(name);
    if (pending) return pending;
    const p = (async () => {
      const driver = await this.d.drivers.network(name);
      await this.restoreDriver(name, driver);
      this.d.logger.info(`networks of plugin driver ${name} restored`);
      return driver;
    })();
    this.restoring.set(name, p);
    this.unrestored.add(name);
    p.then(
      () => this.unrestored.delete(name),
      (err: Error) => this.d.logger.warn(`networks of plugin driver ${name} are not restored yet: ${err.message}`),
    ).finally(() => this.restoring.delete(name));
    return p;
  }

  private async restoreDriver(name: string, driver: NetworkDriver): Promise<void> {
    if (!isRestorable(driver)) return;
    const nets = [...this.networks.values()].filter((n) => n.driver === name);
    const ids = new Set(nets.map((n) => n.id));
    const eps = this.allEndpoints()
      .filter((e) => ids.has(e.networkId))
      .map((e) => {
        const sb = this.sandboxRecs.get(e.sandboxId);
        return {
          networkId: e.networkId,
          endpointId: e.endpointId,
          containerId: e.containerId,
          ...(e.ipv4 ? { address: e.ipv4 } : {}),
          ...(e.ipv6 ? { addressV6: e.ipv6 } : {}),
          ...(e.mac ? { mac: e.mac } : {}),
          options: {
            ...e.driverOpts,
            ...(this.networks.get(e.networkId)?.scope === 'global' ? endpointNameOptions(e.containerName, e.aliases) : {}),
          },
          ports: sb && this.active.has(sb.id) && sb.gatewayNetwork === e.networkId ? sb.ports : [],
          ...joinedOf(sb, e, this.networks.get(e.networkId)?.scope),
        };
      });
    await driver.restore(nets.map(networkSpec), eps);
  }

  /**
   * Start-up sweep of the built-in drivers (Sweepable): each removes the objects it made and marked
   * that no network or endpoint explains. Run after restoreDrivers.
   */
  async sweepDrivers(): Promise<string[]> {
    const removed: string[] = [];
    const endpointIds = [...this.endpoints.values()].flatMap((m) => [...m.keys()]);
    for (const name of this.d.drivers.builtinNames()) {
      const driver = await this.d.drivers.network(name).catch(() => undefined);
      if (!driver || !isSweepable(driver)) continue;
      const live = [...this.networks.values()].filter((n) => n.driver === name).map((n) => n.id);
      try {
        removed.push(...(await driver.sweep(live, endpointIds)));
      } catch (err) {
        this.d.logger.warn(`sweep ${name}: ${(err as Error).message}`);
      }
    }
    return removed;
  }

  list(): NetworkRecord[] {
    return [...this.networks.values()].sort((a, b) => a.created.localeCompare(b.created));
  }

  /** By full id, exact name, or unique id prefix — like Docker. */
  get(ref: string): NetworkRecord {
    const byId = this.networks.get(ref);
    if (byId) return byId;
    const byName = this.findByName(ref);
    if (byName) return byName;
    const matches = /^[0-9a-f]+$/.test(ref) ? [...this.networks.values()].filter((n) => n.id.startsWith(ref)) : [];
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1)
      throw new TsnetError(
        'TSNET_NETWORK_AMBIGUOUS',
        `network ${ref} is ambiguous (${matches.length} matches): use more of the id`,
      );
    throw new TsnetError('TSNET_NETWORK_NOT_FOUND', `network ${ref} not found`);
  }

  /**
   * `get`, but a name or id this host does not know yet is looked up in the cluster store first:
   * a global network another host made has its local record once the watch brings it, which a
   * loaded machine delays — Docker's `network create` on one host makes the network usable on the
   * others when its answer came, so a miss reads etcd (one range read) and applies what it finds
   * before it says "not found". Without a cluster store, or while etcd is away, as `get`.
   */
  async resolve(ref: string): Promise<NetworkRecord> {
    try {
      return this.get(ref);
    } catch (err) {
      const cluster = this.d.cluster;
      if ((err as TsnetError).code !== 'TSNET_NETWORK_NOT_FOUND' || !cluster?.available) throw err;
      try {
        await cluster.pullNetworks();
      } catch (pullErr) {
        this.d.logger.debug(`network ${ref}: cluster store read: ${(pullErr as Error).message}`);
        throw err;
      }
      await this.clusterSettled();
      return this.get(ref);
    }
  }

  find(ref: string): NetworkRecord | undefined {
    try {
      return this.get(ref);
    } catch {
      return undefined;
    }
  }

  private findByName(name: string): NetworkRecord | undefined {
    for (const n of this.networks.values()) if (n.name === name) return n;
    return undefined;
  }

  json(n: NetworkRecord) {
    const eps = this.endpointsOn(n.id);
    const json = networkJson(n, this.sandboxRemovals.size ? eps.filter((e) => !this.sandboxRemovals.has(e.sandboxId)) : eps);
    return n.scope === 'global' && this.d.cluster ? withClusterEndpoints(json, this.d.cluster) : json;
  }

  /** The network's driver; a plugin driver not restored yet is restored first (or fails in one line). */
  async driverOf(n: NetworkRecord): Promise<NetworkDriver> {
    if (this.unrestored.has(n.driver)) return this.restorePlugin(n.driver);
    return this.d.drivers.network(n.driver);
  }

  async ipamOf(n: NetworkRecord): Promise<IpamDriver> {
    return this.d.drivers.ipam(n.ipam.driver);
  }

  // ---- create -------------------------------------------------------------------------------

  async create(body: NetworkCreateBody, opts: { predefined?: boolean } = {}): Promise<NetworkRecord> {
    const name = body.Name ?? '';
    if (!name.trim()) throw new TsnetError('TSNET_INVALID_ARGUMENT', 'a network needs a name: tsnet network create NAME');
    // Docker takes any name that is not blank (`test 01` too); none reaches a file or a kernel object.
    if (!NAME_RE.test(name))
      throw new TsnetError(
        'TSNET_INVALID_ARGUMENT',
        `invalid network name ${JSON.stringify(name.slice(0, 80))}: no control characters, at most 255 characters`,
      );
    // reserve the name (check-and-mark, no await between): no lock is held across the driver,
    // IPAM and plugin calls below, so a slow plugin delays only its own network
    if (this.findByName(name) || this.creatingNames.has(name) || this.d.cluster?.network(name))
      throw new TsnetError('TSNET_NETWORK_EXISTS', `network with name ${name} already exists`);
    this.creatingNames.add(name);
    try {
      return await this.createReserved(name, body, opts);
    } finally {
      this.creatingNames.delete(name);
    }
  }

  private async createReserved(name: string, body: NetworkCreateBody, opts: { predefined?: boolean }): Promise<NetworkRecord> {
    const driverName = body.Driver || 'bridge';
    const mode = this.d.drivers.modeDriver(driverName)?.mode;
    if (mode) throw new TsnetError('TSNET_INVALID_ARGUMENT', `only one instance of "${mode}" network is allowed`);
    const driver = await this.d.drivers.network(driverName);
    const scope = driver.capabilities().scope;
    checkScope(body.Scope, driverName, scope);
    const cluster = this.d.cluster;
    if (scope === 'global' && !cluster) {
      throw new TsnetError(
        'TSNET_CLUSTER_STORE_REQUIRED',
        'overlay networks need a cluster store: start tsnetd with --cluster-store etcd://HOST:2379 --advertise-addr IP',
      );
    }
    // Global networks take their pools from the cluster IPAM unless --ipam-driver names another
    // driver: "default" (what the CLI sends when no --ipam-driver is given) means, as in Docker,
    // the default IPAM of the network's scope — for a global network the cluster-wide one.
    const askedIpam = body.IPAM?.Driver || 'default';
    const scopeIpam = { local: askedIpam, global: GLOBAL_IPAM, swarm: SWARM_IPAM }[scope];
    const ipamName = askedIpam === 'default' ? scopeIpam : askedIpam;
    const ipam = await this.d.drivers.ipam(ipamName);
    const config = (body.IPAM?.Config ?? []).filter((c) => c && (c.Subnet || c.Gateway || c.IPRange));
    for (const c of config) {
      if (!c.Subnet && (c.Gateway || c.IPRange || c.AuxiliaryAddresses)) {
        throw new TsnetError('TSNET_INVALID_ARGUMENT', '--gateway, --ip-range and --aux-address need a --subnet');
      }
    }
    const v6Configs = config.filter((c) => c.Subnet?.includes(':'));
    const v4Configs = config.filter((c) => !c.Subnet?.includes(':'));
    if (v6Configs.length && !body.EnableIPv6) {
      throw new TsnetError('TSNET_INVALID_ARGUMENT', 'an IPv6 --subnet needs --ipv6');
    }
    const rec: NetworkRecord = {
      ...blankRecord(name, driverName),
      scope,
      internal: body.Internal ?? false,
      attachable: body.Attachable ?? false,
      enableIPv6: body.EnableIPv6 ?? false,
      options: { ...(body.Options ?? {}) },
      labels: { ...(body.Labels ?? {}) },
      ipam: { driver: ipamName, options: { ...(body.IPAM?.Options ?? {}) }, config },
      ...(opts.predefined ? { predefined: true } : {}),
      ...(body.Ingress ? { ingress: true } : {}),
    };
    const rb = new Rollback();
    try {
      const avoid = await this.d.avoid();
      const request = async (c: IpamConfigEntry | undefined, v6: boolean): Promise<PoolRef> => {
        const lease: PoolLease = await ipam.requestPool({
          ...(c?.Subnet ? { subnet: c.Subnet } : {}),
          ...(c?.IPRange ? { ipRange: c.IPRange } : {}),
          ...(c?.Gateway ? { gateway: c.Gateway } : {}),
          ...(c?.AuxiliaryAddresses ? { auxAddresses: c.AuxiliaryAddresses } : {}),
          v6,
          networkId: rec.id,
          networkName: name,
          avoid,
          options: rec.ipam.options,
        });
        rb.push(`release pool ${lease.subnet}`, () => ipam.releasePool(lease.poolId));
        return {
          poolId: lease.poolId,
          subnet: lease.subnet,
          gateway: lease.gateway,
          v6,
          ...(lease.ipRange ? { ipRange: lease.ipRange } : {}),
        };
      };
      for (const c of v4Configs.length ? v4Configs : [undefined]) rec.pools.push(await request(c, false));
      if (rec.enableIPv6) for (const c of v6Configs.length ? v6Configs : [undefined]) rec.pools.push(await request(c, true));
      this.d.failpoint?.('network-create.after-pools');
      const spec = networkSpec(rec);
      await driver.validateNetwork?.(spec);
      if (scope !== 'local' && hasNetworkAllocator(driver)) {
        // cluster-wide resources (the VNI) become options of the network (spec.options is rec.options)
        const allocated = await driver.allocateNetwork(spec);
        rb.push(`free ${driverName} network resources`, () => driver.freeNetwork(rec.id));
        Object.assign(rec.options, allocated);
      }
      // The record's fsync overlaps the kernel work (bridge, firewall): its temp file is written
      // and synced meanwhile, and renamed into place — the commit — only after the driver (and
      // the cluster) succeeded, so a crash before that leaves kernel objects no record explains,
      // which the start-up sweeps and reconciles away.
      const prepared = this.d.store.prepare(rec);
      const made = rb.step(
        `create ${driverName} network`,
        () => driver.createNetwork(spec),
        () => driver.deleteNetwork(rec.id),
      );
      const [p, m] = await Promise.allSettled([prepared, made]);
      if (p.status === 'fulfilled') rb.push('drop the prepared record', () => p.value.abort());
      if (m.status === 'rejected') throw m.reason;
      if (p.status === 'rejected') throw p.reason;
      this.d.failpoint?.('network-create.after-driver');
      if (scope === 'global' && cluster) {
        // the store's own 'network added' event for this id is ignored (creating holds it)
        this.creatingGlobal.add(rec.id);
        await rb.step(
          'publish the network to the cluster',
          () => cluster.createNetwork(globalRecordOf(rec, cluster.nodeId)),
          () => cluster.deleteNetwork(rec.id),
        );
      }
      rb.push('remove the network record', () => this.d.store.remove(rec.id));
      await p.value.commit();
      this.networks.set(rec.id, rec);
      rb.commit();
    } catch (err) {
      const undo = await rb.unwind();
      for (const e of undo) this.d.logger.warn(e.message);
      throw err;
    } finally {
      this.creatingGlobal.delete(rec.id);
    }
    this.d.logger.info(
      `created network ${rec.name} (${rec.id.slice(0, 12)}, ${rec.driver}, ${rec.pools.map((p) => p.subnet).join(' ')})`,
    );
    if (!opts.predefined) this.announce(rec, 'create');
    return rec;
  }

  /**
   * Start-up: reach every IPAM plugin that networks use, in the background (a plugin that does
   * not answer must not keep the daemon from listening). Its activation replays the pools and
   * addresses the daemon holds when the plugin asks for it (RequiresRequestReplay).
   */
  activateIpamPlugins(): void {
    const names = new Set<string>();
    for (const n of this.networks.values())
      if (!n.removing && !['default', GLOBAL_IPAM, SWARM_IPAM].includes(n.ipam.driver)) names.add(n.ipam.driver);
    for (const name of names)
      void this.d.drivers.ipam(name).catch((err: Error) => this.d.logger.warn(`IPAM plugin ${name}: ${err.message}`));
  }

  /** A network or IPAM driver tsnet has built in (not a plugin). */
  isBuiltin(name: string): boolean {
    return ['default', GLOBAL_IPAM, SWARM_IPAM, ...this.d.drivers.builtinNames()].includes(name);
  }

  /** The IPAM plugin gave a replayed pool back under another PoolID: the record follows it. */
  async poolMoved(networkId: string, oldPoolId: string, newPoolId: string): Promise<void> {
    const n = this.networks.get(networkId);
    const pool = n?.pools.find((p) => p.poolId === oldPoolId);
    if (!n || !pool) return;
    pool.poolId = newPoolId;
    await this.d.store.save(n);
  }

  private async saveNew(rec: NetworkRecord): Promise<void> {
    await this.d.store.save(rec);
    this.networks.set(rec.id, rec);
  }

  /** Publish a network event as Docker does: the network id as actor, name and driver type. */
  announce(n: NetworkRecord, action: string, extra: Record<string, string> = {}): void {
    this.d.events?.publish('network', action, { ID: n.id, Attributes: { ...extra, name: n.name, type: n.driver } });
  }

  // ---- remove -------------------------------------------------------------------------------

  async remove(ref: string): Promise<void> {
    let n = await this.resolve(ref);
    if (n.predefined) throw new TsnetError('TSNET_NETWORK_IN_USE', `${n.name} is a pre-defined network and cannot be removed`);
    // a container removed a moment ago may still be leaving it
    if (this.endpointUsers(n.id).length && (await this.sandboxRemovalsDone())) n = this.get(n.id);
    const pending = this.removing.get(n.id);
    if (pending) return pending;
    // check-and-mark without an await in between: no endpoint can be reserved after this check
    const users = this.endpointUsers(n.id);
    if (users.length) {
      throw new TsnetError(
        'TSNET_NETWORK_IN_USE',
        `network ${n.name} has active endpoints (${users.join(', ')}): disconnect or remove those containers first`,
      );
    }
    const removal = this.removeReserved(n).finally(() => this.removing.delete(n.id));
    this.removing.set(n.id, removal);
    return removal;
  }

  /** The network is marked as being removed: driver, cluster and IPAM calls, then the record goes. */
  private async removeReserved(n: NetworkRecord): Promise<void> {
    if (!n.removing) {
      // intent before effect: a crash from here on is finished by the next start. Atomic but not
      // fsynced (as a container's removal intent, decision 27): a process crash keeps it (page
      // cache); one lost to a power loss brings the network back at the next start — as a
      // reboot removes its bridge and rules anyway, restore simply makes them again.
      n.removing = true;
      this.d.store.saveVolatile(n);
    }
    this.d.failpoint?.('network-rm.after-mark');
    let driver: NetworkDriver;
    try {
      driver = await this.driverOf(n);
    } catch (err) {
      delete n.removing; // nothing was touched: the network stays usable
      await this.d.store.save(n);
      throw err;
    }
    if (n.scope === 'global') {
      if (!this.d.cluster) {
        throw new TsnetError(
          'TSNET_CLUSTER_STORE_REQUIRED',
          `network ${n.name} is a global network: removing it needs the cluster store (start tsnetd with --cluster-store etcd://HOST:2379 --advertise-addr IP)`,
        );
      }
      // refused (TSNET_NETWORK_IN_USE) while any host has endpoints on it
      await this.d.cluster.deleteNetwork(n.id);
    }
    await driver.deleteNetwork(n.id);
    this.d.failpoint?.('network-rm.after-driver');
    if (n.scope !== 'local' && hasNetworkAllocator(driver)) {
      await driver.freeNetwork(n.id).catch((err: Error) => this.d.logger.warn(`free network ${n.name}: ${err.message}`));
    }
    const ipam = await this.ipamOf(n).catch(() => undefined);
    for (const p of n.pools)
      await ipam?.releasePool(p.poolId).catch((err: Error) => this.d.logger.warn(`release pool ${p.subnet}: ${err.message}`));
    await this.d.store.remove(n.id);
    this.networks.delete(n.id);
    this.networkRevisions.delete(n.id);
    this.d.logger.info(`removed network ${n.name} (${n.id.slice(0, 12)})`);
    this.announce(n, 'destroy');
  }

  // ---- global networks made on other hosts ----------------------------------------------------

  /**
   * Follow the cluster store: global networks added on other hosts get a local record (built
   * from the global record's pools, no IPAM call) and the driver's createNetwork; removed ones
   * are dropped. Call after the containers are loaded; `sync()` also runs after every resync.
   */
  followCluster(): () => void {
    const cluster = this.d.cluster;
    if (!cluster) return () => undefined;
    return cluster.subscribe((e) => {
      if (e.kind === 'network') {
        const g = e.network;
        if (e.type === 'removed') this.queueCluster(() => this.dropGlobal(g.id, 'removed from the cluster'));
        else if (e.type === 'added') this.queueCluster(() => this.adoptGlobal(g));
      } else if (e.kind === 'status' && e.available && e.resynced) {
        this.queueCluster(() => this.syncCluster());
      }
    });
  }

  /** Reconcile local global-network records with the cluster's (no-op while etcd is away). */
  async syncCluster(): Promise<void> {
    const cluster = this.d.cluster;
    if (!cluster?.available) return;
    const live = new Set(cluster.networks().map((g) => g.id));
    for (const g of cluster.networks()) await this.adoptGlobal(g);
    for (const n of [...this.networks.values()]) {
      if (n.scope === 'global' && !live.has(n.id) && !this.creatingGlobal.has(n.id))
        await this.dropGlobal(n.id, 'no longer in the cluster');
    }
  }

  /** Wait until every queued cluster event is applied (tests). */
  async clusterSettled(): Promise<void> {
    await this.locks.idle(CLUSTER_EVENTS);
  }

  private queueCluster(fn: () => Promise<void>): void {
    void this.locks.run(CLUSTER_EVENTS, fn).catch((err: Error) => this.d.logger.warn(`cluster network change: ${err.message}`));
  }

  private async adoptGlobal(g: GlobalNetworkRecord): Promise<void> {
    if (this.networks.has(g.id) || this.creatingGlobal.has(g.id)) return;
    await this.locks.run(g.id, async () => {
      if (this.networks.has(g.id) || this.creatingGlobal.has(g.id)) return;
      const clash = this.findByName(g.name);
      if (clash) {
        this.d.logger.warn(
          `global network ${g.name} (${g.id.slice(0, 12)}) is not shown on this host: a local network ${clash.id.slice(0, 12)} has its name`,
        );
        return;
      }
      const rec = localRecordOf(g);
      const driver = await this.d.drivers.network(g.driver);
      await driver.createNetwork(networkSpec(rec));
      await this.saveNew(rec);
      this.d.logger.info(
        `global network ${rec.name} (${rec.id.slice(0, 12)}, ${rec.driver}, ${rec.pools.map((p) => p.subnet).join(' ')}) added from the cluster`,
      );
    });
  }

  private async dropGlobal(id: string, why: string): Promise<void> {
    await this.locks.run(id, async () => {
      const n = this.networks.get(id);
      if (n?.scope !== 'global') return;
      const users = this.endpointUsers(n.id);
      if (users.length || this.removing.has(n.id)) {
        this.d.logger.warn(`global network ${n.name} ${why}, but containers here still use it (${users.join(', ')}): kept`);
        return;
      }
      const driver = await this.driverOf(n).catch(() => undefined);
      await driver?.deleteNetwork(n.id).catch((err: Error) => this.d.logger.warn(`drop network ${n.name}: ${err.message}`));
      await this.d.store.remove(n.id);
      this.networks.delete(n.id);
      this.networkRevisions.delete(n.id);
      this.d.logger.info(`global network ${n.name} (${n.id.slice(0, 12)}) ${why}: removed here`);
    });
  }

  /** Remove every unused local network `match` accepts (the prune filters); returns their names. */
  async prune(match: (n: NetworkRecord) => boolean = () => true): Promise<string[]> {
    const removed: string[] = [];
    await this.sandboxRemovalsDone();
    for (const n of this.list()) {
      // global networks are cluster-wide: prune on one host does not remove them (use network rm)
      if (n.predefined || n.scope === 'global' || this.endpointUsers(n.id).length || !match(n)) continue;
      try {
        await this.remove(n.id);
      } catch (err) {
        // an endpoint was reserved meanwhile: the network is in use, not an error of prune
        if ((err as TsnetError).code === 'TSNET_NETWORK_IN_USE') continue;
        throw err;
      }
      removed.push(n.name);
    }
    return removed;
  }
}

/** Who holds a pending delete's reservation (`network rm` names it). */
function pendingHolder(containerName: string): string {
  return `${containerName} (pending delete)`;
}

/**
 * Where a restored endpoint is joined (its sandbox and interface), so that a driver can take it
 * out of the sandbox at the next disconnect (macvlan) after a daemon restart.
 */
function joinedOf(sb: SandboxRecord | undefined, e: EndpointRecord, scope: string | undefined): { joined?: JoinSpec } {
  const sandboxKey = sb?.key;
  if (!sandboxKey || !e.ifname) return {};
  return {
    joined: {
      networkId: e.networkId,
      endpointId: e.endpointId,
      containerId: e.containerId,
      sandboxKey,
      ifname: e.ifname,
      ...(e.ipv4 ? { address: e.ipv4 } : {}),
      ...(e.ipv6 ? { addressV6: e.ipv6 } : {}),
      ...(e.mac ? { mac: e.mac } : {}),
      options: scope === 'global' ? endpointNameOptions(e.containerName, e.aliases) : {},
    },
  };
}

/** EndpointSpec options that carry a container's DNS names to global-scope drivers. */
export function endpointNameOptions(name: string, aliases: readonly string[]): Record<string, unknown> {
  return { 'com.tsnet.endpoint.name': name, 'com.tsnet.endpoint.aliases': [...aliases] };
}

function globalRecordOf(n: NetworkRecord, nodeId: string): GlobalNetworkRecord {
  const spec = networkSpec(n);
  const vni = Number(n.options['com.docker.network.driver.overlay.vxlanid_list']);
  return {
    id: n.id,
    name: n.name,
    driver: n.driver,
    ...(Number.isInteger(vni) && vni > 0 ? { vni } : {}),
    options: { ...n.options },
    labels: { ...n.labels },
    internal: n.internal,
    attachable: n.attachable,
    enableIPv6: n.enableIPv6,
    ipamDriver: n.ipam.driver,
    ipamOptions: { ...n.ipam.options },
    ipv4: spec.ipv4,
    ipv6: spec.ipv6,
    poolIds: n.pools.map((p) => p.poolId),
    pools: n.pools.map((p) => ({
      poolId: p.poolId,
      subnet: p.subnet,
      gateway: p.gateway,
      v6: p.v6,
      ...(p.ipRange ? { ipRange: p.ipRange } : {}),
    })),
    created: n.created,
    createdBy: nodeId,
  };
}

/** The local record of a global network made on another host (no IPAM call: its pools are given). */
function localRecordOf(g: GlobalNetworkRecord): NetworkRecord {
  const pools: PoolRef[] = (g.pools ?? []).map((p) => ({
    poolId: p.poolId,
    subnet: p.subnet,
    gateway: p.gateway,
    v6: p.v6,
    ...(p.ipRange ? { ipRange: p.ipRange } : {}),
  }));
  return {
    id: g.id,
    name: g.name,
    driver: g.driver,
    scope: 'global',
    created: g.created,
    internal: g.internal,
    attachable: g.attachable,
    enableIPv6: g.enableIPv6,
    options: { ...g.options },
    labels: { ...g.labels },
    ipam: {
      driver: g.ipamDriver,
      options: { ...g.ipamOptions },
      config: pools.map((p) => ({ Subnet: p.subnet, Gateway: p.gateway, ...(p.ipRange ? { IPRange: p.ipRange } : {}) })),
    },
    pools,
  };
}

function blankRecord(name: string, driver: string): NetworkRecord {
  return {
    id: crypto.randomBytes(32).toString('hex'),
    name,
    driver,
    scope: 'local',
    created: new Date().toISOString(),
    internal: false,
    attachable: false,
    enableIPv6: false,
    options: {},
    labels: {},
    ipam: { driver: 'default', options: {}, config: [] },
    pools: [],
  };
}
