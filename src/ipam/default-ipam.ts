/**
 * The built-in ("default") IPAM: the pure Allocator plus a store. Every call runs alone
 * (a promise-chain mutex per instance); state changes are persisted before a call returns,
 * and rolled back in memory when persisting fails. Addresses are reserved when the
 * controller asks (endpoint creation), so a restarted daemon — DefaultIpam.load(store) —
 * hands every endpoint its address back.
 */
import { asTsnetError } from '../errors/index.js';
import { KeyedMutex } from '../lib/keyed-mutex.js';
import { Allocator } from './allocator.js';
import type { AddressLease, AddressRequest, IpamDriver, PoolLease, PoolRequest } from './ipam-api.js';
import { DOCKER_DEFAULT_LOCAL_POOLS, validatePoolSpecs, type AddressPoolSpec } from './pools.js';
import type { AddressRecord, IpamStore, PoolRecord } from './store-api.js';

export interface DefaultIpamOptions {
  /** Pools to pick subnets from (tsnetd --default-address-pool); Docker's local defaults if absent. */
  defaultPools?: readonly AddressPoolSpec[];
  /** Pools up to this many addresses use a bitmap (tests lower it to exercise the sparse set). */
  denseLimit?: bigint;
  now?: () => Date;
  /** Address space of its pool ids (default LocalDefault; the swarm's IPAM uses GlobalDefault). */
  addressSpace?: string;
}

export class DefaultIpam implements IpamDriver {
  readonly name = 'default';
  /** Records skipped while loading, one line each, for the daemon log. */
  readonly loadWarnings: readonly string[];
  private readonly store: IpamStore;
  private readonly alloc: Allocator;
  private readonly lock = new KeyedMutex();

  private constructor(store: IpamStore, alloc: Allocator, warnings: string[]) {
    this.store = store;
    this.alloc = alloc;
    this.loadWarnings = Object.freeze(warnings);
  }

  /** Build the IPAM from whatever the store holds (an empty store gives an empty IPAM). */
  static async load(store: IpamStore, options: DefaultIpamOptions = {}): Promise<DefaultIpam> {
    const alloc = new Allocator({
      defaultPools: validatePoolSpecs(options.defaultPools ?? DOCKER_DEFAULT_LOCAL_POOLS),
      ...(options.denseLimit !== undefined ? { denseLimit: options.denseLimit } : {}),
      ...(options.now ? { now: options.now } : {}),
      ...(options.addressSpace ? { addressSpace: options.addressSpace } : {}),
    });
    const state = await store.load();
    const warnings = [...state.warnings];
    for (const sp of state.pools) {
      try {
        alloc.addPool(sp.pool);
      } catch (err) {
        warnings.push(`skipped stored pool ${sp.pool.poolId}: ${asTsnetError(err).message}`);
        continue;
      }
      for (const a of sp.addresses) {
        try {
          alloc.restoreAddress(sp.pool.poolId, a);
        } catch (err) {
          warnings.push(`skipped stored address ${a.ip} in pool ${sp.pool.poolId}: ${asTsnetError(err).message}`);
        }
      }
      if (sp.cursor) {
        try {
          alloc.restoreCursor(sp.pool.poolId, sp.cursor);
        } catch (err) {
          warnings.push(`skipped stored cursor of pool ${sp.pool.poolId}: ${asTsnetError(err).message}`);
        }
      }
    }
    return new DefaultIpam(store, alloc, warnings);
  }

  /** Run `fn` after every earlier call has finished (success or failure). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.run('ipam', fn);
  }

  requestPool(request: PoolRequest): Promise<PoolLease> {
    return this.exclusive(async () => {
      const record = this.alloc.planPool(request);
      await this.store.putPool(record);
      this.alloc.addPool(record);
      return leaseOf(record);
    });
  }

  releasePool(poolId: string): Promise<void> {
    return this.exclusive(async () => {
      await this.store.deletePool(poolId);
      this.alloc.removePool(poolId);
    });
  }

  requestAddress(poolId: string, request: AddressRequest): Promise<AddressLease> {
    return this.exclusive(async () => {
      const a = this.alloc.allocate(poolId, request);
      if (a.fresh) {
        try {
          await this.store.putAddress(poolId, a.record);
        } catch (err) {
          a.undo();
          throw asTsnetError(err, 'TSNET_INTERNAL', `persist address ${a.record.ip} of pool ${poolId}`);
        }
      }
      return { address: a.address };
    });
  }

  /**
   * Resolves once the release is on disk. With an ordered store the lock is let go once the write
   * is given (the next request does not wait for the disk: after a `run --rm` that was the next
   * create's address request, behind the file thread's queue); a write that fails then leaves the
   * address free in memory and its record on disk, which the daemon's start releases (no endpoint
   * explains it) — the address may have been handed out again meanwhile, so it is not taken back.
   */
  releaseAddress(poolId: string, ip: string): Promise<void> {
    let written: Promise<void> | undefined;
    const failed = (err: unknown, ip: string) =>
      asTsnetError(err, 'TSNET_INTERNAL', `persist release of ${ip} in pool ${poolId}`);
    const released = this.exclusive(async () => {
      const r = this.alloc.release(poolId, ip);
      if (!r) return;
      const write = this.store.deleteAddress(poolId, r.record.ip, r.cursor);
      if (this.store.ordered) {
        written = write.catch((err: unknown) => {
          throw failed(err, r.record.ip);
        });
        return;
      }
      try {
        await write;
      } catch (err) {
        r.undo();
        throw failed(err, r.record.ip);
      }
    });
    return released.then(() => written);
  }

  // Read-only views (synchronous snapshots) for inspect, restore and orphan sweeps.

  listPools(): PoolRecord[] {
    return this.alloc.listPools();
  }

  getPool(poolId: string): PoolRecord | undefined {
    return this.alloc.getPool(poolId);
  }

  listAddresses(poolId: string): AddressRecord[] {
    return this.alloc.listAddresses(poolId);
  }

  usage(poolId: string): { used: number; total: bigint } | undefined {
    return this.alloc.usage(poolId);
  }
}

function leaseOf(r: PoolRecord): PoolLease {
  const lease: PoolLease = { poolId: r.poolId, subnet: r.subnet, gateway: r.gateway };
  if (r.ipRange) lease.ipRange = r.ipRange;
  return lease;
}
