/**
 * The network side of a container: its mode (none, host, container:<x>, or networks), its
 * sandbox, and what goes into /etc/hosts and /etc/resolv.conf. User networks (bridge and
 * others) are handed to the attachments given at construction.
 */
import fs from 'node:fs';
import { TsnetError } from '../errors/index.js';
import type {
  ContainerNetworking,
  InterfaceCounters,
  NetworkedContainer as ContainerRecord,
  SandboxSetup,
} from './container-api.js';
import { resolvConf, type HostEntry } from './etc-entries.js';
import { legacyLinkSetup, planLegacyLinks } from './links.js';
import { parseNetworkMode } from './network-mode.js';
import type { Sandbox, Sandboxes } from './sandbox.js';

/** What user-defined networks (bridge etc.) do for a container. */
export interface NetworkAttachments {
  plan(rec: ContainerRecord): Promise<void>;
  /** Create endpoints and wire them into the sandbox (netns file). */
  attachAll(rec: ContainerRecord, sandbox: Sandbox): Promise<void>;
  /** Re-wire after a reboot/daemon restart when the sandbox was recreated; also publish ports. */
  started(rec: ContainerRecord, sandbox: Sandbox): Promise<void>;
  stopped(rec: ContainerRecord): Promise<void>;
  /** `sandboxRemoved`: the caller destroys the sandbox right after (see LeaveOptions). */
  detachAll(rec: ContainerRecord, opts?: { sandboxRemoved?: boolean }): Promise<void>;
  hostEntries(rec: ContainerRecord): HostEntry[];
  /** Does any network of the container have the embedded DNS? */
  embeddedDns(rec: ContainerRecord): boolean;
}

export interface ContainerNetworkDeps {
  sandboxes: Sandboxes;
  lookup: (ref: string) => ContainerRecord | undefined;
  /** Does another container share this container's network namespace (`--network container:`)? */
  sharedBy?: (id: string) => boolean;
  attachments?: NetworkAttachments;
  hostResolvConf?: string;
  hostHosts?: string;
}

export class ContainerNetwork implements ContainerNetworking {
  constructor(private readonly d: ContainerNetworkDeps) {}

  async plan(rec: ContainerRecord): Promise<void> {
    await this.planMode(rec);
    const links = planLegacyLinks(rec, this.d.lookup);
    if (links) rec.network.links = links;
  }

  private async planMode(rec: ContainerRecord): Promise<void> {
    const mode = parseNetworkMode(rec.hostConfig.NetworkMode);
    const others = Object.keys(rec.networkingConfig.EndpointsConfig ?? {}).filter((n) => n !== rec.hostConfig.NetworkMode);
    if (mode.kind !== 'networks' && others.length) {
      throw new TsnetError(
        'TSNET_NETWORK_MODE',
        `container cannot be connected to other networks when its network mode is ${rec.hostConfig.NetworkMode}`,
      );
    }
    const hasPorts = Object.values(rec.hostConfig.PortBindings ?? {}).some((b) => b?.length) || rec.hostConfig.PublishAllPorts;
    switch (mode.kind) {
      case 'none':
      case 'host':
        // Docker ignores published ports without a network of their own (host/none).
        if (hasPorts) rec.hostConfig.PortBindings = {};
        rec.network = { mode: mode.kind, endpoints: {}, ports: [] };
        return;
      case 'container': {
        const target = this.d.lookup(mode.ref);
        if (!target)
          throw new TsnetError(
            'TSNET_CONTAINER_NOT_FOUND',
            `No such container: ${mode.ref} (in --network container:${mode.ref})`,
          );
        if (hasPorts)
          throw new TsnetError(
            'TSNET_NETWORK_MODE',
            'conflicting options: port publishing and the container network mode (publish ports on the other container)',
          );
        rec.network = { mode: 'container', sharedWith: target.id, endpoints: {}, ports: [] };
        return;
      }
      case 'networks':
        if (!this.d.attachments)
          throw new TsnetError('TSNET_NETWORK_MODE', 'no network drivers are configured: use --network none or --network host');
        rec.network = { mode: 'networks', endpoints: {}, ports: [] };
        await this.d.attachments.plan(rec);
        return;
    }
  }

  async create(rec: ContainerRecord): Promise<void> {
    if (rec.network.mode !== 'none' && rec.network.mode !== 'networks') return;
    const sandbox = await this.d.sandboxes.create(rec.id);
    rec.network.sandboxKey = sandbox.file;
    try {
      if (rec.network.mode === 'networks') await this.d.attachments!.attachAll(rec, sandbox);
    } catch (err) {
      sandbox.close();
      this.d.sandboxes.remove(sandbox.file);
      delete rec.network.sandboxKey;
      throw err;
    }
    sandbox.close();
  }

  async prepare(rec: ContainerRecord): Promise<SandboxSetup> {
    if (rec.network.mode === 'container') {
      const target = this.d.lookup(rec.network.sharedWith ?? '');
      if (!target) {
        throw new TsnetError(
          'TSNET_CONTAINER_NOT_FOUND',
          `cannot join the network of container ${rec.network.sharedWith?.slice(0, 12)}: No such container (it was removed; re-create ${rec.name} with another --network)`,
        );
      }
      if (target.state.Status !== 'running') {
        throw new TsnetError(
          'TSNET_CONTAINER_NOT_RUNNING',
          `cannot join the network of container ${target.name}: it is not running (start ${target.name} first)`,
        );
      }
      // The target's sandbox as it is: its ports, routes and DNS belong to the target's own start.
      // A target that itself shares another container's network leads to that one's sandbox.
      let owner = target;
      for (let hops = 0; owner.network.mode === 'container' && hops < 16; hops++) {
        const next = this.d.lookup(owner.network.sharedWith ?? '');
        if (!next) break;
        owner = next;
      }
      if (owner.network.mode === 'container')
        throw new TsnetError(
          'TSNET_CONTAINER_NOT_FOUND',
          `cannot join the network of container ${target.name}: its network owner is gone`,
        );
      return { ...this.setupOf(owner), shareHostUts: false };
    }
    if (rec.network.links?.length) {
      // checked before anything is wired: a link target that is not running fails the start
      const { hosts, env } = legacyLinkSetup(rec, this.d.lookup);
      rec.network.linkHosts = hosts;
      rec.network.linkEnv = env;
    }
    if (rec.network.mode === 'none' || rec.network.mode === 'networks') {
      const file = rec.network.sandboxKey;
      // After a reboot the netns is gone: make it again and re-attach.
      const fresh = !file || !this.d.sandboxes.exists(file);
      const sandbox = fresh ? await this.d.sandboxes.create(rec.id) : this.d.sandboxes.handle(file);
      rec.network.sandboxKey = sandbox.file;
      try {
        if (fresh && rec.network.mode === 'networks') await this.d.attachments!.attachAll(rec, sandbox);
        if (rec.network.mode === 'networks') await this.d.attachments!.started(rec, sandbox);
      } finally {
        sandbox.close();
      }
    }
    return this.setupOf(rec);
  }

  /** What tsnet-init needs to join a container's network; no side effect. */
  private setupOf(rec: ContainerRecord): SandboxSetup {
    const hostResolv = this.d.hostResolvConf ?? readOr('/etc/resolv.conf', '');
    if (rec.network.mode === 'host') {
      return { shareHostUts: true, hosts: [], hostsText: this.d.hostHosts ?? readOr('/etc/hosts', ''), resolvConf: hostResolv };
    }
    const entries: HostEntry[] = rec.network.mode === 'networks' ? this.d.attachments!.hostEntries(rec) : [];
    const embedded = rec.network.mode === 'networks' && this.d.attachments!.embeddedDns(rec);
    return {
      ...(rec.network.sandboxKey ? { netnsPath: rec.network.sandboxKey } : {}),
      shareHostUts: false,
      hosts: entries,
      resolvConf: resolvConf(hostResolv, {
        embedded,
        ...(rec.hostConfig.Dns?.length ? { dns: rec.hostConfig.Dns } : {}),
        ...(rec.hostConfig.DnsSearch?.length ? { search: rec.hostConfig.DnsSearch } : {}),
        ...(rec.hostConfig.DnsOptions?.length ? { options: rec.hostConfig.DnsOptions } : {}),
      }),
    };
  }

  async released(rec: ContainerRecord): Promise<void> {
    if (rec.network.mode === 'networks') await this.d.attachments!.stopped(rec);
  }

  async interfaceStats(rec: ContainerRecord): Promise<Record<string, InterfaceCounters>> {
    const owner = rec.network.mode === 'container' ? this.d.lookup(rec.network.sharedWith ?? '') : rec;
    const file = owner?.network.sandboxKey;
    if (!file || !this.d.sandboxes.exists(file)) return {};
    return this.d.sandboxes.interfaceStats(file);
  }

  async remove(rec: ContainerRecord): Promise<void> {
    // the interfaces go with the namespace unless a joiner keeps it alive
    const sandboxRemoved = rec.network.sandboxKey !== undefined && this.d.sharedBy !== undefined && !this.d.sharedBy(rec.id);
    if (rec.network.mode === 'networks') await this.d.attachments!.detachAll(rec, { sandboxRemoved });
    if (rec.network.sandboxKey) this.d.sandboxes.remove(rec.network.sandboxKey);
  }
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}
