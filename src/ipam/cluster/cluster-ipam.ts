/**
 * Cluster-wide IPAM for global-scope (overlay) networks, over etcd transactions. Pools and
 * addresses live in etcd (key layout: src/store/cluster/keys.ts), so no address is ever handed
 * out twice, whichever hosts ask and however concurrently:
 *
 * - an address is taken by one transaction that creates its key `ipam/addresses/<pool>/<ip>`
 *   only if it does not exist (compare create_revision = 0), together with the owner index
 *   `ipam/owners/<pool>/<endpoint>` (also must not exist: one address per endpoint and pool)
 *   and, for dynamic addresses, the pool's cursor — compare-and-swap on the cursor's revision,
 *   so serial allocation goes on cluster-wide where the last host stopped. A lost race reads
 *   the winner's values in the same round trip and retries with the next candidate.
 * - a pool is created only if no pool key changed since the listing it was planned from
 *   (compare mod_revision over the pools prefix), so two hosts cannot create overlapping
 *   subnets at the same time.
 *
 * Each instance runs one request per pool at a time (contention is then between hosts, not
 * between a host's own requests) and caches a pool's used set, refreshed on wrap-around.
 */
import { TsnetError } from '../../errors/index.js';
import { KeyedMutex } from '../../lib/keyed-mutex.js';
import type { OffsetSet } from '../bitmap.js';
import { formatIp, parseIp } from '../../lib/cidr.js';
import type { AddressLease, AddressRequest, IpamDriver, PoolLease, PoolRequest } from '../ipam-api.js';
import { planPool } from '../pool-planner.js';
import { DOCKER_DEFAULT_GLOBAL_POOLS, validatePoolSpecs, type AddressPoolSpec } from '../pools.js';
import type { PoolRecord } from '../store-api.js';
import {
  cmpAbsent,
  cmpCreated,
  cmpModRev,
  cmpPrefixUnchangedSince,
  cmpValue,
  opDelete,
  opDeletePrefix,
  opGet,
  opGetPrefix,
  opPut,
  rangeOf,
  type EtcdKv,
  type Kv,
} from '../../store/cluster/etcd.js';
import { checkSegment, poolKeyOf, type KeyLayout } from '../../store/cluster/keys.js';
import {
  GLOBAL_ADDRESS_SPACE,
  ipAt,
  nextCandidate,
  offsetOfRequested,
  poolGeometry,
  subnetOfPoolId,
  usedSet,
  type PoolGeometry,
} from './pool-math.js';

/** What the IPAM needs from the cluster store (ClusterStore provides all of it). */
export interface ClusterIpamBackend {
  readonly kv: EtcdKv;
  readonly keys: KeyLayout;
  readonly nodeId: string;
  /** Throw TSNET_CLUSTER_UNAVAILABLE at once when the store is known to be away. */
  assertAvailable?(what: string): void;
}

export interface ClusterIpamOptions {
  /** Pools a subnet is picked from without --subnet (default: Docker's global 10.0.0.0/8 in /24s). */
  defaultPools?: readonly AddressPoolSpec[];
  now?: () => Date;
}

/** An address as recorded in etcd. */
export interface ClusterAddressRecord {
  ip: string;
  owner: string;
  /** Node that allocated it. */
  node: string;
  mac?: string;
  serial?: number;
}

interface Cursor {
  offset: bigint | undefined;
  serial: number;
  modRevision: string;
}

interface PoolCache {
  record: PoolRecord;
  createRevision: string;
  g: PoolGeometry;
  used: OffsetSet;
  cursor: Cursor;
}

const MAX_POOL_ATTEMPTS = 30;

export class ClusterIpam implements IpamDriver {
  readonly name = 'cluster';
  private readonly b: ClusterIpamBackend;
  private readonly defaultPools: readonly AddressPoolSpec[];
  private readonly now: () => Date;
  private readonly cache = new Map<string, PoolCache>();
  private readonly locks = new KeyedMutex();

  constructor(backend: ClusterIpamBackend, options: ClusterIpamOptions = {}) {
    this.b = backend;
    this.defaultPools = validatePoolSpecs(options.defaultPools ?? DOCKER_DEFAULT_GLOBAL_POOLS);
    this.now = options.now ?? (() => new Date());
  }

  // ================================================================== pools

  async requestPool(request: PoolRequest): Promise<PoolLease> {
    this.b.assertAvailable?.('request an address pool');
    const keys = this.b.keys;
    for (let attempt = 0; attempt < MAX_POOL_ATTEMPTS; attempt++) {
      const list = await this.b.kv.getPrefix('list address pools', keys.pools());
      const existing = list.kvs.map((kv) => decodePool(kv.value)).filter((p): p is PoolRecord => p !== undefined);
      const record = planPool(request, {
        defaultPools: this.defaultPools,
        addressSpace: GLOBAL_ADDRESS_SPACE,
        existing: () =>
          existing.map((p) => ({ subnet: poolGeometry(p).subnet, networkName: p.networkName, networkId: p.networkId })),
        now: this.now,
      });
      const pk = poolKeyOf(record.subnet);
      const res = await this.b.kv.txn(
        `create address pool ${record.subnet}`,
        [cmpPrefixUnchangedSince(keys.pools(), list.revision), cmpAbsent(keys.pool(pk))],
        [
          opPut(keys.pool(pk), JSON.stringify(record)),
          opDelete(keys.cursor(pk)),
          opDeletePrefix(keys.addresses(pk)),
          opDeletePrefix(keys.owners(pk)),
        ],
      );
      if (res.succeeded) {
        this.cache.delete(pk);
        return leaseOf(record);
      }
      // another host created a pool meanwhile: plan again against the new listing
    }
    throw new TsnetError(
      'TSNET_CLUSTER_UNAVAILABLE',
      'could not create the address pool: other hosts keep creating pools at the same time; try again',
    );
  }

  async releasePool(poolId: string): Promise<void> {
    const pk = poolKeyOf(subnetOfPoolId(poolId));
    const keys = this.b.keys;
    return this.exclusive(pk, async () => {
      this.b.assertAvailable?.('release an address pool');
      const cur = await this.b.kv.get(`read pool ${poolId}`, keys.pool(pk));
      this.cache.delete(pk);
      if (!cur || decodePool(cur.value)?.poolId !== poolId) return;
      await this.b.kv.txn(
        `release address pool ${poolId}`,
        [cmpCreated(keys.pool(pk), cur.createRevision)],
        [opDelete(keys.pool(pk)), opDelete(keys.cursor(pk)), opDeletePrefix(keys.addresses(pk)), opDeletePrefix(keys.owners(pk))],
      );
    });
  }

  /** Every pool in the cluster. */
  async listPools(): Promise<PoolRecord[]> {
    const list = await this.b.kv.getPrefix('list address pools', this.b.keys.pools());
    return list.kvs.map((kv) => decodePool(kv.value)).filter((p): p is PoolRecord => p !== undefined);
  }

  // ================================================================== addresses

  requestAddress(poolId: string, request: AddressRequest): Promise<AddressLease> {
    const pk = poolKeyOf(subnetOfPoolId(poolId));
    return this.exclusive(pk, () => this.allocate(poolId, pk, request));
  }

  releaseAddress(poolId: string, ip: string): Promise<void> {
    const pk = poolKeyOf(subnetOfPoolId(poolId));
    return this.exclusive(pk, () => this.release(poolId, pk, ip));
  }

  /** Every address of a pool, as recorded in etcd. */
  async listAddresses(poolId: string): Promise<ClusterAddressRecord[]> {
    const pk = poolKeyOf(subnetOfPoolId(poolId));
    const list = await this.b.kv.getPrefix(`list addresses of ${poolId}`, this.b.keys.addresses(pk));
    return list.kvs.map((kv) => decodeAddress(kv)).filter((a): a is ClusterAddressRecord => a !== undefined);
  }

  // ================================================================== internals

  /** One request per pool at a time in this process. */
  private exclusive<T>(pk: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(pk, fn);
  }

  private notFound(poolId: string): TsnetError {
    return new TsnetError('TSNET_INVALID_ARGUMENT', `IPAM pool ${poolId} does not exist: was its network removed?`, {
      details: { poolId },
    });
  }

  /** Load (or reload) a pool's record, cursor and used set in one consistent read. */
  private async load(poolId: string, pk: string): Promise<PoolCache> {
    const keys = this.b.keys;
    const res = await this.b.kv.txn(
      `read pool ${poolId}`,
      [],
      [opGet(keys.pool(pk)), opGet(keys.cursor(pk)), opGetPrefix(keys.addresses(pk), { keysOnly: true })],
    );
    const poolKv = rangeOf(res, 0)[0];
    const record = poolKv ? decodePool(poolKv.value) : undefined;
    if (!poolKv || !record || record.poolId !== poolId) {
      this.cache.delete(pk);
      throw this.notFound(poolId);
    }
    const g = poolGeometry(record);
    const used = usedSet(g);
    const prefix = keys.addresses(pk);
    for (const kv of rangeOf(res, 2)) {
      const ip = kv.key.slice(prefix.length);
      const a = tryOffset(g, ip);
      if (a !== undefined) used.add(a);
    }
    const c: PoolCache = { record, createRevision: poolKv.createRevision, g, used, cursor: parseCursor(g, rangeOf(res, 1)[0]) };
    this.cache.set(pk, c);
    return c;
  }

  private async allocate(poolId: string, pk: string, req: AddressRequest): Promise<AddressLease> {
    if (typeof req.owner !== 'string' || req.owner === '')
      throw new TsnetError('TSNET_INVALID_ARGUMENT', 'requestAddress needs an owner (the endpoint id)');
    checkSegment('address owner', req.owner);
    this.b.assertAvailable?.('allocate an address');
    const keys = this.b.keys;
    const cached = this.cache.get(pk);
    let c = cached ?? (await this.load(poolId, pk));
    let fresh = cached === undefined;
    const net = c.record.networkName;
    const wanted = req.ip === undefined || req.ip === '' ? undefined : offsetOfRequested(c.g, req.ip, net);
    const prefix = c.g.subnet.prefix;
    const limit = Number(c.g.size > 100_000n ? 100_000n : c.g.size) + 64;

    for (let attempt = 0; attempt < limit; attempt++) {
      let off: bigint;
      if (wanted !== undefined) {
        off = wanted;
      } else {
        const next = nextCandidate(c.g, c.used, c.cursor.offset);
        if (next === undefined || (next.wrapped && !fresh)) {
          if (!fresh) {
            c = await this.load(poolId, pk);
            fresh = true;
            attempt--;
            continue;
          }
          if (next === undefined) {
            throw new TsnetError(
              'TSNET_POOL_EXHAUSTED',
              `no free address left in ${c.record.ipRange ?? c.record.subnet} for network "${net}"`,
              { details: { poolId } },
            );
          }
        }
        off = next!.offset;
      }
      const ip = ipAt(c.g, off);
      const addrKey = keys.address(pk, ip);
      const ownerKey = keys.owner(pk, req.owner);
      const serial = c.cursor.serial + 1;
      const value: ClusterAddressRecord = { ip, owner: req.owner, node: this.b.nodeId };
      if (req.mac) value.mac = req.mac;
      if (wanted === undefined) value.serial = serial;
      const compare = [cmpCreated(keys.pool(pk), c.createRevision), cmpAbsent(addrKey), cmpAbsent(ownerKey)];
      const success = [opPut(addrKey, JSON.stringify(value)), opPut(ownerKey, ip)];
      if (wanted === undefined) {
        compare.push(cmpModRev(keys.cursor(pk), c.cursor.modRevision));
        success.push(opPut(keys.cursor(pk), JSON.stringify({ last: ip, serial })));
      }
      const res = await this.b.kv.txn(`allocate ${ip} in ${poolId}`, compare, success, [
        opGet(keys.pool(pk)),
        opGet(addrKey),
        opGet(ownerKey),
        opGet(keys.cursor(pk)),
      ]);
      if (res.succeeded) {
        c.used.add(off);
        if (wanted === undefined) c.cursor = { offset: off, serial, modRevision: String(res.header.revision) };
        return { address: `${ip}/${prefix}` };
      }
      const [poolNow, addrNow, ownerNow, cursorNow] = [0, 1, 2, 3].map((i) => rangeOf(res, i)[0]);
      if (!poolNow || poolNow.createRevision !== c.createRevision) {
        this.cache.delete(pk);
        throw this.notFound(poolId);
      }
      if (ownerNow) {
        // idempotent: the endpoint already holds an address in this pool
        const held = ownerNow.value;
        if (wanted === undefined || held === ipAt(c.g, wanted)) return { address: `${held}/${prefix}` };
        throw new TsnetError(
          'TSNET_INVALID_ARGUMENT',
          `endpoint ${req.owner} already has address ${held} in network "${net}": release it before asking for ${req.ip}`,
        );
      }
      if (addrNow) {
        c.used.add(off);
        if (wanted !== undefined) {
          const holder = decodeAddress(addrNow);
          throw new TsnetError(
            'TSNET_ADDRESS_IN_USE',
            `IP address ${req.ip} is already in use in network "${net}": choose another address`,
            {
              details: { owner: holder?.owner, node: holder?.node },
            },
          );
        }
      }
      if (wanted === undefined) c.cursor = parseCursor(c.g, cursorNow);
    }
    throw new TsnetError(
      'TSNET_CLUSTER_UNAVAILABLE',
      `could not allocate an address in ${poolId}: too much contention with other hosts; try again`,
    );
  }

  private async release(poolId: string, pk: string, ipText: string): Promise<void> {
    this.b.assertAvailable?.('release an address');
    const keys = this.b.keys;
    const plain = ipText.includes('/') ? ipText.slice(0, ipText.indexOf('/')) : ipText;
    const ip = parseIp(plain, 'IP address');
    const canonical = formatIp(ip.value, ip.family);
    for (let attempt = 0; attempt < 5; attempt++) {
      const addrKey = keys.address(pk, canonical);
      const cur = await this.b.kv.get(`read address ${canonical}`, addrKey);
      if (!cur) break;
      const rec = decodeAddress(cur);
      const ops = [opDelete(addrKey)];
      if (rec) {
        const ownerKey = keys.owner(pk, rec.owner);
        ops.push({ request_txn: { compare: [cmpValue(ownerKey, canonical)], success: [opDelete(ownerKey)], failure: [] } });
      }
      const res = await this.b.kv.txn(`release ${canonical} in ${poolId}`, [cmpModRev(addrKey, cur.modRevision)], ops);
      if (res.succeeded) break;
    }
    const c = this.cache.get(pk);
    if (c) {
      const off = tryOffset(c.g, canonical);
      if (off !== undefined && !c.g.reserved.has(off)) c.used.delete(off);
    }
  }
}

function leaseOf(r: PoolRecord): PoolLease {
  const lease: PoolLease = { poolId: r.poolId, subnet: r.subnet, gateway: r.gateway };
  if (r.ipRange) lease.ipRange = r.ipRange;
  return lease;
}

function decodePool(text: string): PoolRecord | undefined {
  try {
    const o = JSON.parse(text) as PoolRecord;
    return typeof o?.poolId === 'string' && typeof o.subnet === 'string' && typeof o.gateway === 'string'
      ? { ...o, auxAddresses: o.auxAddresses ?? {} }
      : undefined;
  } catch {
    return undefined;
  }
}

function decodeAddress(kv: Kv): ClusterAddressRecord | undefined {
  try {
    const o = JSON.parse(kv.value) as ClusterAddressRecord;
    return typeof o?.ip === 'string' && typeof o.owner === 'string' ? o : undefined;
  } catch {
    return undefined;
  }
}

function parseCursor(g: PoolGeometry, kv: Kv | undefined): Cursor {
  if (!kv) return { offset: undefined, serial: 0, modRevision: '0' };
  try {
    const o = JSON.parse(kv.value) as { last?: string; serial?: number };
    const off = typeof o.last === 'string' ? tryOffset(g, o.last) : undefined;
    return { offset: off, serial: Number.isInteger(o.serial) ? o.serial! : 0, modRevision: kv.modRevision };
  } catch {
    return { offset: undefined, serial: 0, modRevision: kv.modRevision };
  }
}

function tryOffset(g: PoolGeometry, ip: string): bigint | undefined {
  try {
    const a = parseIp(ip);
    if (a.family !== g.subnet.family || a.value < g.subnet.network || a.value > g.subnet.last) return undefined;
    return a.value - g.subnet.network;
  } catch {
    return undefined;
  }
}
