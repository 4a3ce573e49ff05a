/**
 * The network controller: networks (create, inspect, remove, prune) and their drivers and IPAM.
 * Container endpoints are in attachments.ts. Validation first, then steps with undo (rule 1).
 */
import crypto from 'node:crypto';
import { TsnetError } from '../errors/index.js';
import { Rollback } from '../errors/rollback.js';
import type { Logger } from '../daemon/logger.js';
import type { IpamDriver, PoolLease } from '../ipam/ipam-api.js';
import type { ContainerRecord } from '../runtime/container/types.js';
import type { RecordStore } from '../store/record-store.js';
import { KeyedMutex } from '../lib/keyed-mutex.js';
import { isRestorable, type NetworkDriver } from './driver-api.js';
import { networkJson, networkSpec, type IpamConfigEntry, type NetworkRecord, type PoolRef } from './network-record.js';

export interface NetworkCreateBody {
  Name?: string;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  EnableIPv6?: boolean;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
  IPAM?: { Driver?: string; Options?: Record<string, string> | null; Config?: IpamConfigEntry[] | null } | null;
  CheckDuplicate?: boolean;
  Ingress?: boolean;
  Scope?: string;
}

export interface DriverSource {
  /** Built-in drivers first, then plugins; throws TSNET_DRIVER_NOT_FOUND. */
  network(name: string): Promise<NetworkDriver>;
  ipam(name: string): Promise<IpamDriver>;
  builtinNames(): string[];
}

export interface ControllerDeps {
  store: RecordStore<NetworkRecord>;
  drivers: DriverSource;
  containers: () => ContainerRecord[];
  /** CIDRs a default-pool subnet must avoid (host routes, nameservers). */
  avoid: () => Promise<string[]>;
  defaultBridgeName: string;
  logger: Logger;
}

export const PREDEFINED = ['bridge', 'host', 'none'];
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export class NetworkController {
  private readonly networks = new Map<string, NetworkRecord>();
  private readonly locks = new KeyedMutex();

  constructor(private readonly d: ControllerDeps) {}

  /** Load records and make the predefined networks (bridge, host, none) when missing. */
  async load(): Promise<void> {
    for (const n of await this.d.store.loadAll()) this.networks.set(n.id, n);
    for (const [name, driver] of [['host', 'host'], ['none', 'null']] as const) {
      if (!this.findByName(name)) await this.saveNew({ ...blankRecord(name, driver), predefined: true });
    }
  }

  /** After a restart (and after containers are loaded): drivers rebuild their kernel state. */
  async restoreDrivers(): Promise<void> {
    if (!this.findByName('bridge')) {
      await this.create({ Name: 'bridge', Driver: 'bridge', Options: { 'com.docker.network.bridge.name': this.d.defaultBridgeName, 'com.docker.network.bridge.default_bridge': 'true' } }, { predefined: true });
    }
    const byDriver = new Map<string, NetworkRecord[]>();
    for (const n of this.networks.values()) {
      if (n.driver === 'host' || n.driver === 'null') continue;
      byDriver.set(n.driver, [...(byDriver.get(n.driver) ?? []), n]);
    }
    for (const [name, nets] of byDriver) {
      let driver: NetworkDriver;
      try {
        driver = await this.d.drivers.network(name);
      } catch (err) {
        this.d.logger.warn(`networks of driver ${name} are not restored: ${(err as Error).message}`);
        continue;
      }
      if (!isRestorable(driver)) continue;
      const ids = new Set(nets.map((n) => n.id));
      const eps = this.d.containers().flatMap((c) =>
        Object.values(c.network.endpoints)
          .filter((e) => ids.has(e.networkId))
          .map((e) => ({
            networkId: e.networkId,
            endpointId: e.endpointId,
            containerId: c.id,
            ...(e.ipv4 ? { address: e.ipv4 } : {}),
            ...(e.ipv6 ? { addressV6: e.ipv6 } : {}),
            ...(e.mac ? { mac: e.mac } : {}),
            options: {},
            ports: c.state.Status === 'running' && c.network.gatewayNetwork === e.networkId ? c.network.ports : [],
          })),
      );
      await driver.restore(nets.map(networkSpec), eps);
    }
  }

  list(): NetworkRecord[] {
    return [...this.networks.values()].sort((a, b) => a.created.localeCompare(b.created));
  }

  /** By full id, exact name, or unique id prefix — like Docker. */
  get(ref: string): NetworkRecord {
    const byId = this.networks.get(ref);
    if (byId) return byId;
    const byName = this.findByName(ref);
    if (byName) return byName;
    const matches = /^[0-9a-f]+$/.test(ref) ? [...this.networks.values()].filter((n) => n.id.startsWith(ref)) : [];
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) throw new TsnetError('TSNET_NETWORK_AMBIGUOUS', `network ${ref} is ambiguous (${matches.length} matches): use more of the id`);
    throw new TsnetError('TSNET_NETWORK_NOT_FOUND', `network ${ref} not found`);
  }

  find(ref: string): NetworkRecord | undefined {
    try {
      return this.get(ref);
    } catch {
      return undefined;
    }
  }

  private findByName(name: string): NetworkRecord | undefined {
    for (const n of this.networks.values()) if (n.name === name) return n;
    return undefined;
  }

  json(n: NetworkRecord) {
    return networkJson(n, this.d.containers());
  }

  async driverOf(n: NetworkRecord): Promise<NetworkDriver> {
    return this.d.drivers.network(n.driver);
  }

  async ipamOf(n: NetworkRecord): Promise<IpamDriver> {
    return this.d.drivers.ipam(n.ipam.driver);
  }

  // ---- create -------------------------------------------------------------------------------

  async create(body: NetworkCreateBody, opts: { predefined?: boolean } = {}): Promise<NetworkRecord> {
    const name = body.Name ?? '';
    if (!name) throw new TsnetError('TSNET_INVALID_ARGUMENT', 'a network needs a name: tsnet network create NAME');
    if (!NAME_RE.test(name)) throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid network name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    return this.locks.run('create', async () => {
      if (this.findByName(name)) throw new TsnetError('TSNET_NETWORK_EXISTS', `network with name ${name} already exists`);
      const driverName = body.Driver || 'bridge';
      if (driverName === 'host' || driverName === 'null') {
        throw new TsnetError('TSNET_INVALID_ARGUMENT', `only one instance of "${driverName === 'null' ? 'none' : 'host'}" network is allowed`);
      }
      const driver = await this.d.drivers.network(driverName);
      const ipamName = body.IPAM?.Driver || 'default';
      const ipam = await this.d.drivers.ipam(ipamName);
      const config = (body.IPAM?.Config ?? []).filter((c) => c && (c.Subnet || c.Gateway || c.IPRange));
      for (const c of config) {
        if (!c.Subnet && (c.Gateway || c.IPRange || c.AuxiliaryAddresses)) {
          throw new TsnetError('TSNET_INVALID_ARGUMENT', '--gateway, --ip-range and --aux-address need a --subnet');
        }
      }
      const v6Configs = config.filter((c) => c.Subnet?.includes(':'));
      const v4Configs = config.filter((c) => !c.Subnet?.includes(':'));
      if (v6Configs.length && !body.EnableIPv6) {
        throw new TsnetError('TSNET_INVALID_ARGUMENT', 'an IPv6 --subnet needs --ipv6');
      }
      const rec: NetworkRecord = {
        ...blankRecord(name, driverName),
        scope: driver.capabilities().scope,
        internal: body.Internal ?? false,
        attachable: body.Attachable ?? false,
        enableIPv6: body.EnableIPv6 ?? false,
        options: { ...(body.Options ?? {}) },
        labels: { ...(body.Labels ?? {}) },
        ipam: { driver: ipamName, options: { ...(body.IPAM?.Options ?? {}) }, config },
        ...(opts.predefined ? { predefined: true } : {}),
      };
      const rb = new Rollback();
      try {
        const avoid = await this.d.avoid();
        const request = async (c: IpamConfigEntry | undefined, v6: boolean): Promise<PoolRef> => {
          const lease: PoolLease = await ipam.requestPool({
            ...(c?.Subnet ? { subnet: c.Subnet } : {}),
            ...(c?.IPRange ? { ipRange: c.IPRange } : {}),
            ...(c?.Gateway ? { gateway: c.Gateway } : {}),
            ...(c?.AuxiliaryAddresses ? { auxAddresses: c.AuxiliaryAddresses } : {}),
            v6,
            networkId: rec.id,
            networkName: name,
            avoid,
            options: rec.ipam.options,
          });
          rb.push(`release pool ${lease.subnet}`, () => ipam.releasePool(lease.poolId));
          return { poolId: lease.poolId, subnet: lease.subnet, gateway: lease.gateway, v6, ...(lease.ipRange ? { ipRange: lease.ipRange } : {}) };
        };
        for (const c of v4Configs.length ? v4Configs : [undefined]) rec.pools.push(await request(c, false));
        if (rec.enableIPv6) for (const c of v6Configs.length ? v6Configs : [undefined]) rec.pools.push(await request(c, true));
        const spec = networkSpec(rec);
        await driver.validateNetwork?.(spec);
        await rb.step(`create ${driverName} network`, () => driver.createNetwork(spec), () => driver.deleteNetwork(rec.id));
        await this.saveNew(rec);
        rb.commit();
      } catch (err) {
        const undo = await rb.unwind();
        for (const e of undo) this.d.logger.warn(e.message);
        throw err;
      }
      this.d.logger.info(`created network ${rec.name} (${rec.id.slice(0, 12)}, ${rec.driver}, ${rec.pools.map((p) => p.subnet).join(' ')})`);
      return rec;
    });
  }

  private async saveNew(rec: NetworkRecord): Promise<void> {
    await this.d.store.save(rec);
    this.networks.set(rec.id, rec);
  }

  // ---- remove -------------------------------------------------------------------------------

  async remove(ref: string): Promise<void> {
    const n = this.get(ref);
    if (n.predefined) throw new TsnetError('TSNET_NETWORK_IN_USE', `${n.name} is a pre-defined network and cannot be removed`);
    const users = this.d.containers().filter((c) => c.network.endpoints[n.id]);
    if (users.length) {
      throw new TsnetError('TSNET_NETWORK_IN_USE', `network ${n.name} has active endpoints (${users.map((c) => c.name).join(', ')}): disconnect or remove those containers first`);
    }
    await this.locks.run(n.id, async () => {
      if (!this.networks.has(n.id)) return;
      const driver = await this.driverOf(n);
      await driver.deleteNetwork(n.id);
      const ipam = await this.ipamOf(n).catch(() => undefined);
      for (const p of n.pools) await ipam?.releasePool(p.poolId).catch((err: Error) => this.d.logger.warn(`release pool ${p.subnet}: ${err.message}`));
      await this.d.store.remove(n.id);
      this.networks.delete(n.id);
      this.d.logger.info(`removed network ${n.name} (${n.id.slice(0, 12)})`);
    });
  }

  async prune(): Promise<string[]> {
    const removed: string[] = [];
    for (const n of this.list()) {
      if (n.predefined || this.d.containers().some((c) => c.network.endpoints[n.id])) continue;
      await this.remove(n.id);
      removed.push(n.name);
    }
    return removed;
  }
}

function blankRecord(name: string, driver: string): NetworkRecord {
  return {
    id: crypto.randomBytes(32).toString('hex'),
    name,
    driver,
    scope: 'local',
    created: new Date().toISOString(),
    internal: false,
    attachable: false,
    enableIPv6: false,
    options: {},
    labels: {},
    ipam: { driver: 'default', options: {}, config: [] },
    pools: [],
  };
}
