/**
 * The overlay driver: multi-host VXLAN networks over the cluster store (global scope), or the
 * networks of a single-node swarm (swarm scope, src/swarm/local-cluster.ts as control plane).
 *
 * - allocateNetwork reserves a cluster-wide VNI (etcd transaction); freeNetwork gives it back.
 * - createNetwork only records the network; its namespace (bridge + VXLAN device, see
 *   network-sandbox.ts) is built on this host at the first join, as Docker does, and kept
 *   until deleteNetwork.
 * - createEndpoint publishes the endpoint record (ip, mac, this host's VTEP, DNS names) under
 *   the node's lease; join wires a veth (container end made directly in the sandbox as
 *   JoinSpec.ifname, with the endpoint's MAC, address and the network's MTU) and marks the
 *   record joined; leave and deleteEndpoint undo that.
 * - The driver subscribes to the cluster store itself: every joined endpoint of another host
 *   becomes a static FDB entry (MAC → remote VTEP) and a permanent neighbour entry on the VXLAN
 *   device, added and removed as the watch reports them; after an etcd outage the store's
 *   resync reports the differences and the driver reconciles the kernel entries in full.
 * - Egress: the overlay gives no default gateway (JoinInfo.disableGatewayService). Containers
 *   reach the outside through another network (see docs/overlay.md).
 */
import fs from 'node:fs';
import { Netlink } from '../../../kernel/netlink/index.js';
import type { Netns } from '../../../kernel/netns.js';
import { AggregateTsnetError, TsnetError } from '../../../errors/index.js';
import { Rollback } from '../../../errors/rollback.js';
import { KeyedMutex } from '../../../lib/keyed-mutex.js';
import { contains, parseCidr } from '../../../lib/cidr.js';
import type { ClusterEvent } from '../../../store/cluster/mirror.js';
import type { EndpointInput } from '../../../store/cluster/cluster-store.js';
import type { EndpointRecord, GlobalNetworkRecord } from '../../../store/cluster/records.js';
import { requestedVni } from '../../../store/cluster/vni.js';
import type {
  DriverCapability,
  EndpointInfo,
  EndpointSpec,
  JoinInfo,
  JoinSpec,
  NetworkAllocator,
  NetworkDriver,
  NetworkSpec,
  Restorable,
} from '../../driver-api.js';
import { netnsFile, vethName } from './names.js';
import type { FastPath } from '../bridge/fast-path.js';
import { sweepOverlay } from './sweep.js';
import { NetworkSandbox, type SandboxEnv, type SandboxSpec } from './network-sandbox.js';
import { findUnderlay } from './underlay.js';
import { VXLANID_OPTION, checkMac, effectiveMtu, endpointNames, parseNetworkOptions, randomMac } from './options.js';
import { PeerTable, peerOf, type Peer } from './peers.js';
import { NOOP_LOGGER, type Logger } from '../../../lib/logger.js';

/** What the driver needs from the cluster store (ClusterStore provides it; tests may fake it). */
export interface OverlayCluster {
  readonly nodeId: string;
  readonly advertiseAddr: string;
  subscribe(listener: (e: ClusterEvent) => void): () => void;
  endpoints(networkId: string): EndpointRecord[];
  network(id: string): GlobalNetworkRecord | undefined;
  putEndpoint(e: EndpointInput, opts?: { deferIfUnavailable?: boolean }): Promise<EndpointRecord>;
  removeEndpoint(networkId: string, endpointId: string): Promise<void>;
  allocateVni(networkId: string, requested?: number): Promise<number>;
  releaseVni(networkId: string): Promise<void>;
}

export interface OverlayDriverDeps {
  cluster: OverlayCluster;
  /** rtnetlink socket of the daemon's own (host) network namespace. */
  hostNetlink: Netlink;
  netns: Netns;
  /** `<exec-root>/netns`: where network namespaces live. */
  netnsDir: string;
  logger?: Logger;
  /** VXLAN UDP port (default 4789). */
  vxlanPort?: number;
  /**
   * 'global' (default): networks shared by the hosts of the etcd cluster store. 'swarm': the
   * networks of a single-node swarm (src/swarm), whose control plane is this node alone.
   */
  scope?: 'global' | 'swarm';
  /**
   * The container ↔ container fast path of a network's namespace (decisions 59, 61): the same
   * filter and per-network table as a bridge network's, on the host ends of this host's veths
   * in that namespace (`file`, its socket `nl`). Absent: the frames take the namespace's bridge.
   */
  fastPath?: (file: string, nl: Netlink) => FastPath;
}

interface OvEndpoint {
  id: string;
  containerId: string;
  /** 10.77.0.2/24 */
  address?: string;
  /** fd00:77::2/64 */
  addressV6?: string;
  mac: string;
  name?: string;
  aliases: string[];
  joined?: { sandboxKey: string; ifname: string };
}

interface OvNetwork {
  spec: NetworkSpec;
  vni: number;
  askedMtu?: number;
  /** The network's IPv4 and IPv6 subnets (several with repeated --subnet, as in Docker). */
  subnets: string[];
  subnets6: string[];
  /** Gateways with prefix, all on the bridge of the network's namespace. */
  gateways: string[];
  sandbox?: NetworkSandbox;
  /** The sandbox's fast path (this host's endpoints only: remote ones go over the VXLAN device). */
  fastPath?: FastPath;
  endpoints: Map<string, OvEndpoint>;
  peers: PeerTable;
}

export class OverlayDriver implements NetworkDriver, NetworkAllocator, Restorable {
  readonly name = 'overlay';
  /** Joins, leaves and peer updates of one network run one after the other. */
  private readonly locks = new KeyedMutex();
  private readonly d: OverlayDriverDeps;
  private readonly log: Logger;
  private readonly networks = new Map<string, OvNetwork>();
  private readonly unsubscribe: () => void;

  constructor(deps: OverlayDriverDeps) {
    this.d = deps;
    this.log = deps.logger ?? NOOP_LOGGER;
    this.unsubscribe = deps.cluster.subscribe((e) => this.onClusterEvent(e));
  }

  capabilities(): DriverCapability {
    const scope = this.d.scope ?? 'global';
    return { scope, connectivityScope: scope };
  }

  /** Stop listening to the cluster store (kernel state stays, as for a daemon restart). */
  close(): void {
    this.unsubscribe();
    for (const n of this.networks.values()) n.sandbox?.nl.close();
  }

  // ================================================================== networks

  validateNetwork(n: NetworkSpec): void {
    parseNetworkOptions(n.options);
    if (n.ipv6.length > 0 && !n.enableIPv6) {
      throw new TsnetError('TSNET_INVALID_ARGUMENT', `overlay network ${n.name}: an IPv6 --subnet needs --ipv6`);
    }
    if (n.ipv4.length + n.ipv6.length === 0) {
      throw new TsnetError('TSNET_INVALID_ARGUMENT', `overlay network ${n.name} needs a subnet`);
    }
    for (const d of [...n.ipv4, ...n.ipv6]) {
      parseCidr(d.pool, 'subnet');
      if (d.gateway) parseCidr(d.gateway, 'gateway');
    }
  }

  async allocateNetwork(n: NetworkSpec): Promise<Record<string, string>> {
    this.validateNetwork(n);
    const vni = await this.d.cluster.allocateVni(n.id, requestedVni(n.options));
    return { [VXLANID_OPTION]: String(vni) };
  }

  async freeNetwork(networkId: string): Promise<void> {
    await this.d.cluster.releaseVni(networkId);
  }

  /** Record the network (idempotent). No kernel work: the namespace comes with the first join. */
  async createNetwork(n: NetworkSpec): Promise<void> {
    this.validateNetwork(n);
    if (this.networks.has(n.id)) return;
    const opts = parseNetworkOptions(n.options);
    const vni = opts.vni ?? this.d.cluster.network(n.id)?.vni;
    if (vni === undefined) {
      throw new TsnetError(
        'TSNET_INVALID_ARGUMENT',
        `overlay network ${n.name} has no VXLAN id: call allocateNetwork (or give -o ${VXLANID_OPTION}=N) first`,
      );
    }
    const net: OvNetwork = {
      spec: structuredClone(n),
      vni,
      subnets: n.ipv4.map((d) => d.pool),
      subnets6: n.enableIPv6 ? n.ipv6.map((d) => d.pool) : [],
      gateways: [...n.ipv4, ...(n.enableIPv6 ? n.ipv6 : [])].flatMap((d) => (d.gateway ? [d.gateway] : [])),
      endpoints: new Map(),
      peers: new PeerTable(),
    };
    if (opts.mtu !== undefined) net.askedMtu = opts.mtu;
    this.fillPeers(net);
    this.networks.set(n.id, net);
  }

  /** Remove this host's data path of the network. Idempotent. */
  async deleteNetwork(networkId: string): Promise<void> {
    const net = this.networks.get(networkId);
    if (!net) return;
    await this.serial(net, async () => {
      if (net.sandbox) {
        const sb = net.sandbox;
        net.sandbox = undefined;
        this.dropFastPath(net);
        await sb.destroy();
      }
    });
    this.networks.delete(networkId);
  }

  // ================================================================== endpoints

  async createEndpoint(e: EndpointSpec): Promise<EndpointInfo> {
    const net = this.net(e.networkId);
    if (!net.spec.attachable) throw notAttachable(net.spec.name);
    if (!e.address && !e.addressV6)
      throw new TsnetError('TSNET_INVALID_ARGUMENT', `overlay endpoint ${e.endpointId.slice(0, 12)} needs an address`);
    if (e.address) checkInSubnets(e.address, net.subnets, net.spec.name);
    if (e.addressV6) checkInSubnets(e.addressV6, net.subnets6, net.spec.name);
    const mac = e.mac ? checkMac(e.mac) : randomMac();
    const names = endpointNames(e.options);
    const ep: OvEndpoint = { id: e.endpointId, containerId: e.containerId, mac, aliases: names.aliases };
    if (e.address) ep.address = e.address;
    if (e.addressV6) ep.addressV6 = e.addressV6;
    if (names.name) ep.name = names.name;
    const info = (x: OvEndpoint): EndpointInfo => ({
      mac: x.mac,
      ...(x.address ? { address: x.address } : {}),
      ...(x.addressV6 ? { addressV6: x.addressV6 } : {}),
    });
    return this.serial(net, async () => {
      const existing = net.endpoints.get(e.endpointId);
      if (existing) return info(existing);
      await this.d.cluster.putEndpoint(this.recordOf(net, ep, false));
      net.endpoints.set(ep.id, ep);
      return info(ep);
    });
  }

  async deleteEndpoint(networkId: string, endpointId: string): Promise<void> {
    const net = this.networks.get(networkId);
    if (!net) {
      await this.d.cluster.removeEndpoint(networkId, endpointId);
      return;
    }
    await this.serial(net, async () => {
      net.fastPath?.leave(networkId, endpointId); // (its address leaves the table before its veth goes)
      if (net.sandbox) await net.sandbox.nl.deleteLink(vethName(endpointId));
      await this.d.cluster.removeEndpoint(networkId, endpointId);
      net.endpoints.delete(endpointId);
    });
  }

  async join(j: JoinSpec): Promise<JoinInfo> {
    const net = this.net(j.networkId);
    const ep = net.endpoints.get(j.endpointId);
    if (!ep)
      throw new TsnetError(
        'TSNET_ENDPOINT_NOT_FOUND',
        `endpoint ${j.endpointId.slice(0, 12)} of network ${net.spec.name} does not exist on this host`,
      );
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(j.ifname))
      throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid interface name ${JSON.stringify(j.ifname)}`);
    if (!this.d.netns.exists(j.sandboxKey)) throw new TsnetError('TSNET_NETNS', `sandbox ${j.sandboxKey} does not exist`);
    const names = endpointNames(j.options);
    return this.serial(net, async () => {
      const rb = new Rollback();
      try {
        const sb = await this.ensureSandbox(net, rb);
        const veth = vethName(ep.id);
        await sb.nl.deleteLink(veth); // a leftover of an earlier attempt
        const fd = fs.openSync(j.sandboxKey, 'r');
        try {
          await sb.nl.addVeth(veth, { name: j.ifname, netnsFd: fd, mtu: sb.spec.mtu, mac: ep.mac }, { mtu: sb.spec.mtu });
        } finally {
          fs.closeSync(fd);
        }
        rb.push(`delete veth ${veth}`, () => sb.nl.deleteLink(veth));
        // without IPv6 neither end gets a link-local address (decision 43: nothing for the bridge
        // and the VXLAN to flood). The mode rides in the up requests: the host end comes up while
        // eth0 is down (no carrier), eth0 as in the bridge join
        const noLinkLocal = !(net.spec.enableIPv6 && ep.addressV6);
        await sb.nl.setMaster(veth, sb.bridge);
        await sb.nl.setUp(veth, { noLinkLocal });
        // the filter and the table entries come after this request (JOIN_DELAY_MS), as in a bridge
        // join; until then (or if they fail) the frames take the bridge
        void net.fastPath?.join(net.spec.id, ep.id, veth, [ep.address, ep.addressV6], ep.mac);
        rb.push(`fast path entries of ${veth}`, () => net.fastPath?.leave(net.spec.id, ep.id));
        // the sandbox's one socket (DESIGN rule 4); one of our own only when called without it
        const c = j.netlink ?? this.d.netns.run(j.sandboxKey, () => Netlink.open());
        try {
          if (ep.address) await c.addAddress(j.ifname, ep.address);
          if (ep.addressV6) await c.addAddress(j.ifname, ep.addressV6, { noDad: true });
          await c.setUp(j.ifname, { noLinkLocal });
          // the network's other subnets share its one L2 segment: reached on-link (Docker routes
          // them through the local subnet's gateway instead, having one bridge per subnet)
          for (const s of otherSubnets(net, ep)) await c.addRoute({ dst: s, dev: j.ifname });
        } finally {
          if (c !== j.netlink) c.close();
        }
        if (names.name) ep.name = names.name;
        if (names.aliases.length) ep.aliases = names.aliases;
        await this.d.cluster.putEndpoint(this.recordOf(net, ep, true));
        ep.joined = { sandboxKey: j.sandboxKey, ifname: j.ifname };
        rb.commit();
        return { disableGatewayService: true };
      } catch (err) {
        const undo = await rb.unwind();
        for (const u of undo) this.log.warn(`overlay join rollback: ${u.message}`);
        throw err;
      }
    });
  }

  async leave(networkId: string, endpointId: string): Promise<void> {
    const net = this.networks.get(networkId);
    if (!net) return;
    await this.serial(net, async () => {
      const ep = net.endpoints.get(endpointId);
      if (ep?.joined) {
        ep.joined = undefined;
        try {
          await this.d.cluster.putEndpoint(this.recordOf(net, ep, false), { deferIfUnavailable: true });
        } catch (err) {
          this.log.warn(`overlay leave: withdraw endpoint ${endpointId.slice(0, 12)} from peers: ${(err as Error).message}`);
        }
      }
      net.fastPath?.leave(networkId, endpointId);
      if (net.sandbox) await net.sandbox.nl.deleteLink(vethName(endpointId));
    });
  }

  // ================================================================== restore and sweep

  /**
   * After a daemon restart: take the networks and endpoints back from the controller's
   * records, adopt the namespaces that survived, re-publish this host's endpoints (deferred
   * until etcd is reachable when it is not) and bring peer entries up to date.
   */
  async restore(networks: NetworkSpec[], endpoints: Array<EndpointSpec & { joined?: JoinSpec }>): Promise<void> {
    const failures: unknown[] = [];
    for (const n of networks) {
      try {
        await this.createNetwork(n);
      } catch (err) {
        failures.push(err);
      }
    }
    for (const e of endpoints) {
      const net = this.networks.get(e.networkId);
      if (!net || (!e.address && !e.addressV6)) continue;
      const names = endpointNames({ ...(e.options ?? {}), ...(e.joined?.options ?? {}) });
      // what this host published before the restart, if the store still has it
      const before = this.d.cluster
        .endpoints(e.networkId)
        .find((r) => r.endpointId === e.endpointId && r.node === this.d.cluster.nodeId);
      const ep: OvEndpoint = {
        id: e.endpointId,
        containerId: e.containerId,
        ...(e.address ? { address: e.address } : {}),
        ...(e.addressV6 ? { addressV6: e.addressV6 } : {}),
        mac: e.mac ?? before?.mac ?? randomMac(),
        aliases: names.aliases.length ? names.aliases : (before?.aliases ?? []),
      };
      const name = names.name ?? before?.name;
      if (name) ep.name = name;
      net.endpoints.set(ep.id, ep);
    }
    for (const net of this.networks.values()) {
      await this.serial(net, async () => {
        try {
          const file = netnsFile(this.d.netnsDir, net.vni, net.spec.id);
          const sb = this.d.netns.exists(file) ? await NetworkSandbox.adopt(await this.sandboxSpec(net), this.env()) : undefined;
          if (sb) {
            net.sandbox = sb;
            this.startFastPath(net, sb);
            await sb.reconcile(net.peers);
          }
          for (const e of endpoints.filter((x) => x.networkId === net.spec.id)) {
            const ep = net.endpoints.get(e.endpointId);
            if (!ep) continue;
            // the kernel tells what is still wired (the controller's records may not say)
            const wired = sb !== undefined && (await sb.nl.getLink(vethName(ep.id))) !== undefined;
            if (wired) ep.joined = { sandboxKey: e.joined?.sandboxKey ?? '', ifname: e.joined?.ifname ?? '' };
            // the filters outlive the daemon: new table, filter replaced — or taken off without a fast path
            if (wired) await net.fastPath?.restore(net.spec.id, ep.id, vethName(ep.id), [ep.address, ep.addressV6], ep.mac);
            await this.d.cluster.putEndpoint(this.recordOf(net, ep, !!wired), { deferIfUnavailable: true });
          }
        } catch (err) {
          failures.push(err);
        }
      });
    }
    if (failures.length) throw new AggregateTsnetError('restore overlay networks', failures);
  }

  /**
   * Remove overlay namespaces (`ov-*` in the netns dir) of networks that no longer exist, and
   * VXLAN devices (`tsvx-*`) stranded in the host namespace by a crash. Returns what it removed.
   */
  async sweep(liveNetworkIds: Iterable<string>): Promise<string[]> {
    const env = {
      netnsDir: this.d.netnsDir,
      netns: this.d.netns,
      host: this.d.hostNetlink,
      warn: (m: string) => this.log.warn(m),
    };
    return sweepOverlay(env, [...liveNetworkIds, ...this.networks.keys()]);
  }

  /** The network namespace file of a network on this host (for inspect/tests). */
  sandboxFile(networkId: string): string | undefined {
    const net = this.networks.get(networkId);
    return net ? netnsFile(this.d.netnsDir, net.vni, net.spec.id) : undefined;
  }

  /** Current peers of a network (endpoint id → ip, mac, vtep), for inspect/tests. */
  peers(networkId: string): Map<string, Peer> {
    const net = this.networks.get(networkId);
    const out = new Map<string, Peer>();
    if (!net) return out;
    for (const r of this.d.cluster.endpoints(networkId)) {
      const p = net.peers.get(r.endpointId);
      if (p) out.set(r.endpointId, p);
    }
    return out;
  }

  /** Wait until every queued change of a network is applied (tests, benchmarks). */
  async settled(networkId: string): Promise<void> {
    const net = this.networks.get(networkId);
    if (net) await this.locks.idle(net.spec.id);
  }

  // ================================================================== internals

  private net(networkId: string): OvNetwork {
    const net = this.networks.get(networkId);
    if (!net)
      throw new TsnetError(
        'TSNET_NETWORK_NOT_FOUND',
        `overlay network ${networkId} is not known to the overlay driver on this host`,
      );
    return net;
  }

  /** Run `fn` after every earlier operation on the network (joins, leaves, peer updates). */
  private serial<T>(net: OvNetwork, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(net.spec.id, fn);
  }

  private env(): SandboxEnv {
    return { host: this.d.hostNetlink, netns: this.d.netns, netnsDir: this.d.netnsDir };
  }

  private recordOf(net: OvNetwork, ep: OvEndpoint, joined: boolean): EndpointInput {
    const r: EndpointInput = {
      networkId: net.spec.id,
      endpointId: ep.id,
      containerId: ep.containerId,
      aliases: ep.aliases,
      mac: ep.mac,
      joined,
    };
    if (ep.address) r.address = ep.address;
    if (ep.addressV6) r.addressV6 = ep.addressV6;
    if (ep.name) r.name = ep.name;
    return r;
  }

  private async sandboxSpec(net: OvNetwork): Promise<SandboxSpec> {
    const u = await findUnderlay(this.d.hostNetlink, this.d.cluster.advertiseAddr);
    const spec = {
      networkId: net.spec.id,
      vni: net.vni,
      mtu: effectiveMtu(net.askedMtu, u.mtu, u.name, net.spec.name),
      advertiseAddr: this.d.cluster.advertiseAddr,
      underlayIndex: u.index,
      ...(this.d.vxlanPort !== undefined ? { port: this.d.vxlanPort } : {}),
      gateways: net.gateways,
      ipv6: net.subnets6.length > 0,
    };
    return spec;
  }

  private async ensureSandbox(net: OvNetwork, rb: Rollback): Promise<NetworkSandbox> {
    if (net.sandbox) return net.sandbox;
    const spec = await this.sandboxSpec(net);
    const inner = new Rollback();
    try {
      const sb = await NetworkSandbox.create(spec, this.env(), inner);
      this.fillPeers(net);
      await sb.reconcile(net.peers);
      inner.commit();
      net.sandbox = sb;
      this.startFastPath(net, sb);
      rb.push(`remove the namespace of network ${net.spec.name}`, async () => {
        if (net.sandbox === sb && net.endpoints.size > 0 && [...net.endpoints.values()].some((e) => e.joined)) return;
        if (net.sandbox === sb) {
          net.sandbox = undefined;
          this.dropFastPath(net);
        }
        await sb.destroy();
      });
      this.log.debug(
        `overlay network ${net.spec.name}: namespace ${sb.file} (vni ${net.vni}, mtu ${spec.mtu}, ${net.peers.size} peers)`,
      );
      return sb;
    } catch (err) {
      await inner.unwind();
      throw err;
    }
  }

  /** The sandbox's fast path and its table (none without the dep, or where the kernel refuses: logged). */
  private startFastPath(net: OvNetwork, sb: NetworkSandbox): void {
    if (!this.d.fastPath) return;
    net.fastPath = this.d.fastPath(sb.file, sb.nl);
    net.fastPath.addNetwork(net.spec.id);
  }

  private dropFastPath(net: OvNetwork): void {
    net.fastPath?.dropNetwork(net.spec.id);
    net.fastPath = undefined;
  }

  /** Rebuild a network's peer table from the store's mirror. */
  private fillPeers(net: OvNetwork): void {
    const peers = new Map<string, Peer>();
    for (const r of this.d.cluster.endpoints(net.spec.id)) {
      const p = peerOf(r, this.d.cluster.nodeId);
      if (p) peers.set(r.endpointId, p);
    }
    net.peers.replaceAll(peers);
  }

  private onClusterEvent(e: ClusterEvent): void {
    if (e.kind === 'endpoint') {
      const net = this.networks.get(e.endpoint.networkId);
      if (!net || e.endpoint.node === this.d.cluster.nodeId) return;
      const p = e.type === 'removed' ? undefined : peerOf(e.endpoint, this.d.cluster.nodeId);
      const ops = p ? net.peers.upsert(e.endpoint.endpointId, p) : net.peers.remove(e.endpoint.endpointId);
      if (ops.length === 0) return;
      void this.serial(net, async () => {
        if (net.sandbox) await net.sandbox.apply(ops);
      }).catch((err: Error) =>
        this.log.warn(`overlay network ${net.spec.name}: program peer ${e.endpoint.endpointId.slice(0, 12)}: ${err.message}`),
      );
    } else if (e.kind === 'status' && e.available && e.resynced) {
      for (const net of this.networks.values()) {
        void this.serial(net, async () => {
          this.fillPeers(net);
          if (net.sandbox) {
            const ops = await net.sandbox.reconcile(net.peers);
            if (ops.length) this.log.info(`overlay network ${net.spec.name}: ${ops.length} peer entries corrected after resync`);
          }
        }).catch((err: Error) => this.log.warn(`overlay network ${net.spec.name}: reconcile after resync: ${err.message}`));
      }
    } else if (e.kind === 'network' && e.type === 'removed') {
      const net = this.networks.get(e.network.id);
      if (net && ![...net.endpoints.values()].some((x) => x.joined)) {
        this.deleteNetwork(e.network.id).catch((err: Error) =>
          this.log.warn(`overlay network ${e.network.name} removed from the cluster: ${err.message}`),
        );
      }
    }
  }
}

/** Docker's refusal (swarmkit's words) of a container on an overlay network made without --attachable. */
export function notAttachable(network: string): TsnetError {
  return new TsnetError(
    'TSNET_NETWORK_NOT_ATTACHABLE',
    `Could not attach to network ${network}: rpc error: code = PermissionDenied desc = network ${network} not manually attachable`,
  );
}

/** An endpoint address must be in one of the network's subnets, with that subnet's prefix. */
function checkInSubnets(address: string, subnets: string[], network: string): void {
  const a = parseCidr(address, 'endpoint address');
  const ip = address.split('/')[0]!;
  if (subnets.some((s) => contains(s, ip) && parseCidr(s).prefix === a.prefix)) return;
  throw new TsnetError(
    'TSNET_BAD_IP',
    `address ${address} is not in ${subnets.length ? `the subnets ${subnets.join(', ')}` : 'any subnet'} of network ${network}`,
  );
}

/** The network's subnets the endpoint has no address in (they get on-link routes in the sandbox). */
function otherSubnets(net: { subnets: string[]; subnets6: string[] }, ep: { address?: string; addressV6?: string }): string[] {
  const ip4 = ep.address?.split('/')[0];
  const ip6 = ep.addressV6?.split('/')[0];
  return [
    ...(ip4 ? net.subnets.filter((s) => !contains(s, ip4)) : []),
    ...(ip6 ? net.subnets6.filter((s) => !contains(s, ip6)) : []),
  ];
}
