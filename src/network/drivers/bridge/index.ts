/**
 * The bridge driver: a Linux bridge per network (`tsnet0` for the default one, `br-<id12>`
 * otherwise), a veth per endpoint whose peer is created directly in the container's netns,
 * and the firewall rules for forwarding, isolation, NAT and published ports.
 */
import fs from 'node:fs';
import { isTsnetError, TsnetError } from '../../../errors/index.js';
import { Rollback, timingLine } from '../../../errors/rollback.js';
import type { Logger } from '../../../lib/logger.js';
import type {
  FirewallBackend,
  FirewallNetwork,
  FirewallPorts,
  PortMapping as FirewallMapping,
} from '../../../kernel/firewall/index.js';
import { isErrno, Netlink, type LinkInfo } from '../../../kernel/netlink/index.js';
import type {
  EndpointInfo,
  EndpointSpec,
  ExternalConnectivity,
  JoinInfo,
  JoinSpec,
  NetworkDriver,
  NetworkSpec,
  PortMapping,
  Restorable,
  Sweepable,
} from '../../driver-api.js';
import { linkMark, markedId } from '../../mark.js';
import type { FastPath } from './fast-path.js';
import { parseBridgeOptions, randomMac, vethName, type BridgeConfig } from './options.js';

export interface BridgeDeps {
  /** rtnetlink in the daemon's own (host) netns. */
  host: Netlink;
  /** Run fn with the main thread in the netns file (sync). */
  inNetns: <T>(file: string, fn: () => T) => T;
  firewall: FirewallBackend;
  sysctl: { write(key: string, value: string): void; read(key: string): string };
  /** Forget conntrack entries of UDP flows to these host ports (stale NAT after re-publish). */
  flushConntrack: (proto: 'udp', hostPorts: number[]) => Promise<void>;
  /** Container ↔ container frames past the bridge (absent: all take the bridge). */
  fastPath?: FastPath;
  logger: Logger;
}

/** The host's links by name and their addresses (CIDRs) by link index, as dumped at a restore. */
interface HostView {
  links: ReadonlyMap<string, LinkInfo>;
  addresses: ReadonlyMap<number, string[]>;
}

interface BridgeNetwork {
  spec: NetworkSpec;
  cfg: BridgeConfig;
  /**
   * The bridge's ifindex as last looked up: a join makes its veth a port of it without a lookup
   * (a bridge re-made behind tsnet's back has a new index: the kernel refuses the old one, and
   * the join looks it up again).
   */
  index?: number;
}

interface BridgeEndpoint {
  networkId: string;
  endpointId: string;
  veth: string;
  address?: string;
  addressV6?: string;
  mac: string;
  ports: PortMapping[];
  /** Left with `sandboxRemoved`: the veth dies with the sandbox's netns, no delete needed. */
  goesWithSandbox?: boolean;
}

export type BridgeDriver = NetworkDriver &
  ExternalConnectivity &
  Restorable &
  Sweepable & {
    bridgeOf(networkId: string): string | undefined;
  };

export function createBridgeDriver(deps: BridgeDeps): BridgeDriver {
  const networks = new Map<string, BridgeNetwork>();
  const endpoints = new Map<string, BridgeEndpoint>();
  /** The links dumped by restore(), for the start-up sweep that follows it (then dropped). */
  let restoredLinks: LinkInfo[] | undefined;
  const key = (nid: string, eid: string) => `${nid}/${eid}`;

  /**
   * The firewall's view of an endpoint's ports: one per address family with mappings, or with
   * no `byFamily` one per family the endpoint has an address of (what a removal needs).
   */
  const portSpecs = (n: BridgeNetwork, ep: BridgeEndpoint, byFamily?: { v4: FirewallMapping[]; v6: FirewallMapping[] }) => {
    const out: FirewallPorts[] = [];
    for (const [ip, mappings] of [
      [ep.address, byFamily?.v4],
      [ep.addressV6, byFamily?.v6],
    ] as const) {
      if (!ip || (byFamily && !mappings?.length)) continue;
      const spec = { networkId: ep.networkId, endpointId: ep.endpointId, bridge: n.cfg.bridgeName };
      out.push({ ...spec, containerIp: ip.split('/')[0]!, mappings: mappings ?? [] });
    }
    return out;
  };

  const firewallNetwork = (n: BridgeNetwork): FirewallNetwork => ({
    id: n.spec.id,
    bridge: n.cfg.bridgeName,
    subnets: [...n.spec.ipv4.map((p) => p.pool), ...(n.spec.enableIPv6 ? n.spec.ipv6.map((p) => p.pool) : [])],
    internal: n.spec.internal,
    icc: n.cfg.icc,
    masquerade: n.cfg.masquerade,
    // IPv6 subnets are masqueraded too, as Docker does since 27.0 (ip6tables on by default)
    masqueradeIpv6: n.cfg.masquerade,
    ...(n.cfg.snatIpv4 ? { hostBindingIpv4: n.cfg.snatIpv4 } : {}),
    // the bridge's own addresses: container ↔ container traffic inside a subnet skips conntrack
    hostAddresses: gatewaysOf(n),
  });

  const rememberEndpoint = (e: EndpointSpec, ports: PortMapping[]): BridgeEndpoint => {
    const ep: BridgeEndpoint = {
      networkId: e.networkId,
      endpointId: e.endpointId,
      veth: vethName(e.endpointId),
      ...(e.address ? { address: e.address } : {}),
      ...(e.addressV6 ? { addressV6: e.addressV6 } : {}),
      mac: e.mac ?? randomMac(),
      ports,
    };
    endpoints.set(key(e.networkId, e.endpointId), ep);
    return ep;
  };

  /** icc off drops container ↔ container traffic on the bridge: that network keeps it there. */
  const fastPathOf = (n: BridgeNetwork): FastPath | undefined => (n.cfg.icc && n.cfg.fastPath ? deps.fastPath : undefined);

  const network = (id: string): BridgeNetwork => {
    const n = networks.get(id);
    if (!n) throw new TsnetError('TSNET_NETWORK_NOT_FOUND', `bridge driver: no network ${id.slice(0, 12)}`);
    return n;
  };

  /**
   * Make (or re-make after a reboot) the bridge with its addresses; idempotent. `seen`: the host's
   * links and addresses dumped once for every bridge of a restore (else this bridge's are read).
   */
  async function ensureBridge(n: BridgeNetwork, rb?: Rollback, seen?: HostView): Promise<void> {
    const name = n.cfg.bridgeName;
    n.index = undefined;
    const existing = seen ? seen.links.get(name) : await deps.host.getLink(name);
    if (existing && existing.kind !== 'bridge') {
      throw new TsnetError(
        'TSNET_NETWORK_EXISTS',
        `cannot create bridge ${name}: an interface of kind ${existing.kind ?? 'unknown'} has that name`,
      );
    }
    if (!existing) {
      await deps.host.addBridge(name, {
        mac: randomMac(),
        alias: linkMark(n.spec.id),
        ...(n.cfg.mtu ? { mtu: n.cfg.mtu } : {}),
      });
      rb?.push(`delete bridge ${name}`, () => deps.host.deleteLink(name));
    } else if (existing.alias !== linkMark(n.spec.id)) {
      // a bridge of this network made before links were marked (or re-made by an admin)
      await deps.host.setAlias(name, linkMark(n.spec.id));
    }
    trySysctl(`net/ipv6/conf/${name}/accept_ra`, '0');
    // a bridge made just now has no addresses: no dump (it lists every address of the host)
    const have = new Set(
      !existing
        ? []
        : seen
          ? (seen.addresses.get(existing.index) ?? [])
          : (await deps.host.listAddresses(name)).map((a) => a.cidr),
    );
    for (const p of n.spec.ipv4) if (p.gateway && !have.has(p.gateway)) await deps.host.addAddress(name, p.gateway);
    if (n.spec.enableIPv6) {
      trySysctl(`net/ipv6/conf/${name}/disable_ipv6`, '0');
      for (const p of n.spec.ipv6)
        if (p.gateway && !have.has(p.gateway)) await deps.host.addAddress(name, p.gateway, { noDad: true });
    }
    // Published ports reach containers from the host's own 127.0.0.1 without a userland proxy.
    trySysctl(`net/ipv4/conf/${name}/route_localnet`, '1');
    await deps.host.setUp(name);
  }

  /** The gateway addresses (no prefix) the bridge carries, one per subnet that has one. */
  const gatewaysOf = (n: BridgeNetwork): string[] =>
    [...n.spec.ipv4, ...(n.spec.enableIPv6 ? n.spec.ipv6 : [])].flatMap((p) =>
      p.gateway ? [p.gateway.split('/')[0] as string] : [],
    );

  /** Remove global addresses of the bridge that no subnet of the network explains (link-local stays). */
  async function dropStaleGateways(n: BridgeNetwork): Promise<void> {
    if (!(await deps.host.getLink(n.cfg.bridgeName))) return;
    const want = new Set([...n.spec.ipv4, ...(n.spec.enableIPv6 ? n.spec.ipv6 : [])].map((p) => p.gateway));
    for (const a of await deps.host.listAddresses(n.cfg.bridgeName)) {
      if (want.has(a.cidr) || a.cidr.toLowerCase().startsWith('fe80:')) continue;
      await deps.host.delAddress(n.cfg.bridgeName, a.cidr);
    }
  }

  /**
   * Delete the veth of an endpoint by name, only when it carries that endpoint's mark: a link of
   * that name that tsnet did not make for it stays, with a clear line (it is in the way of a join).
   */
  async function deleteOwnLink(name: string, endpointId: string): Promise<void> {
    const l = await deps.host.getLink(name);
    if (!l) return;
    if (l.alias !== linkMark(endpointId)) {
      throw new TsnetError(
        'TSNET_ENDPOINT_EXISTS',
        `interface ${name} exists but tsnet did not make it for endpoint ${endpointId.slice(0, 12)} (its alias is ${JSON.stringify(l.alias ?? '')}): remove it with ip link del ${name}`,
      );
    }
    await deps.host.deleteLink(l.index);
  }

  /** The bridge's ifindex, looked up (and the bridge re-made when it is gone, after a reboot), then kept. */
  async function bridgeIndex(n: BridgeNetwork): Promise<number> {
    // ensureBridge dumps every address on the host, which grows with the number of veths: only
    // when the bridge is gone
    let bridge = await deps.host.getLink(n.cfg.bridgeName);
    if (!bridge) {
      await ensureBridge(n);
      bridge = await deps.host.getLink(n.cfg.bridgeName);
      if (!bridge) throw new TsnetError('TSNET_NETLINK', `bridge ${n.cfg.bridgeName} is gone`);
    }
    n.index = bridge.index;
    return bridge.index;
  }

  /** Links of endpoints made before tsnet marked its links get the mark (once, at restore). */
  async function markOldVeths(byName: ReadonlyMap<string, LinkInfo>): Promise<void> {
    for (const ep of endpoints.values()) {
      const l = byName.get(ep.veth);
      if (l && l.kind === 'veth' && !l.alias && l.master === byName.get(networks.get(ep.networkId)?.cfg.bridgeName ?? '')?.index)
        await deps.host.setAlias(l.index, linkMark(ep.endpointId));
    }
  }

  async function hostView(): Promise<HostView> {
    const all = await deps.host.listLinks();
    restoredLinks = all;
    const addrs = await deps.host.listAddresses(undefined, undefined, new Map(all.map((l) => [l.index, l.name])));
    const addresses = new Map<number, string[]>();
    for (const a of addrs) addresses.set(a.index, [...(addresses.get(a.index) ?? []), a.cidr]);
    return { links: new Map(all.map((l) => [l.name, l])), addresses };
  }

  function trySysctl(key: string, value: string): void {
    try {
      deps.sysctl.write(key, value);
    } catch (err) {
      deps.logger.debug(`sysctl ${key}=${value}: ${(err as Error).message}`);
    }
  }

  function enableForwarding(v6: boolean): void {
    if (deps.sysctl.read('net.ipv4.ip_forward') !== '1') deps.sysctl.write('net.ipv4.ip_forward', '1');
    if (v6) {
      trySysctl('net.ipv6.conf.all.forwarding', '1');
      trySysctl('net.ipv6.conf.default.forwarding', '1');
    }
  }

  const driver: BridgeDriver = {
    name: 'bridge',
    capabilities: () => ({ scope: 'local', connectivityScope: 'local' }),

    bridgeOf: (id) => networks.get(id)?.cfg.bridgeName,

    validateNetwork(n) {
      const cfg = parseBridgeOptions(n.id, n.options);
      for (const other of networks.values()) {
        if (other.cfg.bridgeName === cfg.bridgeName && other.spec.id !== n.id) {
          throw new TsnetError(
            'TSNET_NETWORK_EXISTS',
            `bridge name ${cfg.bridgeName} is already used by network ${other.spec.name}`,
          );
        }
      }
      if (n.enableIPv6 && n.ipv6.length === 0) throw new TsnetError('TSNET_INVALID_ARGUMENT', '--ipv6 needs an IPv6 --subnet');
    },

    async createNetwork(spec) {
      const cfg = parseBridgeOptions(spec.id, spec.options);
      if (!cfg.defaultBridge && (await deps.host.getLink(cfg.bridgeName))) {
        throw new TsnetError(
          'TSNET_NETWORK_EXISTS',
          `cannot create network ${spec.name}: an interface named ${cfg.bridgeName} already exists (choose another com.docker.network.bridge.name)`,
        );
      }
      const n: BridgeNetwork = { spec, cfg };
      const rb = new Rollback();
      try {
        // the default bridge is made again when the daemon's flags change (--ipv6,
        // --fixed-cidr-v6): gateway addresses of its old subnets go
        if (cfg.defaultBridge) await dropStaleGateways(n);
        await ensureBridge(n, rb);
        if (!spec.internal) enableForwarding(spec.enableIPv6);
        await rb.step(
          'firewall',
          () => deps.firewall.setupNetwork(firewallNetwork(n)),
          () => deps.firewall.teardownNetwork(firewallNetwork(n)),
        );
        networks.set(spec.id, n);
        rb.commit();
        fastPathOf(n)?.addNetwork(spec.id);
      } catch (err) {
        await rb.unwind();
        throw err;
      }
    },

    async deleteNetwork(networkId) {
      const n = networks.get(networkId);
      if (!n) return;
      deps.fastPath?.dropNetwork(networkId);
      // independent: the rules name the bridge, they do not need it. The firewall's fork starts
      // first; deleting the bridge then waits for the kernel's RCU grace period meanwhile.
      const rules = deps.firewall.teardownNetwork(firewallNetwork(n));
      const link = new Promise<void>((resolve) => setImmediate(resolve)).then(() => deps.host.deleteLink(n.cfg.bridgeName));
      const [r, l] = await Promise.allSettled([rules, link]);
      if (r.status === 'rejected') throw r.reason;
      if (l.status === 'rejected') throw l.reason;
      networks.delete(networkId);
    },

    async createEndpoint(e: EndpointSpec): Promise<EndpointInfo> {
      network(e.networkId);
      return { mac: rememberEndpoint(e, []).mac };
    },

    async deleteEndpoint(networkId, endpointId) {
      const ep = endpoints.get(key(networkId, endpointId));
      if (!ep) return;
      deps.fastPath?.leave(networkId, endpointId);
      if (!ep.goesWithSandbox) await deleteOwnLink(ep.veth, ep.endpointId).catch((err: Error) => deps.logger.warn(err.message));
      endpoints.delete(key(networkId, endpointId));
    },

    async join(j: JoinSpec): Promise<JoinInfo> {
      const n = network(j.networkId);
      const ep = endpoints.get(key(j.networkId, j.endpointId));
      if (!ep) throw new TsnetError('TSNET_ENDPOINT_NOT_FOUND', `bridge driver: no endpoint ${j.endpointId.slice(0, 12)}`);
      // the bridge's index kept from an earlier join: no request (else bridgeIndex looks it up)
      let t0 = performance.now();
      const known = n.index;
      let master = known ?? (await bridgeIndex(n));
      timingLine('bridge join: checks', t0);
      t0 = performance.now();
      const fd = fs.openSync(j.sandboxKey, 'r');
      const rb = new Rollback();
      // with IPv6 the container side gets its sysctls before it comes up; without, neither end
      // gets a link-local address (decision 43: no IPv6 multicast for the bridge to flood)
      const v6 = n.spec.enableIPv6 && ep.addressV6 !== undefined;
      const noLinkLocal = !v6;
      let ifindex: number | undefined;
      try {
        const mtu = n.cfg.mtu ? { mtu: n.cfg.mtu } : {};
        // two requests: the pair (peer in the sandbox; the host end a port of the bridge, up), then
        // the host end's mark and hairpin (the kernel ignores an alias in a create)
        const addVeth = () =>
          deps.host.addVeth(
            ep.veth,
            { name: j.ifname, netnsFd: fd, mac: ep.mac, ...mtu },
            { ...mtu, alias: linkMark(ep.endpointId), master, up: true, bridgePort: { hairpin: true }, noLinkLocal },
          );
        const attempt = async () => {
          try {
            await addVeth();
          } catch (err) {
            if (!isErrno(err, 'EEXIST')) throw err;
            // a leftover of this endpoint from a crash goes (a link tsnet did not make for it stays: one line)
            await deleteOwnLink(ep.veth, ep.endpointId);
            await addVeth();
          }
        };
        try {
          await attempt();
        } catch (err) {
          // the index kept from an earlier join may be stale (the bridge re-made): look it up, once
          if (known === undefined || isTsnetError(err, 'TSNET_ENDPOINT_EXISTS')) throw err;
          master = await bridgeIndex(n);
          await attempt();
        }
        rb.push(`delete veth ${ep.veth}`, () => deps.host.deleteLink(ep.veth));
        timingLine('bridge join: veth', t0);
        t0 = performance.now();
        // the sandbox's socket when the caller has it open (no switch of the thread's netns without sysctls)
        const inner =
          !v6 && j.netlink
            ? j.netlink
            : deps.inNetns(j.sandboxKey, () => {
                if (!v6) return j.netlink ?? Netlink.open();
                // no DAD wait and no router advertisements on the container side
                for (const [k, v] of [
                  [`net/ipv6/conf/${j.ifname}/accept_dad`, '0'],
                  [`net/ipv6/conf/${j.ifname}/accept_ra`, '0'],
                ] as const) {
                  try {
                    deps.sysctl.write(k, v);
                  } catch {
                    /* ipv6 disabled */
                  }
                }
                return j.netlink ?? Netlink.open();
              });
        try {
          // looked up once: the addresses, the up and the caller's gateway route go by index
          ifindex = await inner.indexOf(j.ifname);
          if (ep.address) await inner.addAddress(ifindex, ep.address);
          if (ep.addressV6) await inner.addAddress(ifindex, ep.addressV6, { noDad: true });
          // (the peer cannot be born up: the kernel opens it before the pair is linked, ENOTCONN)
          await inner.setUp(ifindex, { noLinkLocal });
        } finally {
          if (inner !== j.netlink) inner.close();
        }
        timingLine('bridge join: inside', t0);
        rb.commit();
        // off the create's and the start's path (JOIN_DELAY_MS): until the filter is there, the frames take the bridge
        void fastPathOf(n)?.join(n.spec.id, ep.endpointId, ep.veth, [ep.address, ep.addressV6], ep.mac);
      } catch (err) {
        await rb.unwind();
        throw err;
      } finally {
        fs.closeSync(fd);
      }
      const gw4 = n.spec.ipv4[0]?.gateway?.split('/')[0];
      const gw6 = n.spec.enableIPv6 ? n.spec.ipv6[0]?.gateway?.split('/')[0] : undefined;
      return {
        ...(gw4 && !n.spec.internal ? { gateway: gw4 } : {}),
        ...(gw6 && !n.spec.internal ? { gatewayV6: gw6 } : {}),
        ...(n.spec.internal ? { disableGatewayService: true } : {}),
        ...(ifindex ? { ifindex } : {}),
      };
    },

    async leave(networkId, endpointId, opts) {
      const ep = endpoints.get(key(networkId, endpointId));
      if (!ep) return;
      deps.fastPath?.leave(networkId, endpointId);
      if (opts?.sandboxRemoved) {
        ep.goesWithSandbox = true;
        return;
      }
      await deleteOwnLink(ep.veth, ep.endpointId).catch((err: Error) => deps.logger.warn(err.message));
    },

    async programExternalConnectivity(networkId, endpointId, ports) {
      const n = network(networkId);
      const ep = endpoints.get(key(networkId, endpointId));
      if (!ep) throw new TsnetError('TSNET_ENDPOINT_NOT_FOUND', `bridge driver: no endpoint ${endpointId.slice(0, 12)}`);
      if (n.spec.internal) return [];
      const byFamily = splitByFamily(ports, n.cfg.hostBindingIpv4);
      const specs = portSpecs(n, ep, byFamily);
      // one transaction per family, both families at once; a failed one takes the other back
      const added = await Promise.allSettled(specs.map((s) => deps.firewall.addPorts(s)));
      const failed = added.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        await Promise.allSettled(
          specs.filter((_, i) => added[i]?.status === 'fulfilled').map((s) => deps.firewall.removePorts(s)),
        );
        throw failed.reason;
      }
      ep.ports = ports;
      const udp = ports.filter((p) => p.proto === 'udp').map((p) => p.hostPort);
      if (udp.length)
        await deps.flushConntrack('udp', udp).catch((err: Error) => deps.logger.debug(`conntrack flush: ${err.message}`));
      return ports;
    },

    async revokeExternalConnectivity(networkId, endpointId) {
      const n = networks.get(networkId);
      const ep = endpoints.get(key(networkId, endpointId));
      if (!n || !ep?.ports.length) return;
      const specs = portSpecs(n, ep);
      ep.ports = [];
      // Off the caller's path (the exit of a container waits for this): the firewall applies
      // operations in call order, so a later publish of the same host port, a restart of this
      // endpoint or the network's teardown runs after the removal; the reservation can go now.
      // A failure is logged: the rules go at the next start's reconcile.
      void Promise.all(specs.map((s) => deps.firewall.removePorts(s))).catch((err: Error) =>
        deps.logger.warn(`unpublish ports of endpoint ${endpointId.slice(0, 12)}: ${err.message}`),
      );
    },

    async sweep(liveNetworkIds, liveEndpointIds = []) {
      const nets = new Set([...liveNetworkIds, ...networks.keys()]);
      const eps = new Set([...liveEndpointIds, ...[...endpoints.values()].map((e) => e.endpointId)]);
      const removed: string[] = [];
      // At start the restore's dump serves (no second dump of every veth): what the restore made
      // since is explained by a record; an orphan in it is looked up again before it goes
      const cached = restoredLinks;
      restoredLinks = undefined;
      for (const l of cached ?? (await deps.host.listLinks())) {
        const id = markedId(l.alias);
        if (!id) continue; // not made by tsnet: never touched
        const orphan = (l.kind === 'bridge' && !nets.has(id)) || (l.kind === 'veth' && !eps.has(id));
        if (!orphan) continue;
        if (cached) {
          const now = await deps.host.getLink(l.index);
          if (!now || now.alias !== l.alias || now.kind !== l.kind) continue;
        }
        try {
          await deps.host.deleteLink(l.index);
          removed.push(`${l.kind} ${l.name}`);
        } catch (err) {
          deps.logger.warn(`sweep ${l.kind} ${l.name}: ${(err as Error).message}`);
        }
      }
      return removed;
    },

    async restore(specs, eps) {
      // one dump of the host's links and one of its addresses for every bridge and veth (each
      // grows with the number of containers)
      const seen = await hostView();
      for (const spec of specs) {
        const n: BridgeNetwork = { spec, cfg: parseBridgeOptions(spec.id, spec.options) };
        networks.set(spec.id, n);
        try {
          await ensureBridge(n, undefined, seen);
          if (!spec.internal) enableForwarding(spec.enableIPv6);
        } catch (err) {
          deps.logger.warn(`restore bridge ${n.cfg.bridgeName}: ${(err as Error).message}`);
        }
      }
      for (const e of eps) if (networks.has(e.networkId)) rememberEndpoint(e, e.ports ?? []);
      // the fast path's maps and programs died with the daemon (the veths' filters keep the old
      // ones): new tables, and the filter of every veth that is there replaced — all at once, so a
      // join's wait for its turn is not paid once per container. A daemon without the fast path
      // (--no-bridge-fast-path, or the kernel refused) takes the old filters off instead.
      for (const n of networks.values()) fastPathOf(n)?.addNetwork(n.spec.id);
      await Promise.all(
        [...endpoints.values()]
          .filter((ep) => seen.links.get(ep.veth)?.kind === 'veth')
          .map((ep) => {
            const n = networks.get(ep.networkId)!;
            return fastPathOf(n)?.restore(n.spec.id, ep.endpointId, ep.veth, [ep.address, ep.addressV6], ep.mac);
          }),
      );
      await markOldVeths(seen.links).catch((err: Error) => deps.logger.warn(`mark veths: ${err.message}`));
      // Rules: make the kernel match the records (missing ones re-added, orphans removed).
      const expected = {
        networks: [...networks.values()].map(firewallNetwork),
        ports: [...endpoints.values()].flatMap((ep) => {
          const n = networks.get(ep.networkId)!;
          if (!ep.ports.length || n.spec.internal) return [];
          return portSpecs(n, ep, splitByFamily(ep.ports, n.cfg.hostBindingIpv4));
        }),
      };
      const r = await deps.firewall.reconcile(expected);
      if (r.added || r.removed) deps.logger.info(`firewall reconciled: ${r.added} rules added, ${r.removed} removed`);
    },
  };
  return driver;
}

/**
 * IPv4 mappings go to iptables, IPv6 ones (host ip with ':') to ip6tables. A mapping with no
 * host IP takes the network's default binding address; with none, it is IPv4's 0.0.0.0 — the
 * port reservations add the matching `::` mapping for a container with an IPv6 address, as
 * Docker expands a binding with no host IP into 0.0.0.0 and [::].
 */
export function splitByFamily(ports: PortMapping[], defaultHostIp: string): { v4: FirewallMapping[]; v6: FirewallMapping[] } {
  const v4: FirewallMapping[] = [];
  const v6: FirewallMapping[] = [];
  for (const p of ports) {
    const hostIp = p.hostIp || defaultHostIp;
    const m = { proto: p.proto, hostPort: p.hostPort, containerPort: p.containerPort };
    if (!hostIp || hostIp === '0.0.0.0') v4.push(m);
    else if (hostIp === '::') v6.push(m);
    else if (hostIp.includes(':')) v6.push({ ...m, hostIp });
    else v4.push({ ...m, hostIp });
  }
  return { v4, v6 };
}
