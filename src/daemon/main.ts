/**
 * tsnetd: the daemon. Builds its components, restores containers that are still running,
 * sweeps leftovers, and serves the Docker-compatible API on a unix socket.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { parseByteSize, parseCount } from '../runtime/image/limits.js';
import { buildComponents } from './components.js';
import { Router } from './http/router.js';
import { startServer } from './http/server.js';
import { socketGroup } from './http/socket.js';
import { startCliSocket } from './cli-socket.js';
import { createPeerCredReader } from '../kernel/peer-cred.js';
import { createLogger, type LogLevel } from '../lib/logger.js';
import { containerRoutes } from './routes/containers.js';
import { linkRoutes } from './routes/links.js';
import { containerUpdateRoutes } from './routes/container-update.js';
import { pruneRoutes } from './routes/prune.js';
import { containerFileRoutes } from './routes/container-files.js';
import { loadInRoot } from '../kernel/openat2.js';
import { mountOrder, planMounts } from '../runtime/volumes/mounts.js';
import { imageRoutes } from './routes/images.js';
import { commitRoutes } from './routes/commit.js';
import { loadXattr } from '../kernel/xattr.js';
import { loadSocketQueue } from '../kernel/socket-queue.js';
import { networkRoutes } from './routes/networks.js';
import { swarmRoutes } from './routes/swarm.js';
import { eventRoutes } from './routes/events.js';
import { statsRoutes } from './routes/stats.js';
import { diskUsageRoutes } from './routes/disk-usage.js';
import { imageFamily } from '../runtime/image/image-family.js';
import { systemRoutes, TSNET_VERSION } from './routes/system.js';
import { failpointsFrom } from '../lib/failpoints.js';
import { pendingLine, withPending } from './pending-report.js';
import { sweep } from './sweep.js';
import { saveDnsHandoff, takeDnsHandoff } from '../network/dns-handoff.js';
import { RESOLVER_IP } from '../network/dns/index.js';
import { volumeRoutes } from './routes/volumes.js';
import { tuneV8 } from './v8-tiers.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface DaemonFlags {
  root: string;
  execRoot: string;
  host?: string;
  logLevel: LogLevel;
  cgroupParent: string;
  initPath: string;
  defaultAddressPool: string[];
  bridgeName: string;
  /** dockerd's --ipv6 / --fixed-cidr-v6 for the default bridge. */
  ipv6?: boolean;
  fixedCidrV6?: string;
  pluginDir: string[];
  pluginSpecDir: string[];
  pluginTimeout?: string;
  clusterStore?: string;
  advertiseAddr?: string;
  clusterLeaseTtl: string;
  clusterReclaimAfter: string;
  /** Group of the API socket (dockerd's --group). */
  group: string;
  imageMaxSize: string;
  imageMaxEntries: string;
  imageMaxPath: string;
  firewallBackend: 'iptables' | 'nftables';
  insecureRegistry: string[];
  netnsPool: string;
  dirPool: string;
  /** false with --no-bridge-fast-path */
  bridgeFastPath: boolean;
}

const DEFAULT_GROUP = 'docker';

export async function runDaemon(flags: DaemonFlags): Promise<void> {
  // As dockerd: a known umask, whatever the caller's (files and dirs come out 0644/0755 at most).
  process.umask(0o022);
  const logger = createLogger(flags.logLevel);
  const group = socketGroup(flags.group, flags.group === DEFAULT_GROUP);
  if (group.warning) logger.warn(group.warning);
  const socketPath = (flags.host ?? `unix://${path.join(flags.execRoot, 'tsnet.sock')}`).replace(/^unix:\/\//, '');
  if (!fs.existsSync(flags.initPath)) {
    throw new Error(`tsnet-init not found at ${flags.initPath}: run npm run build (or pass --init-path)`);
  }
  // before anything here changes the exec-root (see dns-handoff.ts)
  const dnsHandoff = takeDnsHandoff(flags.execRoot, logger);
  const c = await buildComponents({
    root: flags.root,
    execRoot: flags.execRoot,
    initPath: flags.initPath,
    cgroupParent: flags.cgroupParent,
    defaultAddressPools: flags.defaultAddressPool,
    defaultBridge: flags.bridgeName,
    defaultBridgeIpv6: flags.ipv6 === true,
    ...(flags.fixedCidrV6 ? { fixedCidrV6: flags.fixedCidrV6 } : {}),
    firewallBackend: flags.firewallBackend,
    netnsPool: parsePoolSize(flags.netnsPool, '--netns-pool', 'namespaces'),
    dirPool: parsePoolSize(flags.dirPool, '--dir-pool', 'container dirs'),
    bridgeFastPath: flags.bridgeFastPath,
    pluginDirs: flags.pluginDir,
    pluginSpecDirs: flags.pluginSpecDir,
    ...(flags.pluginTimeout ? { pluginTimeoutMs: Number(flags.pluginTimeout) } : {}),
    ...(flags.clusterStore ? { clusterStore: flags.clusterStore } : {}),
    ...(flags.advertiseAddr ? { advertiseAddr: flags.advertiseAddr } : {}),
    clusterLeaseTtlSeconds: parseSeconds(flags.clusterLeaseTtl, '--cluster-lease-ttl'),
    clusterReclaimSeconds: parseSeconds(flags.clusterReclaimAfter, '--cluster-reclaim-after'),
    imageLimits: {
      maxBytes: parseByteSize(flags.imageMaxSize, '--image-max-size'),
      maxEntries: parseCount(flags.imageMaxEntries, '--image-max-entries'),
      maxPathLength: parseCount(flags.imageMaxPath, '--image-max-path'),
    },
    insecureRegistries: flags.insecureRegistry,
    // test-only: TSNET_FAILPOINTS=name=crash kills the daemon at that step (a no-op when unset)
    failpoint: failpointsFrom(process.env.TSNET_FAILPOINTS),
    logger,
  });
  // test-only: TSNET_TEST_EXTRA_FDS=N holds N more fds from here on, as ~N/2 containers' DNS
  // sockets would, so a test reaches FD_SETSIZE (1024) without making hundreds of containers
  for (let i = Number(process.env.TSNET_TEST_EXTRA_FDS ?? 0); i > 0; i--) fs.openSync('/dev/null', 'r');
  // Order matters: network records (networks, sandboxes, endpoints indexed by network), then
  // containers (adopt or record exits; old records migrated), then sandboxes of no container go,
  // then the drivers rebuild kernel state from the records, then running containers get their
  // ports and DNS back. The record steps run before the API listens; the kernel steps after it
  // (restoreKernel), with every request but reads held until they are done.
  logger.info('restore starts');
  // the previous daemon's resolver ports (a clean stop): running containers keep their DNS rules
  c.dns.inherit(dnsHandoff);
  await c.controller.load();
  await c.containers.restore();
  await c.containers.reconcileNetwork();
  // endpoints whose teardown waits for a plugin stay reserved (and their addresses held)
  await c.pending.load();
  // IPAM records no network or endpoint explains: an interrupted create/attach (its intent)
  const released = await c.controller.reconcileIpam(c.ipam);
  const swarmIpam = c.swarm.ipam();
  if (swarmIpam) released.push(...(await c.controller.reconcileIpam(swarmIpam)));
  if (released.length) logger.info(`released ${released.length} IPAM leftovers: ${released.join(', ')}`);
  const restoreKernel = async (): Promise<void> => {
    // test-only: TSNET_TEST_HOLD_RESTORE=FILE holds the restore here until FILE exists, so a test
    // can send requests while it is under way (a no-op when unset)
    const hold = process.env.TSNET_TEST_HOLD_RESTORE;
    while (hold && !fs.existsSync(hold)) await new Promise((r) => setTimeout(r, 20));
    if (c.cluster) {
      // The cluster store comes up before the drivers restore (the overlay driver reads endpoint
      // names from its mirror); an unreachable etcd is retried in the background, and global
      // networks are reconciled when it answers.
      try {
        await c.cluster.start();
        logger.info(`cluster store ${c.cluster.url}: node ${c.cluster.nodeId}, ${c.cluster.networks().length} global networks`);
      } catch (err) {
        logger.warn(`${(err as Error).message} (global networks are reconciled when it answers)`);
      }
      c.controller.followCluster();
      try {
        await c.controller.syncCluster();
      } catch (err) {
        logger.warn(`global networks: ${(err as Error).message}`);
      }
    }
    await c.controller.restoreDrivers();
    // the overlay's endpoints are this node's again: take back their addresses if they were reclaimed
    c.reclaimer?.reassertAddresses();
    await c.controller.finishRemovals();
    c.controller.activateIpamPlugins();
    await c.containers.adoptRunningNetworks();
    const dnsKept = c.dns.inherit({});
    const swept = [...(await sweep(c)), ...(await c.volumes.sweep()), ...c.dirPool.start()];
    if (swept.length) logger.info(`swept ${swept.length} leftovers: ${swept.join(', ')}`);
    // after the sweep, which removed the entries a killed daemon left
    // entries with the embedded resolver's sockets and rules when the firewall's are the nft table (decision 44)
    c.sandboxes.startPool(c.firewall.sandboxDnsIsNftTable?.() ? { dns: RESOLVER_IP } : {});
    const all = c.containers.list();
    logger.info(
      `restore done in ${performance.now().toFixed(0)} ms: ${all.length} containers, ${all.filter((r) => r.state.Status === 'running').length} running, ${dnsKept} embedded DNS resolvers kept their ports`,
    );
  };
  // Reads (GET, HEAD: ps, inspect, logs, events, _ping) are answered from the records while the
  // kernel state is restored; every other request waits until it is (it may need a bridge, a
  // rule or a resolver the restore has not made again yet).
  let restored = false;
  let opened = (): void => undefined;
  const restoring = new Promise<void>((resolve) => (opened = resolve));
  const gate = (method: string): Promise<void> | undefined =>
    restored || method === 'GET' || method === 'HEAD' ? undefined : restoring;

  const router = new Router();
  const images = c.images;
  const xattr = loadXattr();
  router.add(
    ...systemRoutes({
      root: flags.root,
      execRoot: flags.execRoot,
      cgroupVersion: c.cgroups.version,
      startedAt: new Date(),
      networkDrivers: () => ['bridge', 'host', 'macvlan', 'null', ...(c.overlay || c.swarm.active ? ['overlay'] : [])],
      swarm: () => c.swarm.info(),
      eventListeners: () => c.events.subscriberCount,
      counts: () => {
        const all = c.containers.list();
        const running = all.filter((r) => r.state.Status === 'running').length;
        return {
          containers: all.length,
          running,
          stopped: all.length - running,
          images: async () => (await images.list()).length,
        };
      },
    }),
    ...containerRoutes({
      containers: c.containers,
      execs: c.execs,
      imageName: (id, requested) => requested || id,
      lowerDirs: async (id) => images.layerDirs(await images.resolve(id)),
      imageFamily: (ref) => imageFamily(images, ref),
      imageSize: async (id) => (await images.resolve(id)).size,
      pendingFor: (id) => pendingLine(c.pending.forContainer(id)),
      userNetwork: (id) => {
        const n = c.controller.find(id);
        return n !== undefined && n.predefined !== true;
      },
    }),
    ...linkRoutes({ containers: c.containers }),
    ...containerUpdateRoutes({ containers: c.containers, cgroups: c.cgroups }),
    ...containerFileRoutes({
      containers: c.containers,
      inRoot: loadInRoot(),
      xattr,
      lowerDirs: async (id) => images.layerDirs(await images.resolve(id)),
      // binds and volumes (a volume's Source is its mountpoint); tmpfs mounts hold nothing to copy;
      // and /etc/hostname, hosts, resolv.conf as the container sees them (dockerd's network
      // mounts: `docker cp` of a stopped container's /etc/hostname gave the empty mount point)
      mounts: (rec) => {
        const own = rec.mounts ?? planMounts({ binds: rec.hostConfig.Binds });
        const p = c.containers.paths(rec);
        const etc = [
          ['/etc/hostname', p.hostname],
          ['/etc/hosts', p.hosts],
          ['/etc/resolv.conf', p.resolvConf],
        ]
          .filter(([dst]) => !own.some((m) => m.Destination === dst))
          .map(([Destination, Source]) => ({ Type: 'bind', Destination: Destination!, Source: Source!, RW: true }));
        return mountOrder([...etc, ...own])
          .filter((m) => m.Type !== 'tmpfs' && m.Source !== '' && fs.existsSync(m.Source))
          .map((m) => ({ source: m.Source, target: m.Destination, readOnly: !m.RW }));
      },
    }),
    ...pruneRoutes({ containers: c.containers, images, inUse: (id) => c.containers.list().some((r) => r.imageId === id) }),
    ...networkRoutes({
      controller: c.controller,
      containers: c.containers,
      plugins: async () =>
        withPending(
          await c.plugins.list(),
          c.pending.list(),
          (id) => c.controller.find(id),
          (name) => c.controller.isBuiltin(name),
        ),
      pending: (networkId) => c.pending.list(networkId),
      inSwarm: () => c.swarm.active,
    }),
    ...swarmRoutes(c.swarm),
    ...volumeRoutes({ volumes: c.volumes }),
    ...eventRoutes({ bus: c.events, logger }),
    ...statsRoutes({ containers: c.containers, stats: c.stats }),
    ...diskUsageRoutes({ containers: c.containers, images, volumes: c.volumes }),
    ...commitRoutes({ containers: c.containers, images, xattr }),
    ...imageRoutes({
      images,
      inUse: (id) => c.containers.list().some((r) => r.imageId === id),
      layerDirs: (img) => images.layerDirs(img),
      puller: c.puller,
    }),
  );
  // the thin client's socket (docs/architecture.md, decision 32): without it every tsnet command runs
  // node. It is bound before the API socket, so a daemon that answers on the API socket has both.
  const cliSocket = await startCliSocket({
    apiSocket: socketPath,
    mode: 0o660,
    gid: group.gid,
    logger,
    peerCred: createPeerCredReader(),
  }).catch((err: unknown) => {
    logger.warn(`no CLI socket (${(err as Error).message}): tsnet commands run with node`);
    return undefined;
  });
  const server = await startServer({
    socketPath,
    router,
    logger,
    mode: 0o660,
    gid: group.gid,
    gate,
    unreadBytes: loadSocketQueue().unread,
  });
  logger.info(`tsnetd ${TSNET_VERSION} listening on unix://${socketPath} (root ${flags.root}, exec-root ${flags.execRoot})`);
  setTimeout(() => cliSocket?.warm(), 50).unref();
  void restoreKernel().then(
    () => {
      restored = true;
      opened();
      // restart policies at daemon start (always, unless-stopped; those that died while it was down)
      void c.containers.autostart();
    },
    (err: Error) => {
      // as a failure before listening always was: the daemon stops (nothing half restored serves)
      process.stderr.write(`tsnetd: ${err.message}\n`);
      process.exit(1);
    },
  );

  const shutdown = (sig: string) => {
    logger.info(`${sig}: shutting down; containers keep running (live restore)`);
    server.close();
    cliSocket?.close();
    fs.rmSync(socketPath, { force: true });
    // a pool entry under way is waited for, so that the stop leaves none
    const pool = Promise.all([c.sandboxes.stopPool(), c.dirPool.stop()]).catch(() => undefined);
    // what was given the file threads (records written behind a create's answer) lands first
    const files = Promise.race([
      Promise.all([c.files.durable.drained(), c.files.behind.drained()]),
      new Promise((r) => setTimeout(r, 2000)),
    ]);
    // the lease is not revoked: other hosts keep this host's endpoints until it is back (or the TTL)
    c.reclaimer?.close();
    const closing = c.cluster
      ? Promise.race([c.cluster.close().catch(() => undefined), new Promise((r) => setTimeout(r, 1000))])
      : Promise.resolve();
    void Promise.all([closing, pool, files]).finally(() => {
      // the resolvers' ports for the next daemon, taken right before the exit: no resolver changes after
      saveDnsHandoff(flags.execRoot, c.dns.handoff(), logger);
      process.exit(0);
    });
  };
  // A bug in one subsystem must not take every container's network services down with it.
  process.on('uncaughtException', (err) =>
    logger.error(`uncaught exception (daemon keeps running): ${err.stack ?? err.message}`),
  );
  process.on('unhandledRejection', (err) =>
    logger.error(
      `unhandled rejection (daemon keeps running): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    ),
  );
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function main(): void {
  // before any request-path function is first called (compiled)
  tuneV8();
  const program = new Command('tsnetd')
    .description('tsnet daemon: containers and networks, served over a Docker-compatible API on a unix socket')
    .version(TSNET_VERSION)
    .option('--root <dir>', 'persistent state (images, containers, networks)', '/var/lib/tsnet')
    .option('--exec-root <dir>', 'runtime state (sockets, netns files, supervisor bundles)', '/run/tsnet')
    .option('-H, --host <unix://path>', 'API socket (default: unix://<exec-root>/tsnet.sock)')
    .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .option('--cgroup-parent <name>', 'parent cgroup of all containers', 'tsnet')
    .option(
      '--default-address-pool <base=CIDR,size=N>',
      "default pool for network subnets, IPv4 or IPv6 (repeatable; replaces the built-in pools; without an IPv6 one the host's ULA /48 split into /64s is added)",
      collect,
      [],
    )
    .option('--plugin-dir <dir>', 'where plugin sockets are found (repeatable; default /run/tsnet/plugins)', collect, [])
    .option(
      '--plugin-spec-dir <dir>',
      'where plugin .spec/.json files are found (repeatable; default /etc/tsnet/plugins, /usr/lib/tsnet/plugins)',
      collect,
      [],
    )
    .option('--plugin-timeout <ms>', 'per-call plugin timeout in ms (default 30000)')
    .option('--cluster-store <etcd://HOST:2379[,HOST2:2379]>', 'etcd cluster for global (overlay) networks')
    .option(
      '--advertise-addr <IP>',
      "this host's address on the underlay network (VXLAN endpoint, node id); needed with --cluster-store",
    )
    .option(
      '--cluster-lease-ttl <seconds>',
      "TTL of this node's lease in the cluster store: a host silent this long is gone and its endpoints are withdrawn",
      '15',
    )
    .option(
      '--cluster-reclaim-after <seconds>',
      'free the overlay addresses of a host gone (lease expired) this long; a host back sooner keeps them (0: never)',
      '86400',
    )
    .option(
      '--insecure-registry <HOST[:PORT]|CIDR>',
      'registry to reach over plain http (repeatable; registries on 127.0.0.0/8 and localhost always are)',
      collect,
      [],
    )
    .option('--bridge-name <name>', 'device of the default bridge network', 'tsnet0')
    .option('--ipv6', 'enable IPv6 on the default bridge network (a /64 of the default pools unless --fixed-cidr-v6)')
    .option('--fixed-cidr-v6 <CIDR>', 'IPv6 subnet of the default bridge network (needs --ipv6)')
    .option(
      '-G, --group <name|gid>',
      "group of the API socket (mode 0660; root's group when the default group is missing)",
      DEFAULT_GROUP,
    )
    .option('--image-max-size <bytes>', 'largest image import, uncompressed (suffixes k, m, g)', '64g')
    .option('--image-max-entries <n>', 'most files, directories and links in one image import', '1000000')
    .option('--image-max-path <n>', 'longest path of a file in an imported image, in bytes', '4096')
    .addOption(
      new Option(
        '--firewall-backend <name>',
        "firewall backend: iptables (tsnet's chains via iptables-restore) or nftables (tables ip/ip6 tsnet, through libnftables in-process); switching removes the other backend's rules",
      )
        .choices(['iptables', 'nftables'])
        .default('iptables'),
    )
    .option(
      '--netns-pool <n>',
      "network namespaces made ahead (lo up; after a create on a user network also the embedded DNS resolver's sockets and rules) for container creates, refilled in the background; 0: none",
      '2',
    )
    .option(
      '--dir-pool <n>',
      'container dirs (overlay dirs, log and etc files, empty) made ahead for container creates, refilled in the background; 0: none',
      '4',
    )
    .option(
      '--no-bridge-fast-path',
      "container ↔ container frames of every bridge and overlay network take the bridge (no BPF filter on the veths; a bridge network's own switch is -o com.tsnet.bridge.fast_path=false)",
    )
    .option('--init-path <file>', 'the tsnet-init binary', path.resolve(here, '../../src/runtime/native/tsnet-init'))
    .action(async (o: DaemonFlags) => {
      if (process.getuid?.() !== 0) {
        process.stderr.write('tsnetd: must run as root (it creates namespaces, mounts and cgroups)\n');
        process.exit(1);
      }
      try {
        await runDaemon({ ...o, root: path.resolve(o.root), execRoot: path.resolve(o.execRoot) });
      } catch (err) {
        process.stderr.write(`tsnetd: ${(err as Error).message}\n`);
        process.exit(1);
      }
    });
  program.parseAsync(process.argv).catch((err: Error) => {
    process.stderr.write(`tsnetd: ${err.message}\n`);
    process.exit(1);
  });
}

function parsePoolSize(v: string, flag: string, what: string): number {
  if (!/^[0-9]{1,2}$/.test(v)) throw new Error(`invalid ${flag} ${JSON.stringify(v)}: a whole number of ${what}, 0-99 (0: none)`);
  return Number(v);
}

function parseSeconds(v: string, flag: string): number {
  if (!/^[0-9]{1,9}$/.test(v)) throw new Error(`invalid ${flag} ${JSON.stringify(v)}: a whole number of seconds`);
  return Number(v);
}

main();
