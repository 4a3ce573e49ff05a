/**
 * Single-node swarm mode: what `docker swarm init` gives on one node, for networking. The node
 * is the swarm's only manager and leader; it runs no services, tasks, secrets or configs (the
 * API says so: lists are empty, creates answer 501) and accepts no other node (join answers
 * 501: multi-host overlay networks use the cluster store, docs/overlay.md).
 *
 * What is real: the membership (<root>/swarm/state.json, kept across restarts, removed by
 * leave), the `ingress` overlay network made at init (10.0.0.0/24, removable), and swarm-scope
 * overlay networks: the overlay driver (VXLAN in a network namespace per network) with this
 * node's own control plane (local-cluster.ts) instead of etcd, and subnets from the swarm's
 * default address pool (10.0.0.0/8 in /24s unless init says otherwise) through an IPAM of its
 * own (<root>/swarm/ipam, address space GlobalDefault). Leave removes every swarm network —
 * containers attached to one are disconnected first, as Docker does.
 */
import os from 'node:os';
import path from 'node:path';
import { TsnetError } from '../errors/index.js';
import { DefaultIpam, FileStore, validatePoolSpecs } from '../ipam/index.js';
import type { Netlink } from '../kernel/netlink/index.js';
import type { Netns } from '../kernel/netns.js';
import type { Logger } from '../lib/logger.js';
import { createOverlayDriver, VXLAN_PORT, VXLANID_OPTION, type OverlayDriver } from '../network/drivers/overlay/index.js';
import type { NetworkCreateBody } from '../network/controller.js';
import type { NetworkRecord } from '../network/network-record.js';
import { SWARM_PORT, checkLocal, defaultAdvertiseAddr, resolveHost, splitHostPort } from './addresses.js';
import { clusterJson, defaultSpec, infoJson, nodeJson, type NodeFacts } from './json.js';
import { LocalCluster } from './local-cluster.js';
import { loadState, newId, newJoinToken, removeState, saveState, stateDir, type SwarmSpec, type SwarmState } from './state.js';

/** Docker's words on a node outside a swarm (503). */
export const NOT_MANAGER =
  'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
export const NOT_IN_SWARM = 'This node is not part of a swarm';
const SWARM_EXISTS = 'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.';
const MANAGER_LEAVE =
  'You are attempting to leave the swarm on a node that is participating as a manager. Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message.';
export const JOIN_UNSUPPORTED =
  'tsnet supports single-node swarm mode only: it cannot join a swarm (for overlay networks across hosts, start tsnetd with --cluster-store, see docs/overlay.md)';
const AUTOLOCK_UNSUPPORTED = 'tsnet keeps no swarm keys to encrypt (no raft log, no CA): autolock is not supported';

export const INGRESS = 'ingress';
/** Internal name of the swarm's IPAM (shown as "default" in inspect, as Docker does). */
export const SWARM_IPAM = 'swarm';

/** What swarm mode needs from the network controller. */
export interface SwarmNetworks {
  list(): NetworkRecord[];
  create(body: NetworkCreateBody): Promise<NetworkRecord>;
  remove(id: string): Promise<void>;
}

export interface SwarmDeps {
  root: string;
  hostNetlink: Netlink;
  netns: Netns;
  /** `<exec-root>/netns`: where the overlay driver keeps network namespaces. */
  netnsDir: string;
  networks: () => SwarmNetworks;
  /** Disconnect every container from a network (force), before leave removes it. */
  disconnectAll: (networkId: string) => Promise<void>;
  /** tsnetd runs with --cluster-store: overlay networks are global (etcd); no swarm mode then. */
  clusterStore: boolean;
  engineVersion: string;
  networkDrivers: () => string[];
  logger: Logger;
}

export interface SwarmInitRequest {
  ListenAddr?: string | null;
  AdvertiseAddr?: string | null;
  DataPathAddr?: string | null;
  DataPathPort?: number | null;
  DefaultAddrPool?: string[] | null;
  SubnetSize?: number | null;
  ForceNewCluster?: boolean | null;
  Spec?: Partial<SwarmSpec> | null;
}

/** What exists while the node is in swarm mode. */
interface Active {
  state: SwarmState;
  ipam: DefaultIpam;
  cluster: LocalCluster;
  overlay: OverlayDriver;
}

export class Swarm {
  private current: Active | undefined;
  /** One init, leave or update at a time. */
  private busy: Promise<unknown> = Promise.resolve();

  constructor(private readonly d: SwarmDeps) {}

  /** Daemon start: a node that was in swarm mode is again (before the network drivers restore). */
  async load(): Promise<void> {
    const state = await loadState(this.d.root);
    if (!state) return;
    this.current = await this.activate(state);
    for (const w of this.current.ipam.loadWarnings) this.d.logger.warn(`swarm ipam: ${w}`);
    this.d.logger.info(`swarm mode: node ${state.nodeId} (single-node swarm ${state.clusterId})`);
  }

  get active(): boolean {
    return this.current !== undefined;
  }

  /** The swarm-scope overlay driver, while in swarm mode. */
  overlay(): OverlayDriver | undefined {
    return this.current?.overlay;
  }

  /** The swarm's IPAM (default address pool), while in swarm mode. */
  ipam(): DefaultIpam | undefined {
    return this.current?.ipam;
  }

  info() {
    return infoJson(this.current?.state);
  }

  inspect() {
    return clusterJson(this.manager().state, true);
  }

  nodes() {
    return [nodeJson(this.manager().state, this.facts())];
  }

  /** A node by id, id prefix or hostname (the one node, or TSNET_SWARM_OBJECT_NOT_FOUND). */
  node(ref: string) {
    const s = this.manager().state;
    const f = this.facts();
    if (ref && (s.nodeId.startsWith(ref) || ref === f.hostname)) return nodeJson(s, f);
    throw new TsnetError('TSNET_SWARM_OBJECT_NOT_FOUND', `node ${ref} not found`);
  }

  /** The state of a node in swarm mode, or Docker's 503 outside it. */
  private manager(): Active {
    if (!this.current) throw new TsnetError('TSNET_NOT_SWARM_MANAGER', NOT_MANAGER);
    return this.current;
  }

  /** Refuse what swarm mode cannot do outside it (Docker's 503) — e.g. a swarm-scope network. */
  requireManager(): void {
    this.manager();
  }

  // ---- init / leave / update -----------------------------------------------------------------

  init(req: SwarmInitRequest): Promise<string> {
    return this.serial(async () => {
      if (this.current) throw new TsnetError('TSNET_SWARM_EXISTS', SWARM_EXISTS);
      if (this.d.clusterStore) {
        throw new TsnetError(
          'TSNET_INVALID_ARGUMENT',
          'tsnetd runs with --cluster-store: overlay networks are global (etcd) on this host, and swarm mode is not available beside them',
        );
      }
      const state = await this.newState(req);
      // intent before effect: a crash from here on restarts in swarm mode, where leave cleans up
      await saveState(this.d.root, state);
      let active: Active | undefined;
      try {
        active = await this.activate(state);
        this.current = active;
        await this.d.networks().create({ Name: INGRESS, Driver: 'overlay', Ingress: true });
      } catch (err) {
        this.current = undefined;
        active?.overlay.close();
        removeState(this.d.root);
        throw err;
      }
      this.d.logger.info(`swarm initialised: node ${state.nodeId}, advertise ${state.advertiseAddr}`);
      return state.nodeId;
    });
  }

  leave(force: boolean): Promise<void> {
    return this.serial(async () => {
      const cur = this.current;
      if (!cur) throw new TsnetError('TSNET_NOT_SWARM_MANAGER', NOT_IN_SWARM);
      if (!force) throw new TsnetError('TSNET_SWARM_MANAGER_LEAVE', MANAGER_LEAVE);
      const networks = this.d.networks();
      for (const n of networks.list().filter((x) => x.scope === 'swarm')) {
        await this.d.disconnectAll(n.id);
        await networks.remove(n.id);
      }
      await cur.overlay.sweep([]).catch((err: Error) => this.d.logger.warn(`swarm leave: sweep overlay: ${err.message}`));
      cur.overlay.close();
      this.current = undefined;
      removeState(this.d.root);
      this.d.logger.info(`left the swarm (node ${cur.state.nodeId})`);
    });
  }

  update(
    version: number,
    spec: Partial<SwarmSpec> | null,
    rotate: { worker: boolean; manager: boolean; unlockKey: boolean },
  ): Promise<void> {
    return this.serial(async () => {
      const cur = this.manager();
      if (version !== cur.state.version) {
        throw new TsnetError(
          'TSNET_SWARM_OUT_OF_SEQUENCE',
          `update out of sequence: the swarm is at version ${cur.state.version}, the update was made for ${version} (inspect again and retry)`,
        );
      }
      const next: SwarmState = {
        ...cur.state,
        spec: mergeSpec(defaultSpec(), spec),
        version: cur.state.version + 1,
        updatedAt: new Date().toISOString(),
        joinTokens: {
          Worker: rotate.worker ? newJoinToken() : cur.state.joinTokens.Worker,
          Manager: rotate.manager ? newJoinToken() : cur.state.joinTokens.Manager,
        },
      };
      await saveState(this.d.root, next);
      cur.state = next;
    });
  }

  // ---- internals -----------------------------------------------------------------------------

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.busy.then(fn, fn);
    this.busy = p.catch(() => undefined);
    return p;
  }

  private async activate(state: SwarmState): Promise<Active> {
    const ipam = await DefaultIpam.load(new FileStore(path.join(stateDir(this.d.root), 'ipam')), {
      defaultPools: validatePoolSpecs(state.defaultAddrPool.map((base) => ({ base, size: state.subnetSize }))),
      addressSpace: 'GlobalDefault',
    });
    const cluster = new LocalCluster(state.nodeId, state.dataPathAddr, () => this.vnisInUse());
    const overlay = createOverlayDriver({
      cluster,
      hostNetlink: this.d.hostNetlink,
      netns: this.d.netns,
      netnsDir: this.d.netnsDir,
      logger: this.d.logger,
      vxlanPort: state.dataPathPort,
      scope: 'swarm',
    });
    return { state, ipam, cluster, overlay };
  }

  private vnisInUse(): Map<string, number> {
    const m = new Map<string, number>();
    for (const n of this.d.networks().list()) {
      const v = Number(n.options[VXLANID_OPTION]);
      if (n.scope === 'swarm' && Number.isInteger(v) && v > 0) m.set(n.id, v);
    }
    return m;
  }

  private async newState(req: SwarmInitRequest): Promise<SwarmState> {
    const spec = mergeSpec(defaultSpec(), req.Spec ?? null);
    const nl = this.d.hostNetlink;
    const listen = splitHostPort(req.ListenAddr || `0.0.0.0:${SWARM_PORT}`, 'listen address');
    const listenHost = listen.host === '' ? '0.0.0.0' : await resolveHost(nl, listen.host, 'listen address');
    const listenPort = listen.port ?? SWARM_PORT;
    let advertiseAddr: string;
    let advertisePort = listenPort;
    if (req.AdvertiseAddr) {
      const a = splitHostPort(req.AdvertiseAddr, 'advertise address');
      advertiseAddr = await resolveHost(nl, a.host, 'advertise address');
      advertisePort = a.port ?? listenPort;
    } else if (listenHost !== '0.0.0.0' && listenHost !== '::') {
      advertiseAddr = listenHost;
    } else {
      advertiseAddr = await defaultAdvertiseAddr(nl);
    }
    const dataPathAddr = req.DataPathAddr
      ? await resolveHost(nl, splitHostPort(req.DataPathAddr, 'data path address').host, 'data path address')
      : advertiseAddr;
    // the VXLAN device of every swarm network is bound to it
    await checkLocal(nl, dataPathAddr, req.DataPathAddr ? 'data path address' : 'advertise address');
    const dataPathPort = req.DataPathPort || VXLAN_PORT;
    if (dataPathPort < 1024 || dataPathPort > 49151) {
      throw new TsnetError(
        'TSNET_INVALID_ARGUMENT',
        `data path port ${dataPathPort} is out of range: give a port from 1024 to 49151 (default ${VXLAN_PORT})`,
      );
    }
    const defaultAddrPool = req.DefaultAddrPool?.length ? req.DefaultAddrPool : ['10.0.0.0/8'];
    const subnetSize = req.SubnetSize || 24;
    // checked now: a bad pool must fail the init, not the ingress network after it
    validatePoolSpecs(defaultAddrPool.map((base) => ({ base, size: subnetSize })));
    const now = new Date().toISOString();
    return {
      format: 1,
      clusterId: newId(),
      nodeId: newId(),
      createdAt: now,
      updatedAt: now,
      version: 10,
      spec,
      advertiseAddr,
      advertisePort,
      listenAddr: `${listenHost}:${listenPort}`,
      dataPathAddr,
      dataPathPort,
      defaultAddrPool,
      subnetSize,
      joinTokens: { Worker: newJoinToken(), Manager: newJoinToken() },
    };
  }

  private facts(): NodeFacts {
    return {
      hostname: os.hostname(),
      architecture: os.machine(),
      nanoCpus: os.cpus().length * 1e9,
      memoryBytes: os.totalmem(),
      engineVersion: this.d.engineVersion,
      networkDrivers: this.d.networkDrivers(),
    };
  }
}

/** A spec as given, over Docker's defaults (a null or missing field keeps the default). */
function mergeSpec(base: SwarmSpec, given: Partial<SwarmSpec> | null): SwarmSpec {
  const out: SwarmSpec = { ...base };
  for (const [k, v] of Object.entries(given ?? {})) if (v !== null && v !== undefined) out[k] = v;
  if (given?.EncryptionConfig && (given.EncryptionConfig as { AutoLockManagers?: boolean }).AutoLockManagers) {
    throw new TsnetError('TSNET_SWARM_UNSUPPORTED', AUTOLOCK_UNSUPPORTED);
  }
  out.Labels = { ...(out.Labels ?? {}) };
  return out;
}
