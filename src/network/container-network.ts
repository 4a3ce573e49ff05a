/**
 * Sandboxes of containers, by sandbox id: the operations the runtime calls (ContainerNetworking).
 * A sandbox is either provided by a network mode driver (host, none, container:<ref>) or holds
 * endpoints on networks (the attachments). Records are written by the controller only.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { TsnetError } from '../errors/index.js';
import type { Logger } from '../lib/logger.js';
import { timed } from '../errors/rollback.js';
import type { Attachments } from './attachments.js';
import type {
  ContainerLookup,
  ContainerNetworkState,
  ContainerNetworking,
  EndpointSettingsRequest,
  EndpointState,
  InterfaceCounters,
  SandboxPlan,
  SandboxRequest,
  SandboxSetup,
} from './container-api.js';
import type { NetworkController } from './controller.js';
import type { ModeContext, NetworkModeDriver } from './driver-api.js';
import { resolvConf, type HostEntry } from './etc-entries.js';
import { legacyLinkSetup, planLegacyLinks, removeLegacyLink, type LinkContext } from './links.js';
import type { Sandbox, Sandboxes } from './sandbox.js';
import type { SandboxOptions, SandboxRecord } from './sandbox-record.js';

export interface ContainerNetworkDeps {
  controller: NetworkController;
  sandboxes: Sandboxes;
  attachments: Attachments;
  /** host, none, container: the network modes that are not endpoints on networks. */
  modes: NetworkModeDriver[];
  hostResolvConf?: string;
  logger: Logger;
}

export class ContainerNetwork implements ContainerNetworking {
  private readonly ctx: ModeContext;
  /**
   * Sandboxes made by createSandbox, open until the join that follows (or a delete): the netns
   * handle and its one netlink socket serve the whole create (lo, veths, addresses, routes).
   */
  private readonly opened = new Map<string, Sandbox>();

  constructor(private readonly d: ContainerNetworkDeps) {
    this.ctx = {
      containers: () => undefined,
      sandbox: (id) => d.controller.sandbox(id),
      isActive: (id) => d.controller.isActive(id),
      ownSetup: (sb) => this.ownSetup(sb),
      setupOf: (sb) => this.setupOf(sb),
    };
  }

  /** The mode driver of a NetworkMode: by its syntax (container:<ref>), else by the network it names. */
  private modeFor(networkMode: string | undefined): NetworkModeDriver | undefined {
    const m = networkMode ?? 'default';
    const claimed = this.d.modes.find((x) => x.claims?.(m));
    if (claimed) return claimed;
    const n = this.d.controller.find(m);
    return n ? this.d.controller.modeDriverOf(n) : undefined;
  }

  private modeOf(sb: SandboxRecord): NetworkModeDriver | undefined {
    return this.d.modes.find((x) => x.mode === sb.mode);
  }

  private get(sandboxId: string): SandboxRecord {
    const sb = this.d.controller.sandbox(sandboxId);
    if (!sb) throw new TsnetError('TSNET_INTERNAL', `sandbox ${sandboxId.slice(0, 12)} not found`);
    return sb;
  }

  async plan(req: SandboxRequest, containers: ContainerLookup): Promise<SandboxPlan> {
    const mode = this.modeFor(req.networkMode);
    const others = Object.keys(req.endpointsConfig).filter((n) => n !== req.networkMode);
    if (mode && others.length) {
      throw new TsnetError(
        'TSNET_NETWORK_MODE',
        `container cannot be connected to other networks when its network mode is ${req.networkMode}`,
      );
    }
    const id = crypto.randomBytes(32).toString('hex');
    const record: SandboxRecord = {
      id,
      containerId: req.containerId,
      containerName: req.containerName,
      mode: mode?.mode ?? 'networks',
      options: optionsOf(req),
      ports: [],
    };
    const links = planLegacyLinks(req, this.linkContext(containers));
    if (links) record.links = links;
    if (mode) {
      const p = mode.plan(req, { ...this.ctx, containers });
      if (p.sharedWith) record.sharedWith = p.sharedWith;
      // Docker ignores published ports without a network of their own (host/none)
      if (p.ignoresPorts) {
        delete record.options.portBindings;
        delete record.options.publishAll;
      }
      return { sandboxId: id, ignoresPorts: p.ignoresPorts, record, endpoints: [] };
    }
    return { sandboxId: id, ignoresPorts: false, record, endpoints: await this.d.attachments.plan(req) };
  }

  private linkContext(containers: ContainerLookup): LinkContext {
    return {
      containers,
      sandbox: (id) => this.d.controller.sandbox(id),
      isActive: (id) => this.d.controller.isActive(id),
      bridgeEndpoint: (id) => this.d.controller.endpointsOf(id).find((e) => e.networkName === 'bridge'),
    };
  }

  private ownsNetns(sb: SandboxRecord): boolean {
    return this.modeOf(sb)?.ownNetns ?? true;
  }

  hasSandbox(sandboxId: string): boolean {
    return this.d.controller.sandbox(sandboxId) !== undefined;
  }

  async createSandbox(plan: SandboxPlan): Promise<void> {
    const sb: SandboxRecord = structuredClone(plan.record);
    // with the embedded resolver, a pool entry may have its sockets and rules ready (decision 44)
    const dns = sb.mode === 'networks' && this.d.attachments.plansDns(plan.endpoints);
    const sandbox = this.ownsNetns(sb) ? await timed('sandbox: netns', () => this.d.sandboxes.create(sb.id, { dns })) : undefined;
    if (sandbox) sb.key = sandbox.file;
    try {
      // endpoints on networks: the join saves the record with them (its one commit); a network
      // mode driver's sandbox (host, none, container) has no join that would
      if (sb.mode === 'networks') this.d.controller.holdSandbox(sb);
      else await timed('sandbox: save record', () => this.d.controller.saveSandbox(sb));
    } catch (err) {
      sandbox?.close();
      if (sb.key) this.d.sandboxes.remove(sb.key);
      throw err;
    }
    if (sandbox) this.opened.set(sb.id, sandbox);
  }

  /** The open sandbox a create made (taken), or a new handle of an existing one. */
  private takeOpened(sb: SandboxRecord, file: string): Sandbox {
    const open = this.opened.get(sb.id);
    this.opened.delete(sb.id);
    return open && open.file === file ? open : this.d.sandboxes.handle(file);
  }

  private closeOpened(id: string): void {
    this.opened.get(id)?.close();
    this.opened.delete(id);
  }

  async join(sandboxId: string, endpoints: readonly EndpointState[]): Promise<void> {
    const sb = this.get(sandboxId);
    if (sb.mode !== 'networks' || !sb.key) {
      this.closeOpened(sandboxId);
      return;
    }
    const sandbox = this.takeOpened(sb, sb.key);
    try {
      // only a create joins: its container record, saved next, is the durable commit (decision 36)
      await this.d.attachments.attachAll(sb, endpoints, sandbox, false);
    } finally {
      sandbox.close();
    }
  }

  async leave(sandboxId: string): Promise<void> {
    const sb = this.d.controller.sandbox(sandboxId);
    if (!sb) return;
    const sandbox = sb.key && this.d.sandboxes.exists(sb.key) ? this.takeOpened(sb, sb.key) : undefined;
    try {
      await this.d.attachments.detachAll(sb, sandbox ? { sandbox } : {});
    } finally {
      sandbox?.close();
    }
  }

  /**
   * Tracked by the controller from this call on (noteSandboxRemoval): its caller may not wait for
   * it. `after`: begun once that resolves.
   */
  deleteSandbox(sandboxId: string, after?: Promise<void>): Promise<void> {
    const sb = this.d.controller.sandbox(sandboxId);
    if (!sb) return Promise.resolve();
    // (deferred — the teardown after a `run --rm` answered — its waits are off the daemon's thread)
    const done = after ? after.then(() => this.deleteNow(sb, true)) : this.deleteNow(sb);
    this.d.controller.noteSandboxRemoval(sb.id, done);
    return done;
  }

  private async deleteNow(sb: SandboxRecord, behind = false): Promise<void> {
    // the interfaces die with the netns (no delete one by one) unless a joiner keeps it alive
    const sandboxRemoved = sb.key !== undefined && !this.d.controller.sandboxList().some((x) => x.sharedWith === sb.id);
    if (this.d.controller.endpointsOf(sb.id).length) {
      // drivers that take an interface out do it through the sandbox's socket (opened on first use)
      const sandbox = sb.key && this.d.sandboxes.exists(sb.key) ? this.takeOpened(sb, sb.key) : undefined;
      try {
        await this.d.attachments.detachAll(sb, { sandboxRemoved, ...(sandbox ? { sandbox } : {}) }, behind);
      } finally {
        sandbox?.close();
      }
    }
    this.closeOpened(sb.id);
    if (sb.key) await (behind ? this.d.sandboxes.removeAsync(sb.key) : this.d.sandboxes.remove(sb.key));
    await this.d.controller.removeSandbox(sb.id, behind);
  }

  async programExternalConnectivity(sandboxId: string, containers: ContainerLookup): Promise<SandboxSetup> {
    const sb = this.get(sandboxId);
    const mode = this.modeOf(sb);
    if (sb.links?.length) {
      // checked before anything is wired: a link target that is not running fails the start
      const { hosts, env } = legacyLinkSetup(sb, this.linkContext(containers));
      if (JSON.stringify([hosts, env]) !== JSON.stringify([sb.linkHosts, sb.linkEnv])) {
        sb.linkHosts = hosts;
        sb.linkEnv = env;
        await this.d.controller.saveSandbox(sb);
      }
    }
    if (this.ownsNetns(sb)) {
      // After a reboot the netns is gone: make it again and re-attach the endpoints.
      const fresh = !sb.key || !this.d.sandboxes.exists(sb.key);
      const sandbox: Sandbox = fresh ? await this.d.sandboxes.create(sb.id) : this.d.sandboxes.handle(sb.key!);
      try {
        if (fresh) {
          sb.key = sandbox.file;
          await this.d.controller.saveSandbox(sb);
          if (sb.mode === 'networks') await this.d.attachments.attachAll(sb, [], sandbox);
        }
        if (sb.mode === 'networks') await this.d.attachments.started(sb, sandbox);
      } finally {
        sandbox.close();
      }
    }
    const setup = mode ? mode.setup(sb, this.ctx) : this.ownSetup(sb);
    this.d.controller.setActive(sb.id, true);
    return sb.linkEnv?.length ? { ...setup, linkEnv: sb.linkEnv } : setup;
  }

  async revokeExternalConnectivity(sandboxId: string): Promise<void> {
    const sb = this.d.controller.sandbox(sandboxId);
    if (!sb) return;
    this.d.controller.setActive(sb.id, false);
    if (sb.mode === 'networks') await this.d.attachments.stopped(sb);
  }

  async connect(sandboxId: string, networkRef: string, cfg: EndpointSettingsRequest | null): Promise<HostEntry[]> {
    const sb = this.get(sandboxId);
    if (sb.mode !== 'networks') {
      throw new TsnetError(
        'TSNET_NETWORK_MODE',
        `container ${sb.containerName} uses --network ${this.modeName(sb)}: it cannot be connected to other networks`,
      );
    }
    await this.d.attachments.connect(sb, networkRef, cfg);
    return this.d.attachments.hostEntries(sb);
  }

  private modeName(sb: SandboxRecord): string {
    if (sb.mode !== 'container') return sb.mode;
    const target = this.d.controller.sandbox(sb.sharedWith ?? '');
    return `container:${target?.containerName ?? sb.sharedWith?.slice(0, 12)}`;
  }

  async disconnect(sandboxId: string, networkRef: string, force: boolean): Promise<HostEntry[]> {
    const sb = this.get(sandboxId);
    await this.d.attachments.disconnect(sb, networkRef, force);
    return this.d.attachments.hostEntries(sb);
  }

  async removeLink(sandboxId: string, alias: string): Promise<HostEntry[] | undefined> {
    const sb = this.get(sandboxId);
    if (!removeLegacyLink(sb, alias)) return undefined;
    await this.d.controller.saveSandbox(sb);
    return this.d.attachments.hostEntries(sb);
  }

  async rename(sandboxId: string, name: string): Promise<void> {
    await this.d.controller.renameSandbox(sandboxId, name);
  }

  viewRevision(sandboxId: string): number {
    return this.d.controller.revision(sandboxId);
  }

  view(sandboxId: string): ContainerNetworkState {
    const sb = this.d.controller.sandbox(sandboxId);
    if (!sb) return { mode: 'none', endpoints: {}, ports: [] };
    const endpoints: Record<string, EndpointState> = {};
    for (const ep of this.d.controller.endpointsOf(sb.id)) {
      const { id: _id, sandboxId: _sb, containerId: _c, containerName: _n, state: _s, seq: _q, ...state } = ep;
      endpoints[ep.networkId] = state;
    }
    return {
      mode: sb.mode,
      ...(sb.mode === 'container' && sb.sharedWith
        ? { sharedWith: this.d.controller.sandbox(sb.sharedWith)?.containerId ?? '' }
        : {}),
      ...(sb.key ? { sandboxKey: sb.key } : {}),
      endpoints,
      ...(sb.gatewayNetwork ? { gatewayNetwork: sb.gatewayNetwork } : {}),
      ports: this.d.controller.isActive(sb.id) ? sb.ports : [],
      ...(sb.links ? { links: sb.links } : {}),
      ...(sb.linkEnv ? { linkEnv: sb.linkEnv } : {}),
      ...(sb.linkHosts ? { linkHosts: sb.linkHosts } : {}),
    };
  }

  async reconcile(live: ReadonlyArray<{ sandboxId: string; running: boolean }>): Promise<void> {
    const byId = new Map(live.map((l) => [l.sandboxId, l.running]));
    for (const sb of this.d.controller.sandboxList()) {
      const running = byId.get(sb.id);
      if (running === undefined) {
        // a create the daemon did not live to commit (or a container record lost): the records
        // go; the kernel objects and addresses they explained are swept and reconciled
        await this.d.controller.removeSandbox(sb.id);
        this.d.logger.info(`dropped the records of sandbox ${sb.id.slice(0, 12)} (${sb.containerName}): no container`);
        continue;
      }
      this.d.controller.setActive(sb.id, running);
      if (!running && sb.ports.length) {
        // ports a start programmed before the daemon died: the container is not running
        sb.ports = [];
        await this.d.controller.saveSandbox(sb);
      }
    }
  }

  async adoptRunning(sandboxId: string): Promise<void> {
    const sb = this.d.controller.sandbox(sandboxId);
    if (sb?.mode === 'networks') await this.d.attachments.adoptRunning(sb);
  }

  async migrate(req: SandboxRequest, old: ContainerNetworkState, running: boolean): Promise<string> {
    const id = crypto.randomBytes(32).toString('hex');
    // container mode pointed at a container id: now at that container's sandbox (migrated first)
    const target = old.sharedWith ? this.d.controller.sandboxList().find((x) => x.containerId === old.sharedWith) : undefined;
    const sb: SandboxRecord = {
      id,
      containerId: req.containerId,
      containerName: req.containerName,
      mode: old.mode,
      ...(old.mode === 'container' ? { sharedWith: target?.id ?? '' } : {}),
      ...(old.sandboxKey ? { key: old.sandboxKey } : {}),
      options: optionsOf(req),
      ...(old.gatewayNetwork ? { gatewayNetwork: old.gatewayNetwork } : {}),
      ports: running ? old.ports : [],
      ...(old.links ? { links: old.links } : {}),
      ...(old.linkEnv ? { linkEnv: old.linkEnv } : {}),
      ...(old.linkHosts ? { linkHosts: old.linkHosts } : {}),
    };
    await this.d.controller.saveSandbox(sb);
    let seq = 0;
    for (const ep of Object.values(old.endpoints)) {
      await this.d.controller.saveEndpoint({
        ...ep,
        id: ep.endpointId,
        sandboxId: id,
        containerId: req.containerId,
        containerName: req.containerName,
        state: 'active',
        seq: seq++,
      });
    }
    return id;
  }

  sandboxKeys(): Set<string> {
    return new Set(
      this.d.controller
        .sandboxList()
        .map((sb) => sb.key)
        .filter((k): k is string => Boolean(k)),
    );
  }

  async interfaceStats(sandboxId: string): Promise<Record<string, InterfaceCounters>> {
    const sb = this.d.controller.sandbox(sandboxId);
    if (!sb) return {};
    const mode = this.modeOf(sb);
    const owner = mode ? mode.netnsOwner(sb, this.ctx) : sb;
    const file = owner?.key;
    if (!file || !this.d.sandboxes.exists(file)) return {};
    return this.d.sandboxes.interfaceStats(file);
  }

  /** What tsnet-init needs for any sandbox. */
  private setupOf(sb: SandboxRecord): SandboxSetup {
    const mode = this.modeOf(sb);
    return mode ? mode.setup(sb, this.ctx) : this.ownSetup(sb);
  }

  /** A sandbox with a netns of its own: its endpoints' /etc/hosts entries and resolv.conf. */
  private ownSetup(sb: SandboxRecord): SandboxSetup {
    const hostResolv = this.d.hostResolvConf ?? readOr('/etc/resolv.conf', '');
    const o = sb.options;
    return {
      ...(sb.key ? { netnsPath: sb.key } : {}),
      shareHostUts: false,
      hosts: sb.mode === 'networks' ? this.d.attachments.hostEntries(sb) : [],
      resolvConf: resolvConf(hostResolv, {
        embedded: sb.mode === 'networks' && this.d.attachments.wantsDns(sb),
        ...(o.dns?.length ? { dns: o.dns } : {}),
        ...(o.dnsSearch?.length ? { search: o.dnsSearch } : {}),
        ...(o.dnsOptions?.length ? { options: o.dnsOptions } : {}),
      }),
    };
  }
}

/** Docker's sandbox options from a create request. */
function optionsOf(req: SandboxRequest): SandboxOptions {
  return {
    hostname: req.hostname,
    ...(req.portBindings ? { portBindings: req.portBindings } : {}),
    ...(req.publishAll ? { publishAll: true } : {}),
    ...(req.exposedPorts ? { exposedPorts: req.exposedPorts } : {}),
    ...(req.dns?.length ? { dns: req.dns } : {}),
    ...(req.dnsSearch?.length ? { dnsSearch: req.dnsSearch } : {}),
    ...(req.dnsOptions?.length ? { dnsOptions: req.dnsOptions } : {}),
  };
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}
