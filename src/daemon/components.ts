/**
 * Build the daemon's components once and wire them together (DESIGN rule 6: no global state).
 */
import fs from 'node:fs';
import path from 'node:path';
import { statCached } from '../lib/stat-cache.js';
import { createFileThread, type FileThread } from '../store/file-thread.js';
import { DefaultIpam, FileStore, hostAvoidList, resolveDefaultPools } from '../ipam/index.js';
import type { IpamDriver } from '../ipam/ipam-api.js';
import { flushConntrackPorts } from '../kernel/conntrack.js';
import {
  createIptablesFirewall,
  createLowFdSlots,
  reserveLowFds,
  createNftablesFirewall,
  type FirewallBackend,
} from '../kernel/firewall/index.js';
import { loadLibc } from '../kernel/libc.js';
import { Netlink } from '../kernel/netlink/index.js';
import { createSyncNetlinkOpener } from '../kernel/netlink/sync-socket.js';
import { createSpawner } from '../kernel/spawn.js';
import type { LaunchOptions } from '../runtime/supervisor.js';
import { createNetnsOps } from '../kernel/netns.js';
import { readSysctl, writeSysctl } from '../kernel/sysctl.js';
import { Attachments } from '../network/attachments.js';
import { EmbeddedDns, type EmbeddedDnsDeps } from '../network/embedded-dns.js';
import { ContainerNetwork } from '../network/container-network.js';
import { createContainerModeDriver } from '../network/drivers/container/index.js';
import { createHostDriver } from '../network/drivers/host/index.js';
import { createNullDriver } from '../network/drivers/none/index.js';
import type { EndpointRecord, SandboxRecord } from '../network/sandbox-record.js';
import { GLOBAL_IPAM, NetworkController, SWARM_IPAM, type DriverSource } from '../network/controller.js';
import { isNetworkModeDriver, type NetworkDriver, type NetworkModeDriver } from '../network/driver-api.js';
import { createBridgeDriver } from '../network/drivers/bridge/index.js';
import { createFastPath } from '../network/drivers/bridge/fast-path.js';
import { loadNameToIndex, loadPeerRedirect } from '../kernel/peer-redirect.js';
import { createMacvlanDriver } from '../network/drivers/macvlan/index.js';
import type { NetworkRecord } from '../network/network-record.js';
import { PortReservations } from '../network/ports.js';
import { Sandboxes } from '../network/sandbox.js';
import { createNetnsMaker } from '../kernel/netns-maker.js';
import { createCgroups, type Cgroups } from '../runtime/cgroups.js';
import { loadDevicePrograms } from '../kernel/bpf.js';
import { ContainerManager } from '../runtime/container/container-manager.js';
import { ContainerDirPool } from '../runtime/container/dir-pool.js';
import { DIR_POOL_DIR } from '../runtime/container/paths.js';
import { ExecManager } from '../runtime/container/exec-manager.js';
import type { ContainerRecord } from '../runtime/container/types.js';
import { ImageStore } from '../runtime/image/image-store.js';
import type { ImportLimits } from '../runtime/image/limits.js';
import { InsecureRegistries, Puller } from '../runtime/image/pull/index.js';
import { RecordStore } from '../store/record-store.js';
import type { Logger } from '../lib/logger.js';
import { PluginRegistry } from '../plugins/index.js';
import { createRemoteDriver } from '../network/drivers/remote/index.js';
import { createRemoteIpam } from '../ipam/remote/index.js';
import { replayPlan } from '../network/ipam-replay.js';
import { PendingDeletes, type PendingDelete } from '../network/pending-deletes.js';
// type-only: the cluster store's modules (etcd3, gRPC, protobufjs: ~20 % of a start's CPU) are
// loaded below only when --cluster-store is given
import type { ClusterStore } from '../store/cluster/index.js';
import type { ClusterIpam } from '../ipam/cluster/index.js';
import type { AddressReclaimer } from '../ipam/cluster/reclaim.js';
import { createOverlayDriver, type OverlayDriver } from '../network/drivers/overlay/index.js';
import { TsnetError } from '../errors/index.js';
import type { Failpoint } from '../lib/failpoints.js';
import { TSNET_VERSION } from './routes/system.js';
import { loadOrCreateEngineId } from './engine-id.js';
import { defaultBridgeConfig } from '../network/default-bridge.js';
import { EventBus } from '../events/bus.js';
import { StatsCollector } from '../runtime/stats/collector.js';
import { ContainerMounts } from '../runtime/volumes/container-mounts.js';
import { VolumeStore } from '../runtime/volumes/volume-store.js';
import { HealthMonitors } from '../runtime/health/monitor.js';
import { runProbe } from '../runtime/health/probe.js';
import { NOT_MANAGER, Swarm } from '../swarm/swarm.js';

export interface DaemonOptions {
  root: string;
  execRoot: string;
  initPath: string;
  cgroupParent: string;
  defaultAddressPools: string[];
  defaultBridge: string;
  /** --ipv6 and --fixed-cidr-v6 of the default bridge. */
  defaultBridgeIpv6?: boolean;
  fixedCidrV6?: string;
  /** Default 'iptables'. */
  firewallBackend?: 'iptables' | 'nftables';
  /** false: no bridge network has the fast path (tsnetd --no-bridge-fast-path; decisions 59, 61). */
  bridgeFastPath?: boolean;
  /** Network namespaces made ahead for creates (tsnetd --netns-pool; 0 or absent: none). */
  netnsPool?: number;
  /** Container dirs made ahead for creates (tsnetd --dir-pool; 0 or absent: none). */
  dirPool?: number;
  pluginDirs?: string[];
  pluginSpecDirs?: string[];
  pluginTimeoutMs?: number;
  /** `etcd://HOST:2379[,HOST2:2379]`: enables global-scope (overlay) networks. */
  clusterStore?: string;
  /** This host's underlay address (VTEP, node id); required with clusterStore. */
  advertiseAddr?: string;
  /** Node lease TTL in the cluster store (default 15 s). */
  clusterLeaseTtlSeconds?: number;
  /** Free the addresses of a node gone this long (default 86400 s; 0: never). */
  clusterReclaimSeconds?: number;
  /** Limits of one image import (size, entries, path length). */
  imageLimits?: ImportLimits;
  /** Registries reached over plain http: HOST[:PORT] or CIDR (loopback ones always are). */
  insecureRegistries?: string[];
  /** Test-only crash points (TSNET_FAILPOINTS); absent = none. */
  failpoint?: Failpoint;
  logger: Logger;
}

export interface Components {
  opts: DaemonOptions;
  images: ImageStore;
  /** Container, network and image events for GET /events. */
  events: EventBus;
  puller: Puller;
  containers: ContainerManager;
  execs: ExecManager;
  /** Local volumes (<root>/volumes). */
  volumes: VolumeStore;
  /** Samples for GET /containers/{id}/stats. */
  stats: StatsCollector;
  cgroups: Cgroups;
  sandboxes: Sandboxes;
  controller: NetworkController;
  /** The network layer's operations on sandboxes (what the runtime calls). */
  networking: ContainerNetwork;
  /** The embedded DNS (its resolver ports are handed to the next daemon at a restart). */
  dns: EmbeddedDns;
  /** Endpoint teardowns waiting for a plugin that did not answer (load after the network reconcile). */
  pending: PendingDeletes;
  firewall: FirewallBackend;
  hostNetlink: Netlink;
  ipam: DefaultIpam;
  plugins: PluginRegistry;
  /** The file threads (decision 44): the daemon's stop lets their queues land before it exits. */
  files: { durable: FileThread; behind: FileThread };
  /** Container dirs made ahead (decision 62): started after the sweep, stopped with the daemon. */
  dirPool: ContainerDirPool;
  /** With --cluster-store: the cluster store (start it before controller.restoreDrivers) and the overlay driver. */
  cluster?: ClusterStore;
  /** With --cluster-store: frees the addresses of hosts gone longer than --cluster-reclaim-after. */
  reclaimer?: AddressReclaimer;
  overlay?: OverlayDriver;
  /** Single-node swarm mode (state under <root>/swarm; its overlay driver and IPAM while active). */
  swarm: Swarm;
}

export async function buildComponents(opts: DaemonOptions): Promise<Components> {
  // State is private (0700). The exec-root stays traversable (0711): the API socket, whose own
  // mode and group decide who connects, and the plugin sockets live in it.
  for (const [d, mode] of [
    [opts.root, 0o700],
    [opts.execRoot, 0o711],
  ] as const) {
    fs.mkdirSync(d, { recursive: true, mode });
    fs.chmodSync(d, mode);
  }
  const { logger } = opts;
  const nameservers = statCached('/etc/resolv.conf', nameserversOf, []);
  // flags first: a bad --fixed-cidr-v6 must stop the daemon before it changes anything
  const defaultBridge = defaultBridgeConfig(opts.defaultBridge, opts.defaultBridgeIpv6 === true, opts.fixedCidrV6);
  const engineId = loadOrCreateEngineId(opts.root);
  const libc = loadLibc();
  const netns = createNetnsOps(libc);
  // synchronous netlink sockets: a request costs no event-loop turn (src/kernel/netlink/sync-transport.ts)
  const syncNetlink = createSyncNetlinkOpener();
  const sandboxes = new Sandboxes(netns, path.join(opts.execRoot, 'netns'), syncNetlink, {
    size: opts.netnsPool ?? 0,
    logger,
    // two low fds for the pool thread's libnftables contexts (DNS rules made ahead, decision 44)
    maker: createNetnsMaker({ lowFds: reserveLowFds(2) }),
  });
  const events = new EventBus();
  const images = new ImageStore({
    root: path.join(opts.root, 'image'),
    events,
    ...(opts.imageLimits ? { limits: opts.imageLimits } : {}),
  });
  const puller = new Puller({
    images,
    insecure: new InsecureRegistries(opts.insecureRegistries ?? []),
    userAgent: `tsnetd/${TSNET_VERSION}`,
  });
  // device programs loaded once per allow-list and attached by the daemon (decision 51)
  const cgroups = createCgroups({ parent: opts.cgroupParent, programs: loadDevicePrograms() });
  const hostNetlink = Netlink.openSync(syncNetlink);
  const inNetns = <T>(file: string, fn: () => T): T => netns.run(file, fn);
  // tsnet-init and iptables-restore by posix_spawn: no fork of the whole daemon per start, exec
  // or firewall change (src/kernel/spawn.ts)
  const spawner = createSpawner();
  // low fds for libnftables contexts, reserved while the daemon holds few (FD_SETSIZE, decision 28)
  const nft = { lowFds: createLowFdSlots(), onFallback: (why: string) => logger.debug(`nftables: nft -f: ${why}`) };
  const backends = {
    iptables: () => createIptablesFirewall({ inNetns, runner: (cmd, args, o) => spawner.run(cmd, args, o), ...nft }),
    nftables: () => createNftablesFirewall({ inNetns, ...nft }),
  };
  const chosen = opts.firewallBackend ?? 'iptables';
  const firewall = backends[chosen]();
  await firewall.init();
  // A switch of backend: the other one's rules would keep NATing and filtering; remove them
  // (an admin's non-empty user chain is kept).
  try {
    await backends[chosen === 'iptables' ? 'nftables' : 'iptables']().removeAll();
  } catch (err) {
    logger.debug(`firewall: removing the other backend's rules: ${(err as Error).message}`);
  }
  logger.info(`firewall backend: ${firewall.name}`);
  // a create's file work on threads of their own (decision 44): its dirs and its record (with
  // the fsync) on one, the records written behind (addresses, endpoints, sandbox) on the other,
  // so that these need not wait for that fsync
  const files = { durable: createFileThread(), behind: createFileThread() };
  // container dirs made ahead, on a thread of their own (decision 62)
  const dirPool = new ContainerDirPool({
    dir: path.join(opts.root, DIR_POOL_DIR),
    target: path.join(opts.root, 'containers'),
    size: opts.dirPool ?? 0,
    thread: createFileThread(),
    logger,
  });
  const ipam = await DefaultIpam.load(
    new FileStore(path.join(opts.root, 'ipam'), { thread: files.behind, onBehindError: (m) => logger.warn(m) }),
    {
      defaultPools: resolveDefaultPools(opts.defaultAddressPools, engineId),
    },
  );
  for (const w of ipam.loadWarnings) logger.warn(`ipam: ${w}`);
  const ports = new PortReservations();

  const peerRedirect = opts.bridgeFastPath === false ? undefined : loadPeerRedirect();
  const nameToIndex = loadNameToIndex();
  const fastPath = createFastPath({
    redirect: peerRedirect,
    nameToIndex,
    attach: (ifindex, fd, name) => hostNetlink.attachIngressBpf(ifindex, fd, name),
    detach: (ifindex) => hostNetlink.detachIngressBpf(ifindex),
    logger,
  });
  const bridge = createBridgeDriver({
    host: hostNetlink,
    inNetns: (file, fn) => netns.run(file, fn),
    firewall,
    sysctl: { read: readSysctl, write: (k, v) => writeSysctl(k, v) },
    flushConntrack: (proto, p) => flushConntrackPorts(proto, p, (c, a, o) => spawner.run(c, a, o)),
    fastPath,
    logger,
  });
  // the network mode drivers: host and null are network drivers too (predefined networks host, none)
  const hostDriver = createHostDriver();
  const nullDriver = createNullDriver();
  const modes: NetworkModeDriver[] = [hostDriver, nullDriver, createContainerModeDriver()];
  const builtins = new Map<string, NetworkDriver>([
    [hostDriver.name, hostDriver],
    [nullDriver.name, nullDriver],
    ['bridge', bridge],
    ['macvlan', createMacvlanDriver({ host: hostNetlink, inNetns, logger })],
  ]);
  let cluster: ClusterStore | undefined;
  let clusterIpam: ClusterIpam | undefined;
  let reclaimer: AddressReclaimer | undefined;
  let overlay: OverlayDriver | undefined;
  if (opts.clusterStore) {
    if (!opts.advertiseAddr)
      throw new TsnetError(
        'TSNET_INVALID_ARGUMENT',
        "--cluster-store needs --advertise-addr IP (this host's address on the underlay network)",
      );
    const [{ ClusterStore }, { ClusterIpam }, { AddressReclaimer, DEFAULT_RECLAIM_SECONDS, checkGraceSeconds }] =
      await Promise.all([
        import('../store/cluster/index.js'),
        import('../ipam/cluster/index.js'),
        import('../ipam/cluster/reclaim.js'),
      ]);
    cluster = new ClusterStore({
      url: opts.clusterStore,
      advertiseAddr: opts.advertiseAddr,
      logger,
      version: TSNET_VERSION,
      ...(opts.clusterLeaseTtlSeconds !== undefined ? { leaseTtlSeconds: opts.clusterLeaseTtlSeconds } : {}),
    });
    clusterIpam = new ClusterIpam(cluster);
    reclaimer = new AddressReclaimer(cluster, {
      graceSeconds: checkGraceSeconds(opts.clusterReclaimSeconds ?? DEFAULT_RECLAIM_SECONDS),
      logger,
    });
    overlay = createOverlayDriver({
      cluster,
      hostNetlink,
      netns,
      netnsDir: path.join(opts.execRoot, 'netns'),
      logger,
      // the bridge's fast path in each overlay network's namespace (decision 61)
      fastPath: (file, nl) =>
        createFastPath({
          redirect: peerRedirect,
          nameToIndex: (name) => netns.run(file, () => nameToIndex(name)),
          attach: (ifindex, fd, name) => nl.attachIngressBpf(ifindex, fd, name),
          detach: (ifindex) => nl.detachIngressBpf(ifindex),
          logger,
        }),
    });
    builtins.set('overlay', overlay);
  } else if (opts.advertiseAddr) {
    throw new TsnetError('TSNET_INVALID_ARGUMENT', '--advertise-addr is only used with --cluster-store etcd://HOST:2379');
  }
  const plugins = new PluginRegistry({
    socketDirs: opts.pluginDirs ?? [],
    specDirs: opts.pluginSpecDirs ?? [],
    ...(opts.pluginTimeoutMs ? { timeoutMs: opts.pluginTimeoutMs } : {}),
    logger,
  });
  const remoteDrivers = new Map<string, Promise<NetworkDriver>>();
  const remoteIpams = new Map<string, Promise<IpamDriver>>();
  const cached = <T>(m: Map<string, Promise<T>>, name: string, make: () => Promise<T>): Promise<T> => {
    let p = m.get(name);
    if (!p) {
      p = make();
      m.set(name, p);
      p.catch(() => m.delete(name));
    }
    return p;
  };
  const drivers: DriverSource = {
    async network(name) {
      const d = builtins.get(name);
      if (d) return d;
      if (name === 'overlay') {
        const o = swarm.overlay();
        if (o) return o;
        throw new TsnetError(
          'TSNET_CLUSTER_STORE_REQUIRED',
          'overlay networks need a cluster store: start tsnetd with --cluster-store etcd://HOST:2379 --advertise-addr IP (or, on one node: tsnet swarm init)',
        );
      }
      return cached(remoteDrivers, name, async () => {
        const client = await plugins.get(name, 'NetworkDriver');
        // a plugin back after a restart: teardowns waiting for it are retried at once
        client.onActivate(async () => {
          setImmediate(() => pending.kick());
        });
        return createRemoteDriver(name, client, { netns, hostNetlink: () => hostNetlink, logger });
      });
    },
    async ipam(name): Promise<IpamDriver> {
      if (name === 'default') return ipam;
      if (name === SWARM_IPAM) {
        const s = swarm.ipam();
        if (s) return s;
        throw new TsnetError('TSNET_NOT_SWARM_MANAGER', NOT_MANAGER);
      }
      if (name === GLOBAL_IPAM) {
        if (clusterIpam) return clusterIpam;
        throw new TsnetError(
          'TSNET_CLUSTER_STORE_REQUIRED',
          'the cluster IPAM needs a cluster store: start tsnetd with --cluster-store etcd://HOST:2379 --advertise-addr IP',
        );
      }
      return cached(remoteIpams, name, async () =>
        createRemoteIpam(name, await plugins.get(name, 'IpamDriver'), {
          logger,
          activated: () => setImmediate(() => pending.kick()),
          replay: {
            plan: () =>
              replayPlan(
                name,
                controller.list(),
                controller.allEndpoints().map((e) => ({ ...e, name: e.containerName })),
              ),
            poolMoved: (networkId, oldId, newId) => controller.poolMoved(networkId, oldId, newId),
          },
        }),
      );
    },
    builtinNames: () => [...builtins.keys(), ...(swarm.active ? ['overlay'] : [])],
    modeDriver: (name) => {
      const d = builtins.get(name);
      return d && isNetworkModeDriver(d) ? d : undefined;
    },
  };

  const state = path.join(opts.root, 'state');
  let containers: ContainerManager | undefined;
  const volumes = new VolumeStore({
    dir: path.join(opts.root, 'volumes'),
    users: (name) => {
      const using = (containers?.list() ?? []).filter((r) =>
        (r.mounts ?? []).some((m) => m.Type === 'volume' && m.Name === name),
      );
      return { all: using.map((r) => r.id), running: using.filter((r) => r.state.Status === 'running').map((r) => r.id) };
    },
    events,
    logger,
  });
  await volumes.load();
  const swarm = new Swarm({
    root: opts.root,
    hostNetlink,
    netns,
    netnsDir: path.join(opts.execRoot, 'netns'),
    networks: () => controller,
    disconnectAll: async (networkId) => {
      for (const ep of controller.endpointsOn(networkId)) await containers!.disconnect(ep.containerId, networkId, true);
    },
    clusterStore: cluster !== undefined,
    engineVersion: TSNET_VERSION,
    networkDrivers: () => drivers.builtinNames(),
    logger,
  });
  const controller = new NetworkController({
    store: new RecordStore<NetworkRecord>(path.join(state, 'networks'), (m) => logger.warn(m)),
    sandboxStore: new RecordStore<SandboxRecord>(path.join(state, 'sandboxes'), (m) => logger.warn(m)),
    endpointStore: new RecordStore<EndpointRecord>(path.join(state, 'endpoints'), (m) => logger.warn(m)),
    files: files.behind,
    drivers,
    avoid: async () => {
      const routes = (await hostNetlink.listRoutes({ family: 4 }))
        .filter((r) => r.dst !== 'default' && r.scope === 'link')
        .map((r) => r.dst);
      // IPv6: directly connected prefixes (no gateway), link-local and multicast left out
      const routes6 = (await hostNetlink.listRoutes({ family: 6 }))
        .filter((r) => r.dst !== 'default' && !r.gateway && !/^(fe80|ff)/i.test(r.dst))
        .map((r) => r.dst);
      return hostAvoidList([...routes, ...routes6], nameservers());
    },
    defaultBridgeName: opts.defaultBridge,
    defaultBridge,
    ...(cluster ? { cluster } : {}),
    events,
    ...(opts.failpoint ? { failpoint: opts.failpoint } : {}),
    logger,
  });
  const dns = new EmbeddedDns({
    netns,
    firewall,
    records: controller,
    userDefined: (id) => controller.find(id)?.predefined !== true,
    isInternal: (id) => controller.find(id)?.internal === true,
    upstreams: nameservers,
    ...(cluster ? remoteDns(cluster, (id) => controller.find(id)) : {}),
    logger,
  });
  const pending = new PendingDeletes({
    // the endpoint records in state pending-delete (the controller writes them)
    store: {
      list: () => controller.pendingList(),
      save: (p) => controller.savePending(p),
      remove: (id) => controller.removePending(id),
    },
    legacy: new RecordStore<PendingDelete>(path.join(state, 'pending-endpoints'), (m) => logger.warn(m)),
    network: (id) => controller.find(id),
    driverOf: (n) => controller.driverOf(n),
    ipamOf: (n) => controller.ipamOf(n),
    logger,
  });
  const attachments = new Attachments({
    controller,
    sandboxes,
    ports,
    dns,
    pending,
    ...(opts.failpoint ? { failpoint: opts.failpoint } : {}),
    logger,
  });
  const networking = new ContainerNetwork({ controller, sandboxes, attachments, modes, logger });
  const spawn: LaunchOptions['spawn'] = (cmd, args, o) => spawner.spawnDetachedAsync(cmd, args, o);
  containers = new ContainerManager({
    root: opts.root,
    execRoot: opts.execRoot,
    initPath: opts.initPath,
    spawn,
    store: new RecordStore<ContainerRecord>(path.join(state, 'containers'), (m) => logger.warn(m)),
    images: {
      resolve: (ref) => images.resolve(ref),
      layerDirs: (img) => images.layerDirs(img as Parameters<ImageStore['layerDirs']>[0]),
    },
    cgroups,
    networking,
    files,
    dirPool,
    events,
    mounts: new ContainerMounts(volumes, path.join(opts.root, 'tmp'), logger),
    ...(opts.failpoint ? { failpoint: opts.failpoint } : {}),
    logger,
  });
  const execs = new ExecManager({
    containers,
    execRoot: opts.execRoot,
    initPath: opts.initPath,
    spawn,
    placement: (id) => cgroups.placement(id),
  });
  const health = new HealthMonitors({
    probe: (rec, argv, timeoutMs) => runProbe(execs, rec, argv, timeoutMs),
    save: (rec) => containers!.save(rec),
    announce: (rec, action) => containers!.announce(rec, action),
    logger,
  });
  containers.watch(health);
  const stats = new StatsCollector({ cgroups, networking });
  await swarm.load();
  return {
    opts,
    images,
    events,
    puller,
    containers,
    execs,
    volumes,
    stats,
    cgroups,
    sandboxes,
    controller,
    networking,
    dns,
    pending,
    firewall,
    hostNetlink,
    ipam,
    plugins,
    files,
    dirPool,
    ...(cluster ? { cluster } : {}),
    ...(reclaimer ? { reclaimer } : {}),
    ...(overlay ? { overlay } : {}),
    swarm,
  };
}

/**
 * The embedded DNS's view of other hosts' containers on global networks: A/AAAA from the
 * cluster store's endpoint records (name, alias, id prefix, or `name.network`), PTR for their
 * addresses (`container.network`, as for local containers).
 */
function remoteDns(
  cluster: ClusterStore,
  network: (id: string) => NetworkRecord | undefined,
): Pick<EmbeddedDnsDeps, 'remote' | 'remoteReverse'> {
  const others = (networkId: string) => {
    const n = network(networkId);
    return n?.scope === 'global' ? n : undefined;
  };
  return {
    remote: (networkId, name, type) => {
      const n = others(networkId);
      if (!n) return [];
      const suffix = `.${n.name.toLowerCase()}`;
      const names = name.endsWith(suffix) ? [name, name.slice(0, -suffix.length)] : [name];
      return names
        .flatMap((x) => cluster.lookup(networkId, x))
        .filter((e) => e.node !== cluster.nodeId)
        .flatMap((e) => ((type === 'A' ? e.address : e.addressV6) ?? '').split('/')[0] || []);
    },
    remoteReverse: (networkId, ip) => {
      const n = others(networkId);
      if (!n) return undefined;
      const e = cluster
        .endpoints(networkId)
        .find(
          (r) =>
            r.joined &&
            r.node !== cluster.nodeId &&
            r.name &&
            (r.address?.split('/')[0] === ip || r.addressV6?.split('/')[0] === ip),
        );
      return e ? `${e.name}.${n.name}` : undefined;
    },
  };
}

/** The host's nameservers (resolv.conf), read again when the file changes. */
const nameserversOf = (text: string): string[] =>
  text
    .split('\n')
    .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
    .filter((x): x is string => Boolean(x));
