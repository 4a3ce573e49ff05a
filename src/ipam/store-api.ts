/**
 * What the default IPAM persists, and the storage interface (style habit H13: a pure
 * allocator over a store). Records are plain JSON values, the same on disk and in memory.
 * The IPAM is the only writer and serialises its calls, so a store needs no locking of its own.
 */

export interface PoolRecord {
  poolId: string;
  networkId: string;
  networkName: string;
  family: 4 | 6;
  /** Canonical subnet. */
  subnet: string;
  ipRange?: string;
  /** Plain IP, reserved in the pool. */
  gateway: string;
  /** name -> plain IP, reserved in the pool. */
  auxAddresses: Record<string, string>;
  /** True when the subnet was picked from the default pools (no --subnet). */
  dynamic: boolean;
  createdAt: string;
}

export interface AddressRecord {
  /** Plain IP. */
  ip: string;
  /** Endpoint id. */
  owner: string;
  mac?: string;
  /**
   * Sequence number of a dynamic (serial) allocation within its pool; absent for --ip
   * addresses. The live record with the highest serial tells where serial allocation resumes.
   */
  serial?: number;
}

/** Where serial allocation resumes: after `last`, which was handed out as number `serial`. */
export interface CursorRecord {
  last: string;
  serial: number;
}

export interface StoredPool {
  pool: PoolRecord;
  addresses: AddressRecord[];
  cursor?: CursorRecord;
}

export interface StoredState {
  pools: StoredPool[];
  /** Things skipped while loading (unreadable or partial files), for the daemon log. */
  warnings: string[];
}

export interface IpamStore {
  /**
   * Writes land in the order they were called, whether or not the caller waits for each (one
   * queue): a caller may let go of its lock once a write is given, not done.
   */
  readonly ordered?: boolean;
  /** Everything persisted. */
  load(): Promise<StoredState>;
  /** Create (or replace) a pool record. */
  putPool(pool: PoolRecord): Promise<void>;
  /** Remove a pool and every address in it. Unknown pool: no-op. */
  deletePool(poolId: string): Promise<void>;
  /** Record an allocated address (create or replace). */
  putAddress(poolId: string, address: AddressRecord): Promise<void>;
  /**
   * Remove an address record (unknown: no-op) and persist the pool's cursor as it is now,
   * so serial allocation resumes at the same place after a restart.
   */
  deleteAddress(poolId: string, ip: string, cursor: CursorRecord | undefined): Promise<void>;
}
