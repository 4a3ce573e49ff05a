/**
 * The embedded DNS of user-defined networks: one resolver per container sandbox at 127.0.0.11,
 * answering names, aliases and ids of running containers that share a user-defined network
 * with the asking container, forwarding everything else to the host's resolvers.
 */
import type { Logger } from '../lib/logger.js';
import { timed } from '../errors/rollback.js';
import type { FirewallBackend } from '../kernel/firewall/index.js';
import type { Netns } from '../kernel/netns.js';
import type { DnsHook } from './attachments.js';
import type { BoundDns } from '../kernel/netns-maker.js';
import { closeDns } from './sandbox-pool.js';
import type { EndpointRecord, SandboxRecord } from './sandbox-record.js';
import { linkAliasTarget } from './dns/link-alias.js';
import { indexNames, type NameIndex } from './dns/name-index.js';
import { createTcpBinder, RESOLVER_IP, startResolver, type Resolver, type TcpBinder } from './dns/index.js';

export interface EmbeddedDnsDeps {
  netns: Netns;
  /** Programs the resolver's DNAT/SNAT inside each sandbox. */
  firewall: FirewallBackend;
  /** The records the resolvers answer from (the controller's). */
  records: {
    sandbox(id: string): SandboxRecord | undefined;
    endpointsOf(sandboxId: string): EndpointRecord[];
    endpointsOn(networkId: string): EndpointRecord[];
    isActive(sandboxId: string): boolean;
    /** Changes whenever an endpoint on the network (or whether its container runs) may have changed. */
    networkRevision(networkId: string): number;
  };
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

/**
 * A resolver's ports as a stopping daemon hands them to the next one (DnsHandoff): the rules in
 * the sandbox point at them.
 */
export interface ResolverPorts {
  sandbox: string;
  udp: number;
  tcp: number;
}

export class EmbeddedDns implements DnsHook {
  private readonly resolvers = new Map<string, { sandbox: string; resolver: Resolver }>();
  /** From the previous daemon (inherit()): ports whose DNAT rules are in place, by sandbox id; each used once. */
  private inherited = new Map<string, ResolverPorts>();
  /** Resolvers that took their inherited ports back since the last inherit(). */
  private keptPorts = 0;
  private readonly binder: TcpBinder = createTcpBinder();
  private readonly starting = new Map<string, Promise<void>>();
  /** Name index per network, kept while the network's revision holds (dns/name-index.ts). */
  private readonly indexes = new Map<string, { revision: number; index: NameIndex }>();

  constructor(private readonly d: EmbeddedDnsDeps) {}

  /** `ready`: sockets bound in the sandbox with the rules in place for their ports (taken: closed if unused). */
  async ensure(sb: SandboxRecord, sandbox: string, fresh = false, ready?: BoundDns): Promise<void> {
    const running = this.resolvers.get(sb.id)?.sandbox === sandbox;
    const pending = running ? undefined : this.starting.get(sb.id);
    if (running || pending) {
      if (ready) closeDns(ready);
      return pending;
    }
    const p = this.start(sb, sandbox, fresh, ready).finally(() => this.starting.delete(sb.id));
    this.starting.set(sb.id, p);
    return p;
  }

  /**
   * The ports of every resolver whose rules are in place, by sandbox id (a resolver being
   * re-made is not among them). The daemon saves them when it stops, the next one inherit()s them.
   */
  handoff(): Record<string, ResolverPorts> {
    // inherited ports not taken yet (a daemon stopped during its restore): their rules are untouched
    const out: Record<string, ResolverPorts> = Object.fromEntries(this.inherited);
    for (const [id, r] of this.resolvers) out[id] = { sandbox: r.sandbox, udp: r.resolver.udpPort, tcp: r.resolver.tcpPort };
    return out;
  }

  /**
   * At start, before any resolver: the previous daemon's ports. A sandbox's resolver binds them
   * again and leaves the rules alone (no firewall work per container at a restart); when they
   * cannot be bound, it takes new ones and re-points the rules as without a handoff. Called
   * with {} once the restore is over: the ports are for the resolvers the restore starts.
   * Returns how many resolvers took their ports back since the last call.
   */
  inherit(ports: Record<string, ResolverPorts>): number {
    const kept = this.keptPorts;
    this.inherited = new Map(Object.entries(ports));
    this.keptPorts = 0;
    return kept;
  }

  private async start(sb: SandboxRecord, sandbox: string, fresh: boolean, ready?: BoundDns): Promise<void> {
    await this.stop(sb);
    const onlyInternal = this.d.records.endpointsOf(sb.id).every((e) => this.d.isInternal(e.networkId));
    const open = (ports?: { udp: number; tcp: number }, bound?: BoundDns) =>
      startResolver({
        inNetns: (fn) => this.d.netns.run(sandbox, fn),
        lookup: (name, type) => this.lookup(sb.id, name, type),
        reverse: (ip) => this.reverse(sb.id, ip),
        // --dns is the upstream of the embedded resolver, as Docker's ExtServers
        upstreams: onlyInternal ? [] : sb.options.dns?.length ? sb.options.dns : this.d.upstreams(),
        tcpBinder: this.binder,
        logger: this.d.logger,
        ports,
        ...(bound ? { bound: { udpFd: bound.udpFd, tcpFd: bound.tcpFd } } : {}),
      });
    if (ready) {
      // made ahead with the sandbox's namespace (a pool entry): the rules point at these ports already
      const kept = await timed('dns: resolver (made ahead)', () => open(undefined, ready)).catch((err: Error) => {
        this.d.logger.warn(`dns: sandbox ${sb.id.slice(0, 12)}: the resolver's sockets made ahead: ${err.message}; new ones`);
        return undefined;
      });
      if (kept) {
        this.resolvers.set(sb.id, { sandbox, resolver: kept });
        return;
      }
    }
    const had = this.inherited.get(sb.id);
    this.inherited.delete(sb.id);
    if (had && had.sandbox === sandbox && !fresh) {
      const kept = await open(had).catch((err: Error) => {
        this.d.logger.debug(`dns: sandbox ${sb.id.slice(0, 12)} cannot take its ports back (${err.message}): new ones`);
        return undefined;
      });
      if (kept) {
        this.resolvers.set(sb.id, { sandbox, resolver: kept });
        this.keptPorts++;
        return;
      }
    }
    const resolver = await timed('dns: resolver', () => open());
    try {
      await timed('dns: rules', () =>
        this.d.firewall.sandboxDns({
          netns: sandbox,
          resolverIp: RESOLVER_IP,
          udpPort: resolver.udpPort,
          tcpPort: resolver.tcpPort,
          fresh,
        }),
      );
    } catch (err) {
      await resolver.close();
      throw err;
    }
    this.resolvers.set(sb.id, { sandbox, resolver });
  }

  async stop(sb: SandboxRecord): Promise<void> {
    const have = this.resolvers.get(sb.id);
    if (!have) return;
    this.resolvers.delete(sb.id);
    await have.resolver.close();
  }

  /** Networks (user-defined) the asking sandbox is on. */
  private networksOf(sandboxId: string): Set<string> {
    return new Set(
      this.d.records
        .endpointsOf(sandboxId)
        .map((e) => e.networkId)
        .filter((n) => this.d.userDefined(n)),
    );
  }

  private namesOn(networkId: string): NameIndex {
    const revision = this.d.records.networkRevision(networkId);
    const have = this.indexes.get(networkId);
    if (have && have.revision === revision) return have.index;
    const endpoints = this.d.records.endpointsOn(networkId);
    const index = indexNames(endpoints, (id) => this.d.records.isActive(id));
    // a network without endpoints (or gone) keeps no index
    if (endpoints.length) this.indexes.set(networkId, { revision, index });
    else this.indexes.delete(networkId);
    return index;
  }

  lookup(selfId: string, name: string, type: 'A' | 'AAAA'): string[] {
    const nets = this.networksOf(selfId);
    if (nets.size === 0) return [];
    const q = name.toLowerCase();
    // the asking container's own links come first (Docker: endpoint aliases, seen by the linker only)
    const link = linkAliasTarget(this.d.records.endpointsOf(selfId), q);
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
    for (const n of nets) {
      for (const ep of this.namesOn(n).byName.get(q) ?? []) {
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
    for (const n of nets) {
      const ep = this.namesOn(n).byIp.get(ip);
      if (ep) return `${ep.containerName}.${ep.networkName}`;
    }
    return this.remoteReverseLookup(nets, ip);
  }

  async closeAll(): Promise<void> {
    for (const { resolver } of this.resolvers.values()) await resolver.close();
    this.resolvers.clear();
  }
}
