/**
 * The embedded DNS of user-defined networks: one resolver per container sandbox at 127.0.0.11,
 * answering names, aliases and ids of running containers that share a user-defined network
 * with the asking container, forwarding everything else to the host's resolvers.
 */
import type { Logger } from '../lib/logger.js';
import type { FirewallBackend } from '../kernel/firewall/index.js';
import type { Netns } from '../kernel/netns.js';
import type { NetworkedContainer as ContainerRecord } from './container-api.js';
import type { DnsHook } from './attachments.js';
import { linkAliasTarget } from './dns/link-alias.js';
import { createTcpBinder, RESOLVER_IP, startResolver, type Resolver, type TcpBinder } from './dns/index.js';

export interface EmbeddedDnsDeps {
  netns: Netns;
  /** Programs the resolver's DNAT/SNAT inside each sandbox. */
  firewall: FirewallBackend;
  containers: () => ContainerRecord[];
  /** Is this network user-defined (not bridge/host/none)? */
  userDefined: (networkId: string) => boolean;
  isInternal: (networkId: string) => boolean;
  upstreams: () => string[];
  /**
   * Addresses (A: IPv4, AAAA: IPv6) of `name` on a network from outside this host (global
   * networks: the cluster store's endpoint records of the other hosts), and the name
   * (`container.network`) of such an address for PTR. Optional; wired with --cluster-store.
   */
  remote?: (networkId: string, name: string, type: 'A' | 'AAAA') => string[];
  remoteReverse?: (networkId: string, ip: string) => string | undefined;
  logger: Logger;
}

export class EmbeddedDns implements DnsHook {
  private readonly resolvers = new Map<string, { sandbox: string; resolver: Resolver }>();
  private readonly binder: TcpBinder = createTcpBinder();
  private readonly starting = new Map<string, Promise<void>>();

  constructor(private readonly d: EmbeddedDnsDeps) {}

  async ensure(rec: ContainerRecord, sandbox: string, fresh = false): Promise<void> {
    const have = this.resolvers.get(rec.id);
    if (have && have.sandbox === sandbox) return;
    const pending = this.starting.get(rec.id);
    if (pending) return pending;
    const p = this.start(rec, sandbox, fresh).finally(() => this.starting.delete(rec.id));
    this.starting.set(rec.id, p);
    return p;
  }

  private async start(rec: ContainerRecord, sandbox: string, fresh: boolean): Promise<void> {
    await this.stop(rec);
    const onlyInternal = Object.values(rec.network.endpoints).every((e) => this.d.isInternal(e.networkId));
    const resolver = await startResolver({
      inNetns: (fn) => this.d.netns.run(sandbox, fn),
      lookup: (name, type) => this.lookup(rec.id, name, type),
      reverse: (ip) => this.reverse(rec.id, ip),
      // --dns is the upstream of the embedded resolver, as Docker's ExtServers
      upstreams: onlyInternal ? [] : rec.hostConfig.Dns?.length ? rec.hostConfig.Dns : this.d.upstreams(),
      tcpBinder: this.binder,
      logger: this.d.logger,
    });
    try {
      await this.d.firewall.sandboxDns({
        netns: sandbox,
        resolverIp: RESOLVER_IP,
        udpPort: resolver.udpPort,
        tcpPort: resolver.tcpPort,
        fresh,
      });
    } catch (err) {
      await resolver.close();
      throw err;
    }
    this.resolvers.set(rec.id, { sandbox, resolver });
  }

  async stop(rec: ContainerRecord): Promise<void> {
    const have = this.resolvers.get(rec.id);
    if (!have) return;
    this.resolvers.delete(rec.id);
    await have.resolver.close();
  }

  /** Networks (user-defined) the asking container is on. */
  private networksOf(id: string): Set<string> {
    const self = this.d.containers().find((c) => c.id === id);
    return new Set(Object.keys(self?.network.endpoints ?? {}).filter((n) => this.d.userDefined(n)));
  }

  lookup(selfId: string, name: string, type: 'A' | 'AAAA'): string[] {
    const nets = this.networksOf(selfId);
    if (nets.size === 0) return [];
    const q = name.toLowerCase();
    // the asking container's own links come first (Docker: endpoint aliases, seen by the linker only)
    const self = this.d.containers().find((c) => c.id === selfId);
    const link = self ? linkAliasTarget(Object.values(self.network.endpoints), q) : undefined;
    if (link && nets.has(link.networkId)) {
      const got = this.addresses(new Set([link.networkId]), link.target, type);
      if (got.length) return got;
    }
    const out = this.addresses(nets, q, type);
    out.push(...this.remoteLookup(nets, q, type));
    return [...new Set(out)];
  }

  /** Addresses of running containers named (or aliased) `q` on these networks. */
  private addresses(nets: Set<string>, q: string, type: 'A' | 'AAAA'): string[] {
    const out: string[] = [];
    for (const c of this.d.containers()) {
      if (c.state.Status !== 'running') continue;
      for (const ep of Object.values(c.network.endpoints)) {
        if (!nets.has(ep.networkId)) continue;
        const names = [c.name, c.id.slice(0, 12), ...ep.aliases].map((n) => n.toLowerCase());
        const qualified = names.map((n) => `${n}.${ep.networkName.toLowerCase()}`);
        if (!names.includes(q) && !qualified.includes(q)) continue;
        const ip = type === 'A' ? ep.ipv4 : ep.ipv6;
        if (ip) out.push(ip.split('/')[0]!);
      }
    }
    return out;
  }

  /** Containers of other hosts on the asker's global networks. */
  private remoteLookup(nets: Set<string>, name: string, type: 'A' | 'AAAA'): string[] {
    const remote = this.d.remote;
    return remote ? [...nets].flatMap((n) => remote(n, name, type)) : [];
  }

  private remoteReverseLookup(nets: Set<string>, ip: string): string | undefined {
    if (!this.d.remoteReverse) return undefined;
    for (const n of nets) {
      const name = this.d.remoteReverse(n, ip);
      if (name) return name;
    }
    return undefined;
  }

  private reverse(selfId: string, ip: string): string | undefined {
    const nets = this.networksOf(selfId);
    for (const c of this.d.containers()) {
      for (const ep of Object.values(c.network.endpoints)) {
        if (!nets.has(ep.networkId)) continue;
        if (ep.ipv4?.split('/')[0] === ip || ep.ipv6?.split('/')[0] === ip) return `${c.name}.${ep.networkName}`;
      }
    }
    return this.remoteReverseLookup(nets, ip);
  }

  async closeAll(): Promise<void> {
    for (const { resolver } of this.resolvers.values()) await resolver.close();
    this.resolvers.clear();
  }
}
