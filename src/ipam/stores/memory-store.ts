/**
 * In-memory IpamStore for tests and for daemons run without persistent state. Records are
 * deep-copied in and out, as a serialising store would, so callers cannot alias them.
 * `failNext(op)` makes the next call of that operation reject (to test rollback).
 */
import type { AddressRecord, CursorRecord, IpamStore, PoolRecord, StoredPool, StoredState } from '../store-api.js';

type Op = 'load' | 'putPool' | 'deletePool' | 'putAddress' | 'deleteAddress';

interface Entry {
  pool: PoolRecord;
  addresses: Map<string, AddressRecord>;
  cursor?: CursorRecord;
}

export class MemoryStore implements IpamStore {
  private readonly pools = new Map<string, Entry>();
  private readonly faults = new Map<Op, Error>();
  /** Number of calls per operation (tests check what was persisted). */
  readonly calls: Record<Op, number> = { load: 0, putPool: 0, deletePool: 0, putAddress: 0, deleteAddress: 0 };

  /** Make the next call of `op` reject with `error`. */
  failNext(op: Op, error: Error = new Error(`injected ${op} failure`)): void {
    this.faults.set(op, error);
  }

  private enter(op: Op): void {
    this.calls[op]++;
    const e = this.faults.get(op);
    if (e) {
      this.faults.delete(op);
      throw e;
    }
  }

  async load(): Promise<StoredState> {
    this.enter('load');
    const pools: StoredPool[] = [...this.pools.values()].map((e) => {
      const sp: StoredPool = { pool: structuredClone(e.pool), addresses: [...e.addresses.values()].map((a) => ({ ...a })) };
      if (e.cursor) sp.cursor = { ...e.cursor };
      return sp;
    });
    return { pools, warnings: [] };
  }

  async putPool(pool: PoolRecord): Promise<void> {
    this.enter('putPool');
    const old = this.pools.get(pool.poolId);
    this.pools.set(pool.poolId, { pool: structuredClone(pool), addresses: old?.addresses ?? new Map() });
  }

  async deletePool(poolId: string): Promise<void> {
    this.enter('deletePool');
    this.pools.delete(poolId);
  }

  async putAddress(poolId: string, address: AddressRecord): Promise<void> {
    this.enter('putAddress');
    const e = this.pools.get(poolId);
    if (!e) throw new Error(`memory store: no pool ${poolId}`);
    e.addresses.set(address.ip, { ...address });
  }

  async deleteAddress(poolId: string, ip: string, cursor: CursorRecord | undefined): Promise<void> {
    this.enter('deleteAddress');
    const e = this.pools.get(poolId);
    if (!e) return;
    e.addresses.delete(ip);
    if (cursor) e.cursor = { ...cursor };
  }
}
