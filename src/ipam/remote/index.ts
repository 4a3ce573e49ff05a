/**
 * The remote IPAM driver: tsnet's IpamDriver over a plugin's /IpamDriver.* calls
 * (moby daemon/libnetwork/ipams/remote/remote.go and the calls network.go makes around it).
 *
 * - GetCapabilities at creation and after every re-activation (optional for IPAM plugins, as in
 *   Docker: a plugin that answers it with an error gets empty capabilities).
 * - requestPool: GetDefaultAddressSpaces (every time, as Docker does) → RequestPool
 *   {AddressSpace: local default, Pool: --subnet, SubPool: --ip-range, Options: --ipam-opt, V6}
 *   → the gateway: --gateway or nothing is requested with
 *   RequestAddress {Options: {RequestAddressType: com.docker.network.gateway}}, unless the pool's
 *   Data carries com.docker.network.gateway and no --gateway was given (then that one is used,
 *   no call) → RequestAddress for each --aux-address. A failure releases what was taken.
 * - Overlap loop (reference §3.2): when tsnet picked no subnet and the plugin's pool overlaps a
 *   prefix in `avoid`, the pool is kept leased and another one asked for — at most maxPoolTries
 *   times (Docker loops forever), then every lease is released and TSNET_SUBNET_OVERLAP says so.
 * - requestAddress: RequestAddress {PoolID, Address: --ip or '', Options: endpoint options +
 *   com.docker.network.endpoint.name (+ …endpoint.macaddress when the plugin RequiresMACAddress;
 *   a random locally administered MAC is made when none was given and returned in the lease's
 *   data under the same key, for the controller to use in CreateEndpoint)}. The reply must be
 *   an address inside the pool in CIDR form with the pool's prefix length, of the pool's family
 *   (Docker parses it with ParseCIDR; a plain IP or another prefix is refused, naming the field).
 * - releaseAddress / releasePool are idempotent: an error the plugin reports is logged and
 *   ignored; a plugin that cannot be reached fails the call.
 */
import crypto from 'node:crypto';
import { isTsnetError, TsnetError } from '../../errors/index.js';
import { canonicalCidr, contains, formatIp, overlaps, parseIp, parseSubnet, tryParseCidr, tryParseIp } from '../../lib/cidr.js';
import type { AddressLease, AddressRequest, IpamDriver, PoolLease, PoolRequest } from '../ipam-api.js';
import type { PluginClient } from '../../plugins/client.js';
import { bool, str, strMap, WireTypeError, type JsonObject } from '../../plugins/wire.js';
import { NOOP_LOGGER, type Logger } from '../../lib/logger.js';

export const REQUEST_ADDRESS_TYPE = 'RequestAddressType';
export const GATEWAY_ADDRESS_TYPE = 'com.docker.network.gateway';
export const DATA_GATEWAY = 'com.docker.network.gateway';
export const OPT_ENDPOINT_NAME = 'com.docker.network.endpoint.name';
export const OPT_ENDPOINT_MAC = 'com.docker.network.endpoint.macaddress';

/** A pool the daemon holds, asked for again when the plugin wants requests replayed. */
export interface ReplayPool {
  networkId: string;
  networkName: string;
  poolId: string;
  subnet: string;
  ipRange?: string;
  gateway: string;
  auxAddresses?: Record<string, string>;
  options?: Record<string, string>;
  v6: boolean;
}

/** An address the daemon holds (an endpoint's), asked for again after its pool. */
export interface ReplayAddress {
  poolId: string;
  /** CIDR form, as leased. */
  address: string;
  /** The endpoint id (sent as com.docker.network.endpoint.name, as for a new request). */
  owner: string;
  /** The endpoint name first sent with it (com.docker.network.endpoint.name). */
  name?: string;
  mac?: string;
}

/**
 * Where the replay of RequiresRequestReplay plugins gets what the daemon holds, and how it
 * reports a pool the plugin gave back under another PoolID.
 */
export interface ReplaySource {
  plan(): { pools: ReplayPool[]; addresses: ReplayAddress[] } | Promise<{ pools: ReplayPool[]; addresses: ReplayAddress[] }>;
  poolMoved(networkId: string, oldPoolId: string, newPoolId: string): void | Promise<void>;
}

export interface ReplayResult {
  pools: number;
  addresses: number;
  failed: string[];
}

export interface RemoteIpamOptions {
  /** How many pools to try when the plugin keeps returning overlapping ones (default 10). */
  maxPoolTries?: number;
  logger?: Logger;
  /**
   * For plugins whose capabilities say RequiresRequestReplay: at every activation (the first,
   * at daemon start, and each re-activation after the plugin restarted) the pools and addresses
   * the daemon holds are requested again, before any other call reaches the plugin.
   */
  replay?: ReplaySource;
  /** Called after each activation (and its replay): e.g. to retry teardowns that waited for it. */
  activated?: () => void;
}

export interface IpamCapabilities {
  requiresMacAddress: boolean;
  requiresRequestReplay: boolean;
}

export interface RemoteIpam extends IpamDriver {
  readonly plugin: PluginClient;
  capabilities(): IpamCapabilities;
  addressSpaces(): Promise<{ local: string; global: string }>;
  /** The last replay (undefined until one ran). */
  lastReplay(): ReplayResult | undefined;
}

type Caller = (method: string, body?: unknown) => Promise<JsonObject>;

interface PoolState {
  subnet: string;
  gateway?: string;
  /** The gateway came from RequestAddress (and is released with the pool). */
  gatewayRequested: boolean;
  aux: string[];
}

function stripPrefix(ip: string): string {
  const i = ip.indexOf('/');
  return i < 0 ? ip : ip.slice(0, i);
}

function randomMac(): string {
  const b = crypto.randomBytes(6);
  b[0] = (b[0]! & 0xfe) | 0x02; // unicast, locally administered
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export async function createRemoteIpam(name: string, client: PluginClient, opts: RemoteIpamOptions = {}): Promise<RemoteIpam> {
  const log = opts.logger ?? NOOP_LOGGER;
  const maxTries = Math.max(1, opts.maxPoolTries ?? 10);
  const pools = new Map<string, PoolState>();
  let caps: IpamCapabilities = { requiresMacAddress: false, requiresRequestReplay: false };

  const bad = (method: string, why: string): TsnetError =>
    new TsnetError('TSNET_PLUGIN_BAD_REPLY', `plugin "${name}": IpamDriver.${method}: ${why}`, {
      details: { plugin: name, method: `IpamDriver.${method}` },
    });
  const wire = <T>(method: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof WireTypeError) throw bad(method, err.message);
      throw err;
    }
  };
  const reported = (err: unknown): boolean =>
    isTsnetError(err, 'TSNET_PLUGIN_ERROR') || isTsnetError(err, 'TSNET_PLUGIN_BAD_REPLY');

  const fetchCaps = async (call: (m: string) => Promise<JsonObject>): Promise<void> => {
    try {
      const r = await call('IpamDriver.GetCapabilities');
      caps = wire('GetCapabilities', () => ({
        requiresMacAddress: bool(r, 'RequiresMACAddress'),
        requiresRequestReplay: bool(r, 'RequiresRequestReplay'),
      }));
    } catch (err) {
      if (!reported(err)) throw err;
      log.info(
        `plugin "${name}": IpamDriver.GetCapabilities failed (${(err as Error).message}): assuming no capabilities, as Docker does`,
      );
      caps = { requiresMacAddress: false, requiresRequestReplay: false };
    }
  };
  const rpc =
    (raw: (m: string, body?: unknown) => Promise<JsonObject>): Caller =>
    (method, body) =>
      raw(`IpamDriver.${method}`, body);
  const call: Caller = rpc((m, body) => client.call(m, body));

  const addressSpaces = async (c: Caller = call): Promise<{ local: string; global: string }> => {
    const r = await c('GetDefaultAddressSpaces');
    return wire('GetDefaultAddressSpaces', () => ({
      local: str(r, 'LocalDefaultAddressSpace'),
      global: str(r, 'GlobalDefaultAddressSpace'),
    }));
  };

  const releasePoolQuietly = async (c: Caller, poolId: string, why: string): Promise<void> => {
    try {
      await c('ReleasePool', { PoolID: poolId });
    } catch (err) {
      log.warn(`plugin "${name}": release pool ${poolId} (${why}): ${(err as Error).message}`);
    }
  };
  const releaseAddressQuietly = async (c: Caller, poolId: string, ip: string, why: string): Promise<void> => {
    try {
      await c('ReleaseAddress', { PoolID: poolId, Address: stripPrefix(ip) });
    } catch (err) {
      log.warn(`plugin "${name}": release address ${ip} of pool ${poolId} (${why}): ${(err as Error).message}`);
    }
  };

  /** RequestAddress, checked: an address inside `subnet`, in CIDR form with the pool's prefix. */
  const requestAddressIn = async (
    c: Caller,
    poolId: string,
    subnet: string,
    address: string,
    options: Record<string, string> | null,
    what: string,
  ): Promise<{ cidr: string; data: Record<string, string> }> => {
    const r = await c('RequestAddress', { PoolID: poolId, Address: address, Options: options });
    const { raw, data } = wire('RequestAddress', () => ({ raw: str(r, 'Address'), data: strMap(r, 'Data') }));
    const pool = tryParseCidr(subnet)!;
    const fail = async (why: string): Promise<never> => {
      if (raw !== '' && tryParseIp(stripPrefix(raw))) await releaseAddressQuietly(c, poolId, raw, 'bad reply');
      throw bad('RequestAddress', `${what}: ${why}`);
    };
    if (raw === '') return fail('no address returned');
    // Docker parses the reply with types.ParseCIDR: an address without its prefix length is an error.
    if (!raw.includes('/') && tryParseIp(raw))
      return fail(`Address ${JSON.stringify(raw)} has no prefix length (expected ${raw}/${pool.prefix}, the pool's prefix)`);
    const parsed = tryParseCidr(raw);
    if (!parsed) return fail(`Address ${JSON.stringify(raw)} is not an address in CIDR form`);
    const cidr = raw;
    const ip = stripPrefix(cidr);
    if (parsed.family !== pool.family)
      return fail(`Address ${cidr} is an IPv${parsed.family} address; pool ${subnet} is IPv${pool.family}`);
    if (!contains(subnet, ip)) return fail(`address ${cidr} is not in pool ${subnet}`);
    if (parsed.prefix !== pool.prefix)
      return fail(`Address ${cidr} has prefix length /${parsed.prefix}; pool ${subnet} is a /${pool.prefix}`);
    if (address !== '' && parseIp(address).value !== parseIp(ip).value) return fail(`asked for ${address}, got ${ip}`);
    return { cidr, data };
  };

  const endpointOptions = (req: AddressRequest): { options: Record<string, string>; madeMac?: string } => {
    const options: Record<string, string> = { ...(req.options ?? {}) };
    if (!options[OPT_ENDPOINT_NAME]) options[OPT_ENDPOINT_NAME] = req.owner;
    let madeMac: string | undefined;
    if (caps.requiresMacAddress) {
      const mac = req.mac ?? randomMac();
      if (!req.mac) madeMac = mac;
      options[OPT_ENDPOINT_MAC] = mac;
    }
    return madeMac ? { options, madeMac } : { options };
  };

  const requestPoolVia = async (c: Caller, req: PoolRequest): Promise<PoolLease> => {
    // Validate everything before the first call.
    if (req.ipRange && !req.subnet)
      throw new TsnetError('TSNET_INVALID_ARGUMENT', `network ${req.networkName}: --ip-range needs --subnet`);
    const subnet = req.subnet ? canonicalCidr(parseSubnet(req.subnet)) : undefined;
    if (req.ipRange) parseSubnet(req.ipRange, 'ip range');
    if (req.gateway) parseIp(req.gateway, 'gateway', 'TSNET_BAD_GATEWAY');
    const avoid = (req.avoid ?? []).filter((a) => tryParseCidr(a));
    const family = req.v6 ? 6 : 4;

    const space = (await addressSpaces(c)).local;
    const leased: Array<{ poolId: string; pool: string }> = [];
    let got: { poolId: string; pool: string; data: Record<string, string> } | undefined;
    try {
      for (let tries = 1; ; tries++) {
        const r = await c('RequestPool', {
          AddressSpace: space,
          Pool: subnet ?? '',
          SubPool: req.ipRange ?? '',
          Options: req.options ?? null,
          V6: req.v6,
        });
        const reply = wire('RequestPool', () => ({ poolId: str(r, 'PoolID'), pool: str(r, 'Pool'), data: strMap(r, 'Data') }));
        const parsed = tryParseCidr(reply.pool);
        if (!reply.poolId || !parsed || parsed.family !== family) {
          if (reply.poolId) await releasePoolQuietly(c, reply.poolId, 'bad reply');
          throw bad(
            'RequestPool',
            !reply.poolId ? 'no PoolID returned' : `Pool ${JSON.stringify(reply.pool)} is not an IPv${family} subnet`,
          );
        }
        const pool = canonicalCidr(parsed);
        if (subnet && pool !== subnet) {
          await releasePoolQuietly(c, reply.poolId, 'bad reply');
          throw bad('RequestPool', `asked for ${subnet}, got ${pool}`);
        }
        const clash = subnet ? undefined : avoid.find((a) => overlaps(a, pool));
        if (!clash) {
          got = { poolId: reply.poolId, pool, data: reply.data };
          break;
        }
        leased.push({ poolId: reply.poolId, pool });
        log.debug(
          `plugin "${name}": pool ${pool} overlaps ${clash} in use on the host: asking for another (${tries}/${maxTries})`,
        );
        if (tries >= maxTries) {
          const seen = [...new Set(leased.map((l) => l.pool))].join(', ');
          throw new TsnetError(
            'TSNET_SUBNET_OVERLAP',
            `IPAM plugin "${name}" returned only pools that overlap networks in use on the host (${maxTries} tries: ${seen}); give --subnet or fix the plugin's pools`,
            { details: { plugin: name, tries: maxTries, pools: seen } },
          );
        }
      }
    } finally {
      for (const l of leased) await releasePoolQuietly(c, l.poolId, 'overlapping pool');
    }

    const { poolId, pool, data } = got;
    const state: PoolState = { subnet: pool, gatewayRequested: false, aux: [] };
    try {
      const dataGw = data[DATA_GATEWAY];
      if (!req.gateway && dataGw) {
        const ip = stripPrefix(dataGw);
        if (!tryParseIp(ip) || !contains(pool, ip))
          throw bad('RequestPool', `Data ${DATA_GATEWAY} ${JSON.stringify(dataGw)} is not an address in ${pool}`);
        state.gateway = ip;
      } else {
        const gw = await requestAddressIn(
          c,
          poolId,
          pool,
          req.gateway ?? '',
          { [REQUEST_ADDRESS_TYPE]: GATEWAY_ADDRESS_TYPE },
          'gateway',
        );
        state.gateway = stripPrefix(gw.cidr);
        state.gatewayRequested = true;
      }
      for (const [auxName, ip] of Object.entries(req.auxAddresses ?? {})) {
        const a = await requestAddressIn(c, poolId, pool, stripPrefix(ip), null, `aux address ${auxName}`);
        state.aux.push(stripPrefix(a.cidr));
      }
    } catch (err) {
      for (const ip of state.aux.reverse()) await releaseAddressQuietly(c, poolId, ip, 'rollback');
      if (state.gatewayRequested && state.gateway) await releaseAddressQuietly(c, poolId, state.gateway, 'rollback');
      await releasePoolQuietly(c, poolId, 'rollback');
      throw err;
    }
    pools.set(poolId, state);
    const lease: PoolLease = { poolId, subnet: pool, gateway: state.gateway! };
    if (req.ipRange) lease.ipRange = canonicalCidr(req.ipRange);
    if (Object.keys(data).length > 0) lease.data = data;
    return lease;
  };

  /**
   * RequiresRequestReplay (moby's controller.reservePools): every pool the daemon holds is asked
   * for again with its subnet, range, gateway and aux addresses, then every endpoint's address
   * with its own IP. A failure is logged and counted; the rest goes on.
   */
  let last: ReplayResult | undefined;
  const replayVia = async (c: Caller): Promise<void> => {
    const source = opts.replay;
    if (!source || !caps.requiresRequestReplay) return;
    const plan = await source.plan();
    const result: ReplayResult = { pools: 0, addresses: 0, failed: [] };
    const moved = new Map<string, { poolId: string; subnet: string }>();
    for (const p of plan.pools) {
      try {
        const lease = await requestPoolVia(c, {
          subnet: p.subnet,
          ...(p.ipRange ? { ipRange: p.ipRange } : {}),
          gateway: p.gateway,
          ...(p.auxAddresses ? { auxAddresses: p.auxAddresses } : {}),
          v6: p.v6,
          networkId: p.networkId,
          networkName: p.networkName,
          avoid: [],
          ...(p.options ? { options: p.options } : {}),
        });
        moved.set(p.poolId, { poolId: lease.poolId, subnet: lease.subnet });
        if (lease.poolId !== p.poolId) {
          pools.delete(p.poolId);
          await source.poolMoved(p.networkId, p.poolId, lease.poolId);
        }
        result.pools++;
      } catch (err) {
        result.failed.push(`pool ${p.subnet} of network ${p.networkName}: ${(err as Error).message}`);
      }
    }
    for (const a of plan.addresses) {
      const pool = moved.get(a.poolId);
      if (!pool) continue;
      try {
        const { options } = endpointOptions({
          owner: a.owner,
          ...(a.name ? { options: { [OPT_ENDPOINT_NAME]: a.name } } : {}),
          ...(a.mac ? { mac: a.mac } : {}),
        });
        await requestAddressIn(c, pool.poolId, pool.subnet, stripPrefix(a.address), options, `replay of ${a.address}`);
        result.addresses++;
      } catch (err) {
        result.failed.push(`address ${a.address}: ${(err as Error).message}`);
      }
    }
    last = result;
    for (const f of result.failed) log.warn(`plugin "${name}": replay: ${f}`);
    log.info(
      `plugin "${name}": replayed ${result.pools} pool(s) and ${result.addresses} address(es) (RequiresRequestReplay)${result.failed.length ? `, ${result.failed.length} failed` : ''}`,
    );
  };

  client.onActivate(async (raw) => {
    const c = rpc((m, body) => raw(m, body));
    await fetchCaps((m) => raw(m));
    await replayVia(c);
    opts.activated?.();
  });
  const before = client.activations;
  await client.activate();
  if (client.activations === before) {
    // Activated before this driver existed (the same plugin is also a network driver).
    await fetchCaps((m) => client.call(m));
    await replayVia(call);
  }

  const ipam: RemoteIpam = {
    name,
    plugin: client,

    capabilities: () => ({ ...caps }),
    addressSpaces: () => addressSpaces(call),
    lastReplay: () => (last ? { ...last, failed: [...last.failed] } : undefined),

    requestPool: (req: PoolRequest): Promise<PoolLease> => requestPoolVia(call, req),

    async releasePool(poolId) {
      const st = pools.get(poolId);
      const tolerate = (err: unknown, what: string): void => {
        if (!reported(err)) throw err;
        log.warn(`plugin "${name}": ${what}: ${(err as Error).message} (ignored)`);
      };
      if (st) {
        for (const ip of [...(st.gatewayRequested && st.gateway ? [st.gateway] : []), ...st.aux]) {
          try {
            await call('ReleaseAddress', { PoolID: poolId, Address: ip });
          } catch (err) {
            tolerate(err, `release address ${ip} of pool ${poolId}`);
          }
        }
      }
      try {
        await call('ReleasePool', { PoolID: poolId });
      } catch (err) {
        tolerate(err, `release pool ${poolId}`);
      }
      pools.delete(poolId);
    },

    async requestAddress(poolId: string, req: AddressRequest): Promise<AddressLease> {
      if (req.ip) parseIp(req.ip);
      const { options, madeMac } = endpointOptions(req);
      const st = pools.get(poolId);
      let subnet = st?.subnet;
      if (!subnet) {
        // A pool from before a daemon restart: the pool id often embeds the subnet (Docker's form).
        const m = /(\d+\.\d+\.\d+\.\d+\/\d+|[0-9a-fA-F:]+:[0-9a-fA-F:]*\/\d+)/.exec(poolId);
        subnet = m && tryParseCidr(m[1]!) ? canonicalCidr(m[1]!) : undefined;
      }
      let cidr: string;
      let data: Record<string, string>;
      if (subnet) {
        ({ cidr, data } = await requestAddressIn(
          call,
          poolId,
          subnet,
          req.ip ?? '',
          options,
          `address for ${req.owner.slice(0, 12)}`,
        ));
      } else {
        const r = await call('RequestAddress', { PoolID: poolId, Address: req.ip ?? '', Options: options });
        const raw = wire('RequestAddress', () => str(r, 'Address'));
        data = wire('RequestAddress', () => strMap(r, 'Data'));
        if (!raw || !tryParseCidr(raw))
          throw bad(
            'RequestAddress',
            raw ? `Address ${JSON.stringify(raw)} is not an address in CIDR form (address/prefix)` : 'no address returned',
          );
        cidr = raw;
      }
      if (madeMac) data = { ...data, [OPT_ENDPOINT_MAC]: madeMac };
      const lease: AddressLease = { address: cidr };
      if (Object.keys(data).length > 0) lease.data = data;
      return lease;
    },

    async releaseAddress(poolId, ip) {
      const plain = stripPrefix(ip);
      const parsed = parseIp(plain);
      try {
        await call('ReleaseAddress', { PoolID: poolId, Address: formatIp(parsed.value, parsed.family) });
      } catch (err) {
        if (!reported(err)) throw err;
        log.warn(`plugin "${name}": release address ${plain} of pool ${poolId}: ${(err as Error).message} (ignored)`);
      }
    },
  };
  return ipam;
}
