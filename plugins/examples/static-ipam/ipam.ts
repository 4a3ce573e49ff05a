/**
 * static-ipam — an IPAM plugin that hands out addresses from a file, written with
 * @tsnet/plugin-sdk. Each pool lists fixed assignments by endpoint (container) name or by MAC;
 * endpoints without one get the lowest free address of the pool's optional dynamic `range`.
 *
 * Config (JSON):
 *   {
 *     "requiresMacAddress": false,      // ask the daemon for endpoint MACs (to assign by MAC)
 *     "pools": [
 *       { "subnet": "10.88.0.0/24", "gateway": "10.88.0.1", "range": "10.88.0.128/25",
 *         "hosts": { "web": "10.88.0.10", "02:42:0a:58:00:0c": "10.88.0.12" } }
 *     ]
 *   }
 * Pools are handed out whole: RequestPool with an empty Pool returns the first pool of the
 * family not in use; with a Pool, that pool (which must be in the file). PoolID = static/<subnet>.
 */
import fs from 'node:fs';
import {
  GATEWAY_ADDRESS_TYPE,
  OPT_ENDPOINT_MAC,
  OPT_ENDPOINT_NAME,
  OPT_REQUEST_ADDRESS_TYPE,
  PluginError,
  type IpamDriverHandlers,
  type PoolRequest,
  type ReleaseAddressRequest,
  type RequestAddressRequest,
  type RequestPoolRequest,
} from '../../sdk/src/index.js';
import { bigToIp, formatPrefix, inPrefix, ipToBig, parsePrefix, type Prefix } from './addr.js';

export interface StaticPoolConfig {
  subnet: string;
  gateway?: string;
  range?: string;
  hosts?: Record<string, string>;
}

export interface StaticConfig {
  requiresMacAddress?: boolean;
  requiresRequestReplay?: boolean;
  addressSpace?: string;
  pools: StaticPoolConfig[];
}

interface Pool {
  id: string;
  prefix: Prefix;
  subnet: string;
  gateway?: string;
  range?: Prefix;
  /** name or lower-case MAC → IP */
  hosts: Map<string, string>;
  inUse: boolean;
  /** Addresses handed out: IP → who (endpoint name, "gateway", …). */
  used: Map<string, string>;
}

/** Read and check a config file; errors name the file and the entry. */
export function loadConfig(file: string): StaticConfig {
  let doc: StaticConfig;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8')) as StaticConfig;
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  if (!doc || !Array.isArray(doc.pools) || doc.pools.length === 0) throw new Error(`${file}: "pools" must be a non-empty list`);
  return doc;
}

export function createStaticIpam(config: StaticConfig, log: (line: string) => void = () => undefined): IpamDriverHandlers {
  const space = config.addressSpace ?? 'static';
  const pools = new Map<string, Pool>();
  for (const [i, p] of config.pools.entries()) {
    const prefix = parsePrefix(p.subnet);
    const subnet = formatPrefix(prefix);
    const check = (ip: string, what: string): string => {
      if (!inPrefix(prefix, ip)) throw new Error(`pools[${i}]: ${what} ${ip} is not in ${subnet}`);
      return bigToIp(ipToBig(ip).value, prefix.family);
    };
    const range = p.range ? parsePrefix(p.range) : undefined;
    if (range && (range.family !== prefix.family || range.network < prefix.network || range.last > prefix.last)) {
      throw new Error(`pools[${i}]: range ${p.range} is not inside ${subnet}`);
    }
    const hosts = new Map<string, string>();
    for (const [k, ip] of Object.entries(p.hosts ?? {}))
      hosts.set(k.includes(':') && /^[0-9a-f:]+$/i.test(k) ? k.toLowerCase() : k, check(ip, `host ${k}`));
    const id = `${space}/${subnet}`;
    if (pools.has(id)) throw new Error(`pools[${i}]: ${subnet} is listed twice`);
    pools.set(id, {
      id,
      prefix,
      subnet,
      ...(p.gateway ? { gateway: check(p.gateway, 'gateway') } : {}),
      ...(range ? { range } : {}),
      hosts,
      inUse: false,
      used: new Map(),
    });
  }

  const pool = (id: string): Pool => {
    const p = pools.get(id);
    if (!p) throw new PluginError(`static-ipam: no such pool ${id}`);
    if (!p.inUse) throw new PluginError(`static-ipam: pool ${id} is not allocated`);
    return p;
  };
  const cidr = (p: Pool, ip: string): string => `${ip}/${p.prefix.prefix}`;
  const take = (p: Pool, ip: string, who: string): string => {
    const holder = p.used.get(ip);
    if (holder !== undefined && holder !== who) throw new PluginError(`static-ipam: address ${ip} is in use (by ${holder})`);
    p.used.set(ip, who);
    return cidr(p, ip);
  };
  const firstFree = (p: Pool, within: Prefix): string | undefined => {
    const edges = p.prefix.family === 4 && p.prefix.prefix < 31;
    const reserved = new Set([...p.hosts.values(), ...(p.gateway ? [p.gateway] : [])]);
    for (let v = within.network; v <= within.last; v++) {
      if (edges && (v === p.prefix.network || v === p.prefix.last)) continue;
      const ip = bigToIp(v, p.prefix.family);
      if (!p.used.has(ip) && !reserved.has(ip)) return ip;
      if (v - within.network > 1_000_000n) break;
    }
    return undefined;
  };

  return {
    getCapabilities: () => ({
      RequiresMACAddress: !!config.requiresMacAddress,
      RequiresRequestReplay: !!config.requiresRequestReplay,
    }),
    getDefaultAddressSpaces: () => ({ LocalDefaultAddressSpace: space, GlobalDefaultAddressSpace: space }),

    requestPool(req: RequestPoolRequest) {
      const family = req.V6 ? 6 : 4;
      let chosen: Pool | undefined;
      if (req.Pool) {
        const want = formatPrefix(parsePrefix(req.Pool));
        chosen = pools.get(`${space}/${want}`);
        if (!chosen) throw new PluginError(`static-ipam: pool ${want} is not in the configuration`, { status: 400 });
        if (chosen.inUse) throw new PluginError(`static-ipam: pool ${want} is already in use`);
      } else {
        chosen = [...pools.values()].find((p) => p.prefix.family === family && !p.inUse);
        if (!chosen) throw new PluginError(`static-ipam: no free IPv${family} pool left in the configuration`);
      }
      if (req.SubPool) {
        const sub = parsePrefix(req.SubPool);
        if (sub.family !== chosen.prefix.family || sub.network < chosen.prefix.network || sub.last > chosen.prefix.last) {
          throw new PluginError(`static-ipam: SubPool ${req.SubPool} is not inside ${chosen.subnet}`, { status: 400 });
        }
        chosen.range = sub;
      }
      chosen.inUse = true;
      chosen.used.clear();
      log(`pool ${chosen.id} allocated`);
      return { PoolID: chosen.id, Pool: chosen.subnet, Data: {} };
    },

    releasePool(req: PoolRequest) {
      const p = pools.get(req.PoolID);
      if (!p) return; // unknown: nothing to do (idempotent)
      p.inUse = false;
      p.used.clear();
      log(`pool ${p.id} released`);
    },

    requestAddress(req: RequestAddressRequest) {
      const p = pool(req.PoolID);
      if (req.Options[OPT_REQUEST_ADDRESS_TYPE] === GATEWAY_ADDRESS_TYPE) {
        const gw = req.Address || p.gateway || bigToIp(p.prefix.network + 1n, p.prefix.family);
        if (!inPrefix(p.prefix, gw)) throw new PluginError(`static-ipam: gateway ${gw} is not in ${p.subnet}`, { status: 400 });
        return { Address: take(p, bigToIp(ipToBig(gw).value, p.prefix.family), 'gateway') };
      }
      const name = req.Options[OPT_ENDPOINT_NAME] ?? '';
      const mac = (req.Options[OPT_ENDPOINT_MAC] ?? '').toLowerCase();
      if (req.Address) {
        if (!inPrefix(p.prefix, req.Address))
          throw new PluginError(`static-ipam: ${req.Address} is not in ${p.subnet}`, { status: 400 });
        return { Address: take(p, bigToIp(ipToBig(req.Address).value, p.prefix.family), name || req.Address) };
      }
      const fixed = (name && p.hosts.get(name)) || (mac && p.hosts.get(mac));
      if (fixed) {
        log(`${name || mac} → ${fixed} (static)`);
        return { Address: take(p, fixed, name || mac) };
      }
      if (!p.range)
        throw new PluginError(
          `static-ipam: no static address for endpoint ${JSON.stringify(name || mac)} in ${p.subnet}, and the pool has no "range" for others`,
        );
      const ip = firstFree(p, p.range);
      if (!ip) throw new PluginError(`static-ipam: range ${formatPrefix(p.range)} of ${p.subnet} is exhausted`);
      log(`${name || '(unnamed)'} → ${ip} (range)`);
      return { Address: take(p, ip, name || ip) };
    },

    releaseAddress(req: ReleaseAddressRequest) {
      const p = pools.get(req.PoolID);
      if (!p) return;
      p.used.delete(bigToIp(ipToBig(req.Address).value, p.prefix.family));
    },
  };
}
