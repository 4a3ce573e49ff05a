/**
 * Container endpoints on networks: planning at create, endpoint + join into the sandbox, the
 * default route and published ports on the gateway endpoint, live connect/disconnect, and
 * /etc/hosts entries. Implements the runtime's NetworkAttachments.
 */
import crypto from 'node:crypto';
import { TsnetError } from '../errors/index.js';
import { Rollback } from '../errors/rollback.js';
import type { Logger } from '../lib/logger.js';
import type { Failpoint } from '../lib/failpoints.js';
import type { NetworkedContainer as ContainerRecord, EndpointSettingsRequest, EndpointState } from './container-api.js';
import type { HostEntry } from './etc-entries.js';
import type { NetworkAttachments } from './container-network.js';
import { endpointNameOptions, type NetworkController } from './controller.js';
import { endpointExtras, extrasState } from './endpoint-settings.js';
import { addLinkLocalIPs } from './link-local.js';
import { contains } from '../lib/cidr.js';
import { hasExternalConnectivity, type LeaveOptions } from './driver-api.js';
import { pickGatewayEndpoint } from './gateway.js';
import type { NetworkRecord } from './network-record.js';
import { parseNetworkMode } from './network-mode.js';
import type { PendingDeletes, PendingStep } from './pending-deletes.js';
import { portRequests, type PortReservations, type PortTarget } from './ports.js';
import type { Sandbox, Sandboxes } from './sandbox.js';

/** Embedded DNS per sandbox (optional; wired by the daemon). */
export interface DnsHook {
  /** `fresh`: the sandbox was made just now, so none of tsnet's DNS rules exist in it yet. */
  ensure(rec: ContainerRecord, sandboxFile: string, fresh?: boolean): Promise<void>;
  stop(rec: ContainerRecord): Promise<void>;
}

export interface AttachmentDeps {
  controller: NetworkController;
  sandboxes: Sandboxes;
  ports: PortReservations;
  containers: {
    save(rec: ContainerRecord): Promise<void>;
    refreshHosts(rec: ContainerRecord, entries: HostEntry[]): Promise<void>;
    isRunning(rec: ContainerRecord): boolean;
  };
  dns?: DnsHook;
  /** Teardowns waiting for a plugin (rm / disconnect -f go on without it). */
  pending?: PendingDeletes;
  /** Test-only crash points (TSNET_FAILPOINTS). */
  failpoint?: Failpoint;
  logger: Logger;
}

export class Attachments implements NetworkAttachments {
  constructor(private readonly d: AttachmentDeps) {}

  // ---- NetworkAttachments ---------------------------------------------------------------------

  async plan(rec: ContainerRecord): Promise<void> {
    const mode = parseNetworkMode(rec.hostConfig.NetworkMode);
    if (mode.kind !== 'networks') return;
    const requested = rec.networkingConfig.EndpointsConfig ?? {};
    const primary =
      !rec.hostConfig.NetworkMode || rec.hostConfig.NetworkMode === 'default' ? 'bridge' : rec.hostConfig.NetworkMode;
    const names = [primary, ...Object.keys(requested).filter((n) => n !== primary && n !== rec.hostConfig.NetworkMode)];
    for (const name of names) {
      const cfg = requested[name] ?? (name === primary ? requested[rec.hostConfig.NetworkMode ?? ''] : undefined) ?? null;
      const n = this.d.controller.get(name);
      const ep = this.planEndpoint(rec, n, cfg);
      rec.network.endpoints[n.id] = ep;
    }
    // Validate the published ports now (bad specs fail before anything is made).
    portRequests(rec.hostConfig.PortBindings, rec.hostConfig.PublishAllPorts ?? false, rec.config.ExposedPorts);
  }

  private planEndpoint(rec: ContainerRecord, n: NetworkRecord, cfg: EndpointSettingsRequest | null): EndpointState {
    if (n.driver === 'host' || n.driver === 'null') {
      throw new TsnetError(
        'TSNET_NETWORK_MODE',
        `container cannot be attached to the ${n.name} network together with other networks: use --network ${n.name} alone`,
      );
    }
    if (rec.network.endpoints[n.id]) {
      throw new TsnetError('TSNET_ENDPOINT_EXISTS', `container ${rec.name} is already connected to network ${n.name}`);
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

  async attachAll(rec: ContainerRecord, sandbox: Sandbox): Promise<void> {
    const rb = new Rollback();
    try {
      let index = 0;
      for (const ep of Object.values(rec.network.endpoints)) {
        await this.attachOne(rec, ep, sandbox, `eth${index++}`, rb);
      }
      await this.applyGateway(rec, sandbox);
      rb.commit();
      for (const ep of Object.values(rec.network.endpoints)) this.announce(ep.networkId, 'connect', rec);
    } catch (err) {
      await rb.unwind();
      throw err;
    }
    if (this.d.dns && this.wantsDns(rec)) await this.d.dns.ensure(rec, sandbox.file, true);
  }

  /** IP from IPAM, driver endpoint, driver join into the sandbox; undo pushed on `rb`. */
  private async attachOne(
    rec: ContainerRecord,
    ep: EndpointState,
    sandbox: Sandbox,
    ifname: string,
    rb: Rollback,
  ): Promise<void> {
    const n = this.d.controller.get(ep.networkId);
    // reserved before any await: a concurrent `network rm` now sees the network in use (or this
    // throws because the network is being removed)
    if (this.d.controller.reserveEndpoint(n.id, ep.endpointId, rec.name))
      rb.push(`forget endpoint ${ep.endpointId.slice(0, 12)}`, () => this.d.controller.releaseEndpoint(n.id, ep.endpointId));
    const driver = await this.d.controller.driverOf(n);
    const ipam = await this.d.controller.ipamOf(n);
    for (const pool of n.pools) {
      if (pool.v6 && !n.enableIPv6) continue;
      const want = pool.v6 ? ep.ipamConfig?.IPv6Address : ep.ipamConfig?.IPv4Address;
      if (want && !contains(pool.subnet, want)) continue;
      if ((pool.v6 ? ep.ipv6 : ep.ipv4) && !want) continue;
      const lease = await ipam
        .requestAddress(pool.poolId, {
          owner: ep.endpointId,
          ...(want ? { ip: want } : {}),
          ...(ep.mac ? { mac: ep.mac } : {}),
          options: { 'com.docker.network.endpoint.name': rec.name },
        })
        .catch((err: unknown) => {
          // several subnets of one family (as Docker): a full one passes to the next
          const next = n.pools.slice(n.pools.indexOf(pool) + 1).some((p) => p.v6 === pool.v6);
          if (!want && next && (err as TsnetError).code === 'TSNET_POOL_EXHAUSTED') return undefined;
          throw err;
        });
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
      containerId: rec.id,
      ...(ep.ipv4 ? { address: ep.ipv4 } : {}),
      ...(ep.ipv6 ? { addressV6: ep.ipv6 } : {}),
      ...(ep.mac ? { mac: ep.mac } : {}),
    };
    // global-scope drivers (overlay) publish the endpoint's DNS names to the other hosts
    const options = n.scope === 'global' ? endpointNameOptions(rec.name, ep.aliases) : {};
    // --driver-opt reaches the driver as top-level keys of CreateEndpoint's options (as Docker)
    const info = await driver.createEndpoint({ ...base, options: { ...ep.driverOpts, ...options } });
    rb.push(`delete endpoint ${ep.endpointId.slice(0, 12)}`, () => driver.deleteEndpoint(n.id, ep.endpointId));
    if (info.mac) ep.mac = info.mac;
    const join = await driver.join({
      ...base,
      ...(ep.mac ? { mac: ep.mac } : {}),
      sandboxKey: sandbox.file,
      netlink: sandbox.netlink,
      ifname,
      options,
    });
    rb.push(`leave ${n.name}`, () => driver.leave(n.id, ep.endpointId));
    await addLinkLocalIPs(sandbox.netlink, ifname, ep.ipamConfig?.LinkLocalIPs ?? []);
    this.d.failpoint?.('attach.after-join');
    ep.ifname = ifname;
    if (join.gateway) ep.gateway = join.gateway;
    else if (join.gatewayFromDriver || join.disableGatewayService || n.internal) delete ep.gateway;
    if (join.gatewayV6) ep.gateway6 = join.gatewayV6;
    else if (join.gatewayFromDriver) delete ep.gateway6;
  }

  private gatewayOf(rec: ContainerRecord): EndpointState | undefined {
    const cands = Object.values(rec.network.endpoints).map((ep) => {
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
    return pick ? Object.values(rec.network.endpoints).find((e) => e.endpointId === pick.endpointId) : undefined;
  }

  /** Point the sandbox's default route(s) at the gateway endpoint. */
  private async applyGateway(rec: ContainerRecord, sandbox: Sandbox): Promise<void> {
    const gw = this.gatewayOf(rec);
    const nl = sandbox.netlink;
    if (!gw) {
      await nl.delRoute({ dst: 'default', family: 4 });
      await nl.delRoute({ dst: 'default', family: 6 });
      delete rec.network.gatewayNetwork;
      return;
    }
    if (gw.gateway && gw.ifname) await nl.replaceRoute({ dst: 'default', family: 4, gateway: gw.gateway, dev: gw.ifname });
    else await nl.delRoute({ dst: 'default', family: 4 });
    if (gw.gateway6 && gw.ifname) await nl.replaceRoute({ dst: 'default', family: 6, gateway: gw.gateway6, dev: gw.ifname });
    rec.network.gatewayNetwork = gw.networkId;
  }

  async started(rec: ContainerRecord, sandbox: Sandbox): Promise<void> {
    await this.publishPorts(rec);
    if (this.d.dns && this.wantsDns(rec)) await this.d.dns.ensure(rec, sandbox.file);
  }

  private async publishPorts(rec: ContainerRecord): Promise<void> {
    const requests = portRequests(rec.hostConfig.PortBindings, rec.hostConfig.PublishAllPorts ?? false, rec.config.ExposedPorts);
    rec.network.ports = [];
    const gw = this.gatewayOf(rec);
    if (!gw) {
      if (requests.length)
        this.d.logger.warn(`container ${rec.name} publishes ports but has no network with a gateway: ports not published`);
      return;
    }
    const n = this.d.controller.get(gw.networkId);
    const driver = await this.d.controller.driverOf(n);
    if (!hasExternalConnectivity(driver)) return;
    // As Docker: the gateway endpoint's driver is programmed at every start, with or without
    // published ports (a plugin may set up outbound connectivity there); an empty list costs
    // the built-in bridge nothing.
    const mappings = requests.length ? await this.d.ports.reserve(rec.id, requests, portTarget(gw)) : [];
    this.d.failpoint?.('publish.after-reserve');
    try {
      const programmed = await driver.programExternalConnectivity(n.id, gw.endpointId, mappings);
      rec.network.ports = programmed.map((m) => ({
        proto: m.proto,
        hostIp: m.hostIp,
        hostPort: m.hostPort,
        containerPort: m.containerPort,
      }));
    } catch (err) {
      this.d.ports.release(rec.id);
      throw err;
    }
  }

  private async revokePorts(rec: ContainerRecord): Promise<void> {
    const gwNet = rec.network.gatewayNetwork;
    const gw = gwNet ? rec.network.endpoints[gwNet] : undefined;
    if (gw) {
      // Revoked at every stop, as Docker does, with or without published ports.
      const n = this.d.controller.find(gw.networkId);
      const driver = n ? await this.d.controller.driverOf(n).catch(() => undefined) : undefined;
      if (driver && hasExternalConnectivity(driver)) await driver.revokeExternalConnectivity(gw.networkId, gw.endpointId);
    }
    this.d.ports.release(rec.id);
    rec.network.ports = [];
  }

  async stopped(rec: ContainerRecord): Promise<void> {
    await this.revokePorts(rec);
  }

  async detachAll(rec: ContainerRecord, opts: LeaveOptions = {}): Promise<void> {
    const errors: string[] = [];
    // A stopped container's external connectivity was revoked when it stopped.
    if (rec.network.ports.length || this.d.containers.isRunning(rec))
      await this.revokePorts(rec).catch((e: Error) => errors.push(e.message));
    await this.d.dns?.stop(rec).catch((e: Error) => errors.push(e.message));
    for (const ep of Object.values(rec.network.endpoints)) {
      const outcome = await this.detachOne(ep, rec, opts).catch((e: Error) => {
        errors.push(e.message);
        return 'failed' as const;
      });
      this.announce(ep.networkId, 'disconnect', rec);
      // the container's endpoints go with it, whatever a driver said; one whose plugin did not
      // answer stays reserved as a pending delete until the plugin is told
      if (outcome !== 'pending') this.d.controller.releaseEndpoint(ep.networkId, ep.endpointId);
    }
    rec.network.endpoints = {};
    if (errors.length) this.d.logger.warn(`detach ${rec.name}: ${errors.join('; ')}`);
  }

  /**
   * Leave → DeleteEndpoint → ReleaseAddress (Docker's order). With `owner` (rm, disconnect -f),
   * a plugin that does not answer does not stop the teardown: what is left is kept as a pending
   * delete (retried when the plugin answers) and 'pending' is returned; the endpoint then stays
   * reserved on its network until that is done. Without `owner`, a failure is thrown.
   */
  private async detachOne(ep: EndpointState, owner?: ContainerRecord, opts: LeaveOptions = {}): Promise<'done' | 'pending'> {
    const n = this.d.controller.find(ep.networkId);
    if (!n) {
      this.d.controller.releaseEndpoint(ep.networkId, ep.endpointId);
      return 'done';
    }
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
        containerId: owner.id,
        containerName: owner.name,
        steps,
        addresses,
        ...(ep.mac ? { mac: ep.mac } : {}),
        since: new Date().toISOString(),
        lastError: (err as Error).message,
        attempts: 1,
      });
      return 'pending';
    }
    this.d.controller.releaseEndpoint(n.id, ep.endpointId);
    return 'done';
  }

  /** `disconnect -f` when the driver cannot do it (network gone, plugin away): the interface goes. */
  private async removeInterface(rec: ContainerRecord, ep: EndpointState): Promise<void> {
    const file = rec.network.sandboxKey;
    if (!ep.ifname || !file || !this.d.sandboxes.exists(file)) return;
    const sandbox = this.d.sandboxes.handle(file);
    try {
      await sandbox.netlink.deleteLink(ep.ifname);
    } finally {
      sandbox.close();
    }
  }

  hostEntries(rec: ContainerRecord): HostEntry[] {
    const names = [rec.config.Hostname];
    const out: HostEntry[] = [];
    for (const ep of Object.values(rec.network.endpoints)) {
      if (ep.ipv4) out.push({ ip: ep.ipv4.split('/')[0]!, names });
      if (ep.ipv6) out.push({ ip: ep.ipv6.split('/')[0]!, names });
    }
    out.push(...(rec.network.linkHosts ?? []));
    return out;
  }

  embeddedDns(rec: ContainerRecord): boolean {
    return this.wantsDns(rec);
  }

  private wantsDns(rec: ContainerRecord): boolean {
    return Object.values(rec.network.endpoints).some((ep) => !this.d.controller.find(ep.networkId)?.predefined);
  }

  private announce(networkId: string, action: 'connect' | 'disconnect', rec: ContainerRecord): void {
    const n = this.d.controller.find(networkId);
    if (n) this.d.controller.announce(n, action, { container: rec.id });
  }

  // ---- live connect / disconnect --------------------------------------------------------------

  async connect(rec: ContainerRecord, networkRef: string, cfg: EndpointSettingsRequest | null): Promise<void> {
    if (rec.network.mode !== 'networks') {
      throw new TsnetError(
        'TSNET_NETWORK_MODE',
        `container ${rec.name} uses --network ${rec.hostConfig.NetworkMode}: it cannot be connected to other networks`,
      );
    }
    const n = this.d.controller.get(networkRef);
    const ep = this.planEndpoint(rec, n, cfg);
    const file = rec.network.sandboxKey;
    if (!file || !this.d.sandboxes.exists(file))
      throw new TsnetError('TSNET_INTERNAL', `container ${rec.name} has no network sandbox`);
    const used = new Set(Object.values(rec.network.endpoints).map((e) => e.ifname));
    let i = 0;
    while (used.has(`eth${i}`)) i++;
    const oldGateway = rec.network.gatewayNetwork;
    const sandbox = this.d.sandboxes.handle(file);
    const rb = new Rollback();
    try {
      await this.attachOne(rec, ep, sandbox, `eth${i}`, rb);
      rec.network.endpoints[n.id] = ep;
      rb.push('forget endpoint', () => delete rec.network.endpoints[n.id]);
      this.d.failpoint?.('connect.after-attach');
      await this.moveConnectivity(rec, sandbox, oldGateway);
      await this.d.containers.save(rec);
      rb.commit();
    } catch (err) {
      await rb.unwind();
      throw err;
    } finally {
      sandbox.close();
    }
    this.announce(n.id, 'connect', rec);
    await this.d.containers.refreshHosts(rec, this.hostEntries(rec));
    if (this.d.dns && this.wantsDns(rec)) await this.d.dns.ensure(rec, file);
  }

  async disconnect(rec: ContainerRecord, networkRef: string, force: boolean): Promise<void> {
    const n = this.d.controller.find(networkRef);
    const ep = n
      ? rec.network.endpoints[n.id]
      : Object.values(rec.network.endpoints).find((e) => e.networkName === networkRef || e.networkId.startsWith(networkRef));
    // As Docker: -f does not make "not connected" a success (a second disconnect -f answers 404).
    if (!ep) throw new TsnetError('TSNET_ENDPOINT_NOT_FOUND', `container ${rec.name} is not connected to network ${networkRef}`);
    const oldGateway = rec.network.gatewayNetwork;
    if (oldGateway === ep.networkId) await this.revokePorts(rec);
    // intent before effect: the record no longer has the endpoint before the kernel loses it, so
    // a crash from here on leaves only objects no record explains (swept, IPAM reconciled)
    delete rec.network.endpoints[ep.networkId];
    if (oldGateway === ep.networkId) delete rec.network.gatewayNetwork;
    await this.d.containers.save(rec);
    this.d.failpoint?.('disconnect.after-record');
    let outcome: 'done' | 'pending' | 'failed' = 'failed';
    try {
      outcome = await this.detachOne(ep, force ? rec : undefined);
    } catch (err) {
      if (!force) {
        // the driver refused: the endpoint stays, as it was
        rec.network.endpoints[ep.networkId] = ep;
        if (oldGateway) rec.network.gatewayNetwork = oldGateway;
        await this.d.containers.save(rec);
        throw err;
      }
      this.d.logger.warn(`disconnect -f ${rec.name} from ${ep.networkName}: ${(err as Error).message}; removing its interface`);
    }
    // -f: whatever the driver did, the container's interface and its record go
    if (force) await this.removeInterface(rec, ep);
    if (outcome !== 'pending') this.d.controller.releaseEndpoint(ep.networkId, ep.endpointId);
    this.announce(ep.networkId, 'disconnect', rec);
    const file = rec.network.sandboxKey;
    if (file && this.d.sandboxes.exists(file)) {
      const sandbox = this.d.sandboxes.handle(file);
      try {
        await this.moveConnectivity(rec, sandbox, oldGateway === ep.networkId ? undefined : oldGateway);
      } finally {
        sandbox.close();
      }
    }
    await this.d.containers.save(rec);
    await this.d.containers.refreshHosts(rec, this.hostEntries(rec));
    if (this.d.dns && !this.wantsDns(rec)) await this.d.dns.stop(rec);
  }

  /** After the endpoint set changed: default route and published ports follow the gateway rule. */
  private async moveConnectivity(rec: ContainerRecord, sandbox: Sandbox, oldGateway: string | undefined): Promise<void> {
    await this.applyGateway(rec, sandbox);
    if (rec.network.gatewayNetwork === oldGateway) return;
    if (!this.d.containers.isRunning(rec)) return;
    if (oldGateway && rec.network.endpoints[oldGateway]) {
      const saved = rec.network.gatewayNetwork;
      rec.network.gatewayNetwork = oldGateway;
      await this.revokePorts(rec);
      if (saved) rec.network.gatewayNetwork = saved;
      else delete rec.network.gatewayNetwork;
    }
    await this.publishPorts(rec);
  }

  /** After a daemon restart: running containers get their port reservations back. */
  async adoptRunning(rec: ContainerRecord): Promise<void> {
    const gw = rec.network.gatewayNetwork ? rec.network.endpoints[rec.network.gatewayNetwork] : undefined;
    if (rec.network.ports.length) await this.d.ports.adopt(rec.id, rec.network.ports, portTarget(gw));
    if (this.d.dns && rec.network.sandboxKey && this.wantsDns(rec)) await this.d.dns.ensure(rec, rec.network.sandboxKey);
  }
}

/** The addresses published ports lead to (the gateway endpoint's, without prefix). */
function portTarget(ep: EndpointState | undefined): PortTarget {
  const ipv4 = ep?.ipv4?.split('/')[0];
  const ipv6 = ep?.ipv6?.split('/')[0];
  return { ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) };
}
