/**
 * The default IPAM's state and address rules, pure (no I/O): the pools (validated and chosen
 * by pool-planner.ts), their reserved addresses, serial address allocation in a bitmap.
 * DefaultIpam persists what this decides.
 *
 * Every mutating call returns an `undo` so the caller can roll the in-memory state back when
 * persisting fails.
 */
import { TsnetError } from '../errors/index.js';
import { createOffsetSet, DENSE_LIMIT, type OffsetSet } from './bitmap.js';
import { familyBits, formatIp, overlaps, parseIp, parseSubnet, type Cidr } from '../lib/cidr.js';
import type { AddressRequest, PoolRequest } from './ipam-api.js';
import { edgeReservations, planPool } from './pool-planner.js';
import type { AddressPoolSpec } from './pools.js';
import type { AddressRecord, CursorRecord, PoolRecord } from './store-api.js';

export const LOCAL_ADDRESS_SPACE = 'LocalDefault';

export interface AllocatorOptions {
  /** Pools a subnet is picked from when the request has none (validated AddressPoolSpecs). */
  defaultPools: readonly AddressPoolSpec[];
  /** Prefix of pool ids; Docker's local default is "LocalDefault". */
  addressSpace?: string;
  /** Pools up to this many addresses use a bitmap, larger ones a sparse set. */
  denseLimit?: bigint;
  /** Clock for PoolRecord.createdAt. */
  now?: () => Date;
}

export interface Allocation {
  record: AddressRecord;
  /** Address with the subnet's prefix length, e.g. 10.42.0.2/24. */
  address: string;
  /** False when the owner already held this address (nothing changed). */
  fresh: boolean;
  undo: () => void;
}

export interface Release {
  record: AddressRecord;
  /** The pool's cursor, to persist with the release. */
  cursor: CursorRecord | undefined;
  undo: () => void;
}

interface PoolState {
  readonly record: PoolRecord;
  readonly subnet: Cidr;
  readonly range: Cidr;
  /** Dynamic allocation bounds, as offsets from the subnet's network address. */
  readonly lo: bigint;
  readonly hi: bigint;
  readonly used: OffsetSet;
  /** Offsets never handed out: network/broadcast, gateway, aux; value = description. */
  readonly reserved: Map<bigint, string>;
  readonly addrs: Map<bigint, AddressRecord>;
  readonly owners: Map<string, bigint>;
  /** Offset of the last dynamic allocation. */
  cursor: bigint | undefined;
  serial: number;
}

function fail(code: ConstructorParameters<typeof TsnetError>[0], message: string, details?: Record<string, unknown>): never {
  throw new TsnetError(code, message, details ? { details } : {});
}

export class Allocator {
  private readonly specs: readonly AddressPoolSpec[];
  private readonly space: string;
  private readonly denseLimit: bigint;
  private readonly now: () => Date;
  private readonly pools = new Map<string, PoolState>();

  constructor(options: AllocatorOptions) {
    this.specs = options.defaultPools;
    this.space = options.addressSpace ?? LOCAL_ADDRESS_SPACE;
    this.denseLimit = options.denseLimit ?? DENSE_LIMIT;
    this.now = options.now ?? (() => new Date());
  }

  // -------------------------------------------------------------------------------------------
  // Pools

  /** Validate a request and choose its subnet (see pool-planner.ts). Changes nothing; follow with addPool. */
  planPool(req: PoolRequest): PoolRecord {
    return planPool(req, {
      defaultPools: this.specs,
      addressSpace: this.space,
      existing: () =>
        [...this.pools.values()].map((p) => ({
          subnet: p.subnet,
          networkName: p.record.networkName,
          networkId: p.record.networkId,
        })),
      now: this.now,
    });
  }

  /** Register a pool (from planPool, or loaded from the store). */
  addPool(record: PoolRecord): void {
    if (this.pools.has(record.poolId)) {
      fail('TSNET_SUBNET_OVERLAP', `IPAM pool ${record.poolId} already exists (network "${record.networkName}")`);
    }
    const subnet = parseSubnet(record.subnet, 'subnet');
    for (const p of this.pools.values()) {
      if (overlaps(p.subnet, subnet)) {
        fail(
          'TSNET_SUBNET_OVERLAP',
          `subnet ${record.subnet} overlaps with network "${p.record.networkName}" (${p.record.subnet}): choose another --subnet`,
        );
      }
    }
    const range = record.ipRange ? parseSubnet(record.ipRange, 'ip-range') : subnet;
    const reserved = edgeReservations(subnet);
    const gw = parseIp(record.gateway, 'gateway', 'TSNET_BAD_GATEWAY').value - subnet.network;
    reserved.set(gw, 'gateway');
    for (const [n, ip] of Object.entries(record.auxAddresses)) {
      reserved.set(parseIp(ip, `auxiliary address ${n}`).value - subnet.network, `auxiliary address "${n}"`);
    }
    const used = createOffsetSet(1n << BigInt(familyBits(subnet.family) - subnet.prefix), this.denseLimit);
    for (const off of reserved.keys()) {
      if (off < 0n || off >= used.size)
        fail('TSNET_BAD_IP', `reserved address outside subnet ${record.subnet} in pool ${record.poolId}`);
      used.add(off);
    }
    this.pools.set(record.poolId, {
      record: structuredClone(record),
      subnet,
      range,
      lo: range.network - subnet.network,
      hi: range.last - subnet.network,
      used,
      reserved,
      addrs: new Map(),
      owners: new Map(),
      cursor: undefined,
      serial: 0,
    });
  }

  /** Forget a pool and its addresses. Returns its record, or undefined if unknown. */
  removePool(poolId: string): PoolRecord | undefined {
    const p = this.pools.get(poolId);
    this.pools.delete(poolId);
    return p?.record;
  }

  hasPool(poolId: string): boolean {
    return this.pools.has(poolId);
  }

  getPool(poolId: string): PoolRecord | undefined {
    const p = this.pools.get(poolId);
    return p ? structuredClone(p.record) : undefined;
  }

  listPools(): PoolRecord[] {
    return [...this.pools.values()].map((p) => structuredClone(p.record));
  }

  listAddresses(poolId: string): AddressRecord[] {
    const p = this.pools.get(poolId);
    return p ? [...p.addrs.values()].map((a) => ({ ...a })) : [];
  }

  /** Used (including reserved) and total addresses of a pool. */
  usage(poolId: string): { used: number; total: bigint } | undefined {
    const p = this.pools.get(poolId);
    return p ? { used: p.used.count, total: p.used.size } : undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Addresses

  private pool(poolId: string): PoolState {
    const p = this.pools.get(poolId);
    if (!p) fail('TSNET_INVALID_ARGUMENT', `IPAM pool ${poolId} does not exist: was its network removed?`, { poolId });
    return p;
  }

  /**
   * Allocate an address: the requested one (`ip`, anywhere in the subnet except reserved
   * addresses; the ip-range only limits dynamic allocation, as in Docker), or the next free
   * one after the last dynamic allocation, wrapping around inside the ip-range/subnet.
   * An owner that already holds an address in this pool gets it back (idempotent).
   */
  allocate(poolId: string, req: AddressRequest): Allocation {
    const p = this.pool(poolId);
    const rec = p.record;
    const net = `network "${rec.networkName}"`;
    if (typeof req.owner !== 'string' || req.owner === '')
      fail('TSNET_INVALID_ARGUMENT', 'requestAddress needs an owner (the endpoint id)');
    const wanted = req.ip === undefined || req.ip === '' ? undefined : parseIp(req.ip, 'IP address');

    const held = p.owners.get(req.owner);
    if (held !== undefined) {
      const r = p.addrs.get(held)!;
      if (wanted === undefined || wanted.value === p.subnet.network + held) {
        return { record: { ...r }, address: `${r.ip}/${p.subnet.prefix}`, fresh: false, undo: () => {} };
      }
      fail(
        'TSNET_INVALID_ARGUMENT',
        `endpoint ${req.owner} already has address ${r.ip} in ${net}: release it before asking for ${req.ip}`,
      );
    }

    let off: bigint;
    let serial: number | undefined;
    const prevCursor = p.cursor;
    const prevSerial = p.serial;
    if (wanted !== undefined) {
      if (wanted.family !== p.subnet.family || wanted.value < p.subnet.network || wanted.value > p.subnet.last) {
        fail('TSNET_BAD_IP', `IP address ${req.ip} is not in subnet ${rec.subnet} of ${net}: choose an address inside it`);
      }
      off = wanted.value - p.subnet.network;
      const what = p.reserved.get(off);
      if (what === 'network address' || what === 'broadcast address') {
        fail('TSNET_BAD_IP', `IP address ${req.ip} is the ${what} of subnet ${rec.subnet} of ${net}: choose another address`);
      }
      if (what !== undefined) {
        fail('TSNET_ADDRESS_IN_USE', `IP address ${req.ip} is reserved as the ${what} of ${net}: choose another address`);
      }
      if (p.used.has(off)) {
        fail('TSNET_ADDRESS_IN_USE', `IP address ${req.ip} is already in use in ${net}: choose another address`, {
          owner: p.addrs.get(off)?.owner,
        });
      }
    } else {
      const start = p.cursor !== undefined && p.cursor + 1n >= p.lo && p.cursor + 1n <= p.hi ? p.cursor + 1n : p.lo;
      const found = p.used.nextFree(start, p.hi) ?? (start > p.lo ? p.used.nextFree(p.lo, start - 1n) : undefined);
      if (found === undefined) {
        fail('TSNET_POOL_EXHAUSTED', `no free address left in ${rec.ipRange ?? rec.subnet} for ${net}`, { poolId });
      }
      off = found;
      p.cursor = off;
      serial = ++p.serial;
    }

    const record: AddressRecord = { ip: formatIp(p.subnet.network + off, p.subnet.family), owner: req.owner };
    if (req.mac) record.mac = req.mac;
    if (serial !== undefined) record.serial = serial;
    p.used.add(off);
    p.addrs.set(off, record);
    p.owners.set(req.owner, off);
    const undo = (): void => {
      p.used.delete(off);
      p.addrs.delete(off);
      p.owners.delete(req.owner);
      p.cursor = prevCursor;
      p.serial = prevSerial;
    };
    return { record: { ...record }, address: `${record.ip}/${p.subnet.prefix}`, fresh: true, undo };
  }

  /**
   * Free an address (plain IP or CIDR form). Unknown pool, an address that is not allocated,
   * and reserved addresses (gateway, aux: they go with the pool) give undefined: a no-op.
   */
  release(poolId: string, ipText: string): Release | undefined {
    const p = this.pools.get(poolId);
    if (!p) return undefined;
    const ip = parseIp(ipText.includes('/') ? ipText.slice(0, ipText.indexOf('/')) : ipText, 'IP address');
    if (ip.family !== p.subnet.family || ip.value < p.subnet.network || ip.value > p.subnet.last) return undefined;
    const off = ip.value - p.subnet.network;
    const record = p.addrs.get(off);
    if (!record) return undefined;
    p.used.delete(off);
    p.addrs.delete(off);
    p.owners.delete(record.owner);
    const undo = (): void => {
      p.used.add(off);
      p.addrs.set(off, record);
      p.owners.set(record.owner, off);
    };
    return { record: { ...record }, cursor: this.cursorOf(p), undo };
  }

  private cursorOf(p: PoolState): CursorRecord | undefined {
    return p.cursor === undefined
      ? undefined
      : { last: formatIp(p.subnet.network + p.cursor, p.subnet.family), serial: p.serial };
  }

  cursor(poolId: string): CursorRecord | undefined {
    const p = this.pools.get(poolId);
    return p ? this.cursorOf(p) : undefined;
  }

  /**
   * Put back a persisted address (at load). The cursor follows the record with the highest
   * serial. Throws when the record does not fit the pool (caller reports and skips it).
   */
  restoreAddress(poolId: string, record: AddressRecord): void {
    const p = this.pool(poolId);
    const ip = parseIp(record.ip, 'stored IP address');
    if (ip.family !== p.subnet.family || ip.value < p.subnet.network || ip.value > p.subnet.last) {
      fail('TSNET_BAD_IP', `stored address ${record.ip} is not in subnet ${p.record.subnet}`);
    }
    const off = ip.value - p.subnet.network;
    if (p.used.has(off))
      fail('TSNET_ADDRESS_IN_USE', `stored address ${record.ip} is reserved or already allocated in ${p.record.subnet}`);
    if (typeof record.owner !== 'string' || record.owner === '' || p.owners.has(record.owner)) {
      fail('TSNET_INVALID_ARGUMENT', `stored address ${record.ip} has a missing or duplicate owner`);
    }
    const r: AddressRecord = { ip: formatIp(ip.value, ip.family), owner: record.owner };
    if (record.mac) r.mac = record.mac;
    if (Number.isInteger(record.serial)) r.serial = record.serial!;
    p.used.add(off);
    p.addrs.set(off, r);
    p.owners.set(r.owner, off);
    if (r.serial !== undefined && r.serial > p.serial) {
      p.serial = r.serial;
      p.cursor = off;
    }
  }

  /** Put back a persisted cursor (at load) if it is newer than the restored addresses. */
  restoreCursor(poolId: string, cursor: CursorRecord): void {
    const p = this.pool(poolId);
    const ip = parseIp(cursor.last, 'stored cursor');
    if (ip.family !== p.subnet.family || ip.value < p.subnet.network || ip.value > p.subnet.last) return;
    if (Number.isInteger(cursor.serial) && cursor.serial >= p.serial) {
      p.serial = cursor.serial;
      p.cursor = ip.value - p.subnet.network;
    }
  }
}
