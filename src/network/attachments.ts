/**
 * Endpoints of a sandbox on networks ("networks" mode): planning at create, endpoint + join
 * into the sandbox, the default route and published ports on the gateway endpoint, live
 * connect/disconnect, and /etc/hosts entries. Every record change goes through the controller.
 */
import type { BoundDns } from '../kernel/netns-maker.js';
import crypto from 'node:crypto';
import { TsnetError } from '../errors/index.js';
import { Rollback, timed } from '../errors/rollback.js';
import type { Logger } from '../lib/logger.js';
import type { Failpoint } from '../lib/failpoints.js';
import { contains } from '../lib/cidr.js';
import type { EndpointSettingsRequest, EndpointState, SandboxRequest } from './container-api.js';
import { endpointNameOptions, type NetworkController } from './controller.js';
import { hasExternalConnectivity, type LeaveOptions } from './driver-api.js';
import { endpointExtras, extrasState } from './endpoint-settings.js';
import { addLinkLocalIPs } from './link-local.js';
import type { HostEntry } from './etc-entries.js';
import { pickGatewayEndpoint } from './gateway.js';
import type { NetworkRecord } from './network-record.js';
import type { PendingDeletes, PendingStep } from './pending-deletes.js';
import { portRequests, type PortReservations, type PortTarget } from './ports.js';
import type { Sandbox, Sandboxes } from './sandbox.js';
import type { EndpointRecord, SandboxRecord } from './sandbox-record.js';

/** Embedded DNS per sandbox (optional; wired by the daemon). */
export interface DnsHook {
  /**
   * `fresh`: the sandbox was made just now, so none of tsnet's DNS rules exist in it yet.
   * `ready`: the resolver's sockets, bound in the sandbox with the rules in place (a pool entry's).
   */
  ensure(sb: SandboxRecord, sandboxFile: string, fresh?: boolean, ready?: BoundDns): Promise<void>;
  stop(sb: SandboxRecord): Promise<void>;
}

export interface AttachmentDeps {
  controller: NetworkController;
  sandboxes: Sandboxes;
  ports: PortReservations;
  dns?: DnsHook;
  /** Teardowns waiting for a plugin (rm / disconnect -f go on without it). */
  pending?: PendingDeletes;
  /** Test-only crash points (TSNET_FAILPOINTS). */
  failpoint?: Failpoint;
  logger: Logger;
}

export class Attachments {
  constructor(private readonly d: AttachmentDeps) {}

  /** The endpoints a create asks for (validated; nothing reserved or made). */
  async plan(req: SandboxRequest): Promise<EndpointState[]> {
    const requested = req.endpointsConfig;
    const mode = req.networkMode;
    const primary = !mode || mode === 'default' ? 'bridge' : mode;
    const names = [primary, ...Object.keys(requested).filter((n) => n !== primary && n !== mode)];
    const out: EndpointState[] = [];
    for (const name of names) {
      const cfg = requested[name] ?? (name === primary ? requested[mode ?? ''] : undefined) ?? null;
      const n = await this.d.controller.resolve(name);
      out.push(await this.planEndpoint(req.containerName, out, n, cfg));
    }
    // Validate the published ports now (bad specs fail before anything is made).
    portRequests(req.portBindings, req.publishAll ?? false, req.exposedPorts);
    return out;
  }

  private async planEndpoint(
    containerName: string,
    have: readonly EndpointState[],
    n: NetworkRecord,
    cfg: EndpointSettingsRequest | null,
  ): Promise<EndpointState> {
    if (this.d.controller.modeDriverOf(n)) {
      throw new TsnetError(
        'TSNET_NETWORK_MODE',
        `container cannot be attached to the ${n.name} network together with other networks: use --network ${n.name} alone`,
      );
    }
    if (have.some((e) => e.networkId === n.id)) {
      throw new TsnetError('TSNET_ENDPOINT_EXISTS', `container ${containerName} is already connected to network ${n.name}`);
    }
    const aliases = (cfg?.Aliases ?? []).filter(Boolean);
    const userDefined = !n.predefined;
    if (aliases.length && !userDefined) {
      throw new TsnetError(
        'TSNET_NETWORK_MODE',
        'network-scoped aliases are supported only for containers on user-defined networks',
      );
    }
    const ip4 = cfg?.IPAMConfig?.IPv4Address;
    const ip6 = cfg?.IPAMConfig?.IPv6Address;
    if ((ip4 || ip6) && (!userDefined || n.ipam.config.length === 0)) {
      throw new TsnetError(
        'TSNET_NETWORK_MODE',
        `user specified IP address is supported only when connecting to networks with user configured subnets (network ${n.name})`,
      );
    }
    if (ip6 && !n.enableIPv6)
      throw new TsnetError('TSNET_BAD_IP', `network ${n.name} has no IPv6: --ip6 needs a network created with --ipv6`);
    // checked here, before anything is made (the join would meet it as a kernel route error)
    for (const [ip, v6] of [
      [ip4, false],
      [ip6, true],
    ] as const) {
      if (ip && !n.pools.some((p) => p.v6 === v6 && contains(p.subnet, ip)))
        throw new TsnetError(
          'TSNET_BAD_IP',
          `invalid address ${ip}: it does not belong to any of network ${n.name}'s subnets (${n.pools
            .filter((p) => p.v6 === v6)
            .map((p) => p.subnet)
            .join(', ')})`,
        );
    }
    const extras = endpointExtras(cfg);
    const ll = extras.linkLocalIPs;
    return {
      networkId: n.id,
      networkName: n.name,
      endpointId: crypto.randomBytes(32).toString('hex'),
      aliases,
      ...(ip4 || ip6 || ll
        ? {
            ipamConfig: {
              ...(ip4 ? { IPv4Address: ip4 } : {}),
              ...(ip6 ? { IPv6Address: ip6 } : {}),
              ...(ll ? { LinkLocalIPs: ll } : {}),
            },
          }
        : {}),
      ...extrasState(extras),
    };
  }

  /** A record of a planned endpoint (not saved: saving it commits the attach). */
  private recordOf(sb: SandboxRecord, ep: EndpointState, seq: number): EndpointRecord {
    return {
      ...ep,
      aliases: [...ep.aliases],
      id: ep.endpointId,
      sandboxId: sb.id,
      containerId: sb.containerId,
      containerName: sb.containerName,
      state: 'active',
      seq,
    };
  }

  /**
   * Make and join the endpoints into a fresh sandbox (create; or after a reboot removed the
   * netns, the sandbox's existing endpoints again). The records are saved last (the commit).
   */
  /** `durable`: false for a container create, whose durable container record follows (decision 36). */
  async attachAll(sb: SandboxRecord, planned: readonly EndpointState[], sandbox: Sandbox, durable = true): Promise<void> {
    const existing = this.d.controller.endpointsOf(sb.id);
    const base = existing.reduce((m, e) => Math.max(m, e.seq + 1), 0);
    const eps = [...existing, ...planned.map((p, i) => this.recordOf(sb, p, base + i))];
    const rb = new Rollback();
    try {
      let index = 0;
      const ifindexes = new Map<string, number>();
      for (const ep of eps) await this.attachOne(sb, ep, sandbox, `eth${index++}`, rb, ifindexes);
      await timed('join: gateway route', () => this.applyGateway(sb, eps, sandbox, ifindexes));
      for (const ep of eps)
        if (!existing.includes(ep)) rb.push('forget endpoint record', () => this.d.controller.removeEndpoint(ep));
      await timed('join: save records', () => this.d.controller.saveAttach(eps, sb, durable));
      rb.commit();
      for (const ep of eps) if (!existing.includes(ep)) this.announce(ep.networkId, 'connect', sb);
    } catch (err) {
      await rb.unwind();
      throw err;
    }
    if (this.d.dns && this.wantsDns(sb))
      await timed('join: dns', () => this.d.dns!.ensure(sb, sandbox.file, true, sandbox.takeDns()));
  }

  /**
   * IP from IPAM, driver endpoint, driver join into the sandbox; undo pushed on `rb`.
   * `ifindexes`: the interface's index goes there when the driver tells it (JoinInfo.ifindex).
   */
  private async attachOne(
    sb: SandboxRecord,
    ep: EndpointRecord,
    sandbox: Sandbox,
    ifname: string,
    rb: Rollback,
    ifindexes?: Map<string, number>,
  ): Promise<void> {
    const n = this.d.controller.get(ep.networkId);
    // reserved before any await: a concurrent `network rm` now sees the network in use (or this
    // throws because the network is being removed)
    if (this.d.controller.reserveEndpoint(n.id, ep.endpointId, sb.containerName))
      rb.push(`forget endpoint ${ep.endpointId.slice(0, 12)}`, () => this.d.controller.releaseEndpoint(n.id, ep.endpointId));
    const driver = await this.d.controller.driverOf(n);
    const ipam = await this.d.controller.ipamOf(n);
    for (const pool of n.pools) {
      if (pool.v6 && !n.enableIPv6) continue;
      const want = pool.v6 ? ep.ipamConfig?.IPv6Address : ep.ipamConfig?.IPv4Address;
      if (want && !contains(pool.subnet, want)) continue;
      if ((pool.v6 ? ep.ipv6 : ep.ipv4) && !want) continue;
      const request = () =>
        ipam.requestAddress(pool.poolId, {
          owner: ep.endpointId,
          ...(want ? { ip: want } : {}),
          ...(ep.mac ? { mac: ep.mac } : {}),
          options: { 'com.docker.network.endpoint.name': sb.containerName },
        });
      const lease = await timed('join: ipam address', () =>
        request()
          .catch(async (err: unknown) => {
            // the address may be held by a container removed a moment ago (run --rm answers
            // before its network teardown ends): once more after those teardowns
            const code = (err as TsnetError).code;
            if (
              (code === 'TSNET_ADDRESS_IN_USE' || code === 'TSNET_POOL_EXHAUSTED') &&
              (await this.d.controller.sandboxRemovalsDone())
            )
              return request();
            throw err;
          })
          .catch((err: unknown) => {
            // several subnets of one family (as Docker): a full one passes to the next
            const next = n.pools.slice(n.pools.indexOf(pool) + 1).some((p) => p.v6 === pool.v6);
            if (!want && next && (err as TsnetError).code === 'TSNET_POOL_EXHAUSTED') return undefined;
            throw err;
          }),
      );
      if (!lease) continue;
      rb.push(`release ${lease.address}`, () => ipam.releaseAddress(pool.poolId, lease.address));
      this.d.failpoint?.('attach.after-address');
      if (pool.v6) {
        ep.ipv6 = lease.address;
        ep.gateway6 = pool.gateway;
      } else {
        ep.ipv4 = lease.address;
        ep.gateway = pool.gateway;
      }
    }
    const base = {
      networkId: n.id,
      endpointId: ep.endpointId,
      containerId: sb.containerId,
      ...(ep.ipv4 ? { address: ep.ipv4 } : {}),
      ...(ep.ipv6 ? { addressV6: ep.ipv6 } : {}),
      ...(ep.mac ? { mac: ep.mac } : {}),
    };
    // global-scope drivers (overlay) publish the endpoint's DNS names to the other hosts
    const options = n.scope === 'global' ? endpointNameOptions(sb.containerName, ep.aliases) : {};
    // --driver-opt reaches the driver as top-level keys of CreateEndpoint's options (as Docker)
    const info = await timed('join: driver createEndpoint', () =>
      driver.createEndpoint({ ...base, options: { ...ep.driverOpts, ...options } }),
    );
    rb.push(`delete endpoint ${ep.endpointId.slice(0, 12)}`, () => driver.deleteEndpoint(n.id, ep.endpointId));
    if (info.mac) ep.mac = info.mac;
    const join = await timed('join: driver join', () =>
      driver.join({
        ...base,
        ...(ep.mac ? { mac: ep.mac } : {}),
        sandboxKey: sandbox.file,
        netlink: sandbox.netlink,
        ifname,
        options,
      }),
    );
    rb.push(`leave ${n.name}`, () => driver.leave(n.id, ep.endpointId, { sandbox }));
    await addLinkLocalIPs(sandbox.netlink, ifname, ep.ipamConfig?.LinkLocalIPs ?? []);
    this.d.failpoint?.('attach.after-join');
    ep.ifname = ifname;
    if (join.ifindex) ifindexes?.set(ifname, join.ifindex);
    if (join.gateway) ep.gateway = join.gateway;
    else if (join.gatewayFromDriver || join.disableGatewayService || n.internal) delete ep.gateway;
    if (join.gatewayV6) ep.gateway6 = join.gatewayV6;
    else if (join.gatewayFromDriver) delete ep.gateway6;
  }

  private gatewayOf(eps: readonly EndpointRecord[]): EndpointRecord | undefined {
    const cands = eps.map((ep) => {
      const n = this.d.controller.find(ep.networkId);
      return {
        endpointId: ep.endpointId,
        networkName: ep.networkName,
        priority: 0,
        hasGateway: Boolean(ep.gateway || ep.gateway6),
        internal: n?.internal ?? false,
      };
    });
    const pick = pickGatewayEndpoint(cands);
    return pick ? eps.find((e) => e.endpointId === pick.endpointId) : undefined;
  }

  /** Point the sandbox's default route(s) at the gateway endpoint of `eps` (`ifindexes`: known indexes by name). */
  private async applyGateway(
    sb: SandboxRecord,
    eps: readonly EndpointRecord[],
    sandbox: Sandbox,
    ifindexes?: ReadonlyMap<string, number>,
  ): Promise<void> {
    const gw = this.gatewayOf(eps);
    const nl = sandbox.netlink;
    if (!gw) {
      await nl.delRoute({ dst: 'default', family: 4 });
      await nl.delRoute({ dst: 'default', family: 6 });
      delete sb.gatewayNetwork;
      return;
    }
    const dev = gw.ifname ? (ifindexes?.get(gw.ifname) ?? gw.ifname) : undefined;
    if (gw.gateway && dev !== undefined) await nl.replaceRoute({ dst: 'default', family: 4, gateway: gw.gateway, dev });
    else await nl.delRoute({ dst: 'default', family: 4 });
    if (gw.gateway6 && dev !== undefined) await nl.replaceRoute({ dst: 'default', family: 6, gateway: gw.gateway6, dev });
    sb.gatewayNetwork = gw.networkId;
  }

  /** Start: published ports on the gateway endpoint, the resolver. */
  async started(sb: SandboxRecord, sandbox: Sandbox): Promise<void> {
    await this.publishPorts(sb, this.d.controller.endpointsOf(sb.id));
    if (this.d.dns && this.wantsDns(sb)) await this.d.dns.ensure(sb, sandbox.file);
  }

  private async publishPorts(sb: SandboxRecord, eps: readonly EndpointRecord[]): Promise<void> {
    const o = sb.options;
    const requests = portRequests(o.portBindings, o.publishAll ?? false, o.exposedPorts);
    sb.ports = [];
    const gw = this.gatewayOf(eps);
    if (!gw) {
      if (requests.length)
        this.d.logger.warn(
          `container ${sb.containerName} publishes ports but has no network with a gateway: ports not published`,
        );
      return;
    }
    const n = this.d.controller.get(gw.networkId);
    const driver = await this.d.controller.driverOf(n);
    if (!hasExternalConnectivity(driver)) return;
    // As Docker: the gateway endpoint's driver is programmed at every start, with or without
    // published ports (a plugin may set up outbound connectivity there); an empty list costs
    // the built-in bridge nothing.
    const mappings = requests.length ? await this.d.ports.reserve(sb.containerId, requests, portTarget(gw, n)) : [];
    this.d.failpoint?.('publish.after-reserve');
    try {
      const programmed = await driver.programExternalConnectivity(n.id, gw.endpointId, mappings);
      sb.ports = programmed.map((m) => ({
        proto: m.proto,
        hostIp: m.hostIp,
        hostPort: m.hostPort,
        containerPort: m.containerPort,
      }));
      // not fsynced: published ports only count while the container runs, and none runs after a reboot
      if (sb.ports.length) this.d.controller.saveSandboxVolatile(sb);
    } catch (err) {
      this.d.ports.release(sb.containerId);
      throw err;
    }
  }

  /**
   * `save: false` (a stop): the record keeps the old list on disk — a restarted daemon drops the
   * ports of a container that is not running (ContainerNetwork.reconcile), and the next save
   * writes the empty list — so the exit path writes no record for them.
   */
  private async revokePorts(sb: SandboxRecord, save = true): Promise<void> {
    const gw = this.d.controller.endpointsOf(sb.id).find((e) => e.networkId === sb.gatewayNetwork);
    const had = sb.ports.length > 0;
    if (gw) {
      // Revoked at every stop, as Docker does, with or without published ports.
      const n = this.d.controller.find(gw.networkId);
      const driver = n ? await this.d.controller.driverOf(n).catch(() => undefined) : undefined;
      if (driver && hasExternalConnectivity(driver)) await driver.revokeExternalConnectivity(gw.networkId, gw.endpointId);
    }
    this.d.ports.release(sb.containerId);
    sb.ports = [];
    if (save && had && this.d.controller.sandbox(sb.id)) this.d.controller.saveSandboxVolatile(sb);
  }

  async stopped(sb: SandboxRecord): Promise<void> {
    await this.revokePorts(sb, false);
  }

  /**
   * Every endpoint leaves the sandbox and is deleted; their records go. `sandboxRemoved`: the
   * caller destroys the sandbox right after (see LeaveOptions). `behind`: the endpoint records'
   * unlinks on libuv's pool (the teardown after a `run --rm`).
   */
  async detachAll(sb: SandboxRecord, opts: LeaveOptions = {}, behind = false): Promise<void> {
    const errors: string[] = [];
    // A stopped container's external connectivity was revoked when it stopped.
    if (sb.ports.length || this.d.controller.isActive(sb.id))
      await this.revokePorts(sb).catch((e: Error) => errors.push(e.message));
    await this.d.dns?.stop(sb).catch((e: Error) => errors.push(e.message));
    for (const ep of this.d.controller.endpointsOf(sb.id)) {
      const outcome = await this.detachOne(ep, sb, opts).catch((e: Error) => {
        errors.push(e.message);
        return 'failed' as const;
      });
      this.announce(ep.networkId, 'disconnect', sb);
      // the container's endpoints go with it, whatever a driver said; one whose plugin did not
      // answer stays, out of the sandbox, as a pending delete until the plugin is told
      if (outcome !== 'pending') await this.d.controller.removeEndpoint(ep, behind);
    }
    if (errors.length) this.d.logger.warn(`detach ${sb.containerName}: ${errors.join('; ')}`);
  }

  /**
   * Leave → DeleteEndpoint → ReleaseAddress (Docker's order). With `owner` (rm, disconnect -f),
   * a plugin that does not answer does not stop the teardown: what is left is kept as a pending
   * delete (retried when the plugin answers) and 'pending' is returned; the endpoint then stays
   * reserved on its network until that is done. Without `owner`, a failure is thrown.
   */
  private async detachOne(ep: EndpointRecord, owner?: SandboxRecord, opts: LeaveOptions = {}): Promise<'done' | 'pending'> {
    const n = this.d.controller.find(ep.networkId);
    if (!n) return 'done';
    const steps: PendingStep[] = ['leave', 'deleteEndpoint', 'releaseAddress'];
    const addresses: Array<{ poolId: string; address: string }> = [];
    for (const pool of n.pools) {
      const addr = pool.v6 ? ep.ipv6 : ep.ipv4;
      if (addr && contains(pool.subnet, addr.split('/')[0]!)) addresses.push({ poolId: pool.poolId, address: addr });
    }
    try {
      const driver = await this.d.controller.driverOf(n);
      await driver.leave(n.id, ep.endpointId, opts);
      steps.shift();
      await driver.deleteEndpoint(n.id, ep.endpointId);
      steps.shift();
      const ipam = await this.d.controller.ipamOf(n);
      while (addresses.length) {
        const a = addresses[0]!;
        await ipam.releaseAddress(a.poolId, a.address);
        addresses.shift();
      }
    } catch (err) {
      if (!owner || !this.d.pending) throw err;
      await this.d.pending.add({
        id: ep.endpointId,
        networkId: n.id,
        containerId: owner.containerId,
        containerName: owner.containerName,
        steps,
        addresses,
        ...(ep.mac ? { mac: ep.mac } : {}),
        since: new Date().toISOString(),
        lastError: (err as Error).message,
        attempts: 1,
      });
      return 'pending';
    }
    return 'done';
  }

  hostEntries(sb: SandboxRecord): HostEntry[] {
    const names = [sb.options.hostname];
    const out: HostEntry[] = [];
    for (const ep of this.d.controller.endpointsOf(sb.id)) {
      if (ep.ipv4) out.push({ ip: ep.ipv4.split('/')[0]!, names });
      if (ep.ipv6) out.push({ ip: ep.ipv6.split('/')[0]!, names });
    }
    out.push(...(sb.linkHosts ?? []));
    return out;
  }

  /** Whether a sandbox with these planned endpoints will get the embedded resolver (before its join). */
  plansDns(endpoints: readonly EndpointState[]): boolean {
    return this.d.dns !== undefined && this.onUserNetwork(endpoints);
  }

  /** Does any network of the sandbox have the embedded DNS (user-defined)? */
  wantsDns(sb: SandboxRecord): boolean {
    return this.onUserNetwork(this.d.controller.endpointsOf(sb.id));
  }

  /** Is any of these endpoints on a user-defined network (the ones with the embedded DNS)? */
  private onUserNetwork(endpoints: readonly { networkId: string }[]): boolean {
    return endpoints.some((ep) => !this.d.controller.find(ep.networkId)?.predefined);
  }

  private announce(networkId: string, action: 'connect' | 'disconnect', sb: SandboxRecord): void {
    const n = this.d.controller.find(networkId);
    if (n) this.d.controller.announce(n, action, { container: sb.containerId });
  }

  // ---- live connect / disconnect --------------------------------------------------------------

  async connect(sb: SandboxRecord, networkRef: string, cfg: EndpointSettingsRequest | null): Promise<void> {
    const n = await this.d.controller.resolve(networkRef);
    const before = this.d.controller.endpointsOf(sb.id);
    const planned = await this.planEndpoint(sb.containerName, before, n, cfg);
    const file = sb.key;
    if (!file || !this.d.sandboxes.exists(file))
      throw new TsnetError('TSNET_INTERNAL', `container ${sb.containerName} has no network sandbox`);
    const used = new Set(before.map((e) => e.ifname));
    let i = 0;
    while (used.has(`eth${i}`)) i++;
    const ep = this.recordOf(
      sb,
      planned,
      before.reduce((m, e) => Math.max(m, e.seq + 1), 0),
    );
    const oldGateway = sb.gatewayNetwork;
    const sandbox = this.d.sandboxes.handle(file);
    const rb = new Rollback();
    try {
      await this.attachOne(sb, ep, sandbox, `eth${i}`, rb);
      this.d.failpoint?.('connect.after-attach');
      await this.moveConnectivity(sb, [...before, ep], sandbox, oldGateway);
      // the endpoint's record commits the connect
      await this.d.controller.saveEndpoint(ep);
      rb.push('forget endpoint record', () => this.d.controller.removeEndpoint(ep));
      await this.d.controller.saveSandbox(sb);
      rb.commit();
    } catch (err) {
      await rb.unwind();
      throw err;
    } finally {
      sandbox.close();
    }
    this.announce(n.id, 'connect', sb);
    if (this.d.dns && this.wantsDns(sb)) await this.d.dns.ensure(sb, file);
  }

  async disconnect(sb: SandboxRecord, networkRef: string, force: boolean): Promise<void> {
    const n = this.d.controller.find(networkRef);
    const eps = this.d.controller.endpointsOf(sb.id);
    const ep = n
      ? eps.find((e) => e.networkId === n.id)
      : eps.find((e) => e.networkName === networkRef || e.networkId.startsWith(networkRef));
    // As Docker: -f does not make "not connected" a success (a second disconnect -f answers 404);
    // a network that does not exist (and no endpoint names it) is said so
    if (!ep && !n) throw new TsnetError('TSNET_NETWORK_NOT_FOUND', `network ${networkRef} not found`);
    if (!ep)
      throw new TsnetError('TSNET_ENDPOINT_NOT_FOUND', `container ${sb.containerName} is not connected to network ${networkRef}`);
    const oldGateway = sb.gatewayNetwork;
    if (oldGateway === ep.networkId) await this.revokePorts(sb);
    // intent before effect: the endpoint is saved pending-delete before the kernel loses it, so a
    // crash from here on leaves only objects no record explains (swept, IPAM reconciled)
    await this.d.controller.setEndpointState(ep, 'pending-delete');
    this.d.failpoint?.('disconnect.after-record');
    // the sandbox's one netlink socket for the whole disconnect (opened on first use)
    const file = sb.key;
    const sandbox = file && this.d.sandboxes.exists(file) ? this.d.sandboxes.handle(file) : undefined;
    try {
      let outcome: 'done' | 'pending' | 'failed' = 'failed';
      try {
        outcome = await this.detachOne(ep, force ? sb : undefined, sandbox ? { sandbox } : {});
      } catch (err) {
        if (!force) {
          // the driver refused: the endpoint stays, as it was
          await this.d.controller.setEndpointState(ep, 'active');
          throw err;
        }
        this.d.logger.warn(
          `disconnect -f ${sb.containerName} from ${ep.networkName}: ${(err as Error).message}; removing its interface`,
        );
      }
      // -f: whatever the driver did, the container's interface and its record go
      if (force && sandbox && ep.ifname) await sandbox.netlink.deleteLink(ep.ifname);
      if (outcome !== 'pending') await this.d.controller.removeEndpoint(ep);
      if (oldGateway === ep.networkId) delete sb.gatewayNetwork;
      this.announce(ep.networkId, 'disconnect', sb);
      const rest = this.d.controller.endpointsOf(sb.id);
      if (sandbox) await this.moveConnectivity(sb, rest, sandbox, oldGateway === ep.networkId ? undefined : oldGateway);
    } finally {
      sandbox?.close();
    }
    await this.d.controller.saveSandbox(sb);
    if (this.d.dns && !this.wantsDns(sb)) await this.d.dns.stop(sb);
  }

  /** After the endpoint set changed: default route and published ports follow the gateway rule. */
  private async moveConnectivity(
    sb: SandboxRecord,
    eps: readonly EndpointRecord[],
    sandbox: Sandbox,
    oldGateway: string | undefined,
  ): Promise<void> {
    await this.applyGateway(sb, eps, sandbox);
    if (sb.gatewayNetwork === oldGateway) return;
    if (!this.d.controller.isActive(sb.id)) return;
    if (oldGateway && eps.some((e) => e.networkId === oldGateway)) {
      const saved = sb.gatewayNetwork;
      sb.gatewayNetwork = oldGateway;
      await this.revokePorts(sb);
      if (saved) sb.gatewayNetwork = saved;
      else delete sb.gatewayNetwork;
    }
    await this.publishPorts(sb, eps);
  }

  /** After a daemon restart: a running container gets its port reservations and resolver back. */
  async adoptRunning(sb: SandboxRecord): Promise<void> {
    const gw = this.d.controller.endpointsOf(sb.id).find((e) => e.networkId === sb.gatewayNetwork);
    if (sb.ports.length) await this.d.ports.adopt(sb.containerId, sb.ports, portTarget(gw));
    if (this.d.dns && sb.key && this.wantsDns(sb)) await this.d.dns.ensure(sb, sb.key);
  }
}

/** The addresses published ports lead to (the gateway endpoint's, without prefix). */
function portTarget(ep: EndpointState | undefined, n?: NetworkRecord): PortTarget {
  const ipv4 = ep?.ipv4?.split('/')[0];
  const ipv6 = ep?.ipv6?.split('/')[0];
  const defaultHostIp = n?.options['com.docker.network.bridge.host_binding_ipv4'];
  return { ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}), ...(defaultHostIp ? { defaultHostIp } : {}) };
}
