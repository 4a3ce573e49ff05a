/**
 * The remote network driver: tsnet's NetworkDriver over a plugin's /NetworkDriver.* calls
 * (moby daemon/libnetwork/drivers/remote/driver.go), plus the kernel work dockerd does with a
 * Join reply (sandbox-iface.ts). One driver object per plugin name; the controller calls it
 * exactly like a built-in driver (H1).
 *
 * Behaviour, call by call:
 * - capabilities: from GetCapabilities at creation, fetched again whenever the plugin is
 *   re-activated after a restart.
 * - createNetwork → CreateNetwork {NetworkID, Options{generic, enable_ipv4/6, internal}, IPv4Data, IPv6Data}.
 *   A timeout or lost connection is followed by a best-effort DeleteNetwork (the plugin may
 *   have made it).
 * - createEndpoint → CreateEndpoint with Interface {Address, AddressIPv6, MacAddress} ('' when
 *   unset) and the endpoint options (port maps as com.docker.network.portmap / …exposedports).
 *   The plugin may fill only fields tsnet left empty (Docker's rule); an identical echo is
 *   accepted (more lenient than Docker). A reply that breaks the rule rolls the endpoint back.
 * - join → Join {SandboxKey = the sandbox's netns file}, then SrcName is moved into the sandbox,
 *   renamed to JoinSpec.ifname (the controller picks eth0, eth1, …: a plugin's DstPrefix is only
 *   compared with it and logged — tsnet names interfaces by attachment order, like Docker names
 *   them `DstPrefix`+N), given the endpoint's MAC and addresses, brought up, and the plugin's
 *   StaticRoutes are added (connected ones first). Gateway / GatewayIPv6 /
 *   DisableGatewayService are returned in JoinInfo; the controller owns the default route.
 *   Any failure undoes the steps and calls Leave.
 * - leave → Leave, then the interface is taken out of the sandbox: moved back to the daemon's
 *   netns under its SrcName (as Docker does) and deleted after DeleteEndpoint if the plugin
 *   left it there; deleted at once when it cannot be moved back.
 * - Deletes are idempotent: an error the plugin reports on DeleteNetwork / DeleteEndpoint /
 *   Leave / RevokeExternalConnectivity is logged and ignored (as Docker does); a plugin that
 *   cannot be reached (or times out) fails the call after the local cleanup is done.
 * - programExternalConnectivity / revokeExternalConnectivity: a 404 means "not implemented"
 *   and is not an error (Docker's rule); no NAT is done for plugin networks (as in Docker).
 * - discoverNew/discoverDelete: node discovery (type 1) only, as Docker forwards.
 * - allocateNetwork/freeNetwork: present only when the plugin's Scope is global.
 */
import { isTsnetError, TsnetError } from '../../../errors/index.js';
import { Rollback } from '../../../errors/rollback.js';
import { contains, tryParseCidr } from '../../../lib/cidr.js';
import type { Netlink } from '../../../kernel/netlink/index.js';
import type { Netns } from '../../../kernel/netns.js';
import { isMisused404, isNotImplemented, type PluginClient } from '../../../plugins/client.js';
import { strMap, type JsonObject } from '../../../plugins/wire.js';
import type {
  Discovery,
  DriverCapability,
  EndpointInfo,
  EndpointSpec,
  ExternalConnectivity,
  JoinInfo,
  JoinSpec,
  NetworkAllocator,
  NetworkDriver,
  NetworkSpec,
  PortMapping,
  Restorable,
  SandboxHandle,
} from '../../driver-api.js';
import {
  badReply,
  createNetworkRequest,
  dockerOptions,
  parseCapabilities,
  parseCreateEndpoint,
  parseJoin,
  type Capabilities,
  type JoinReply,
} from './api.js';
import { configure, deleteLeftover, moveIn, takeOut, type KernelDeps } from './sandbox-iface.js';
import type { Logger } from '../../../lib/logger.js';

export {
  createNetworkRequest,
  dockerOptions,
  toPortBinding,
  toTransportPort,
  fromPortBindings,
  OPT_PORTMAP,
  OPT_EXPOSED_PORTS,
  OPT_GENERIC,
} from './api.js';

export interface RemoteDriverDeps {
  netns: Netns;
  /** Socket in the daemon's own netns (not closed by the driver). */
  hostNetlink: () => Netlink;
  /** File naming the daemon's netns, to move interfaces back on leave (default /proc/self/ns/net). */
  hostNetns?: string;
  logger: Logger;
}

/** Extras of the remote driver beyond driver-api's interfaces. */
export interface RemoteDriverExtras {
  readonly plugin: PluginClient;
  /** EndpointOperInfo: the plugin's operational data for inspect (best effort: {} on error). */
  endpointOperInfo(networkId: string, endpointId: string): Promise<Record<string, unknown>>;
  /** GwAllocCheck (plugins with GwAllocChecker): should no gateway be reserved for v4/v6? */
  gwAllocCheck(n: NetworkSpec): Promise<{ skipIPv4: boolean; skipIPv6: boolean }>;
}

export type RemoteDriver = NetworkDriver &
  ExternalConnectivity &
  Discovery &
  Restorable &
  RemoteDriverExtras &
  Partial<NetworkAllocator>;

interface JoinState {
  sandboxKey: string;
  ifname: string;
  /** ifindex inside the sandbox (unknown after a daemon restart). */
  index?: number;
  srcName?: string;
  options: Record<string, unknown>;
}

interface EndpointState {
  networkId: string;
  /** What the plugin chose in CreateEndpoint. */
  info: EndpointInfo;
  join?: JoinState;
  /** An interface moved back to the daemon's netns, deleted after DeleteEndpoint if still there. */
  leftover?: { name: string; index: number };
}

function sameCidr(a: string, b: string): boolean {
  const x = tryParseCidr(a);
  const y = tryParseCidr(b);
  return !!x && !!y && x.family === y.family && x.address === y.address && x.prefix === y.prefix;
}

/** Was the failure a transport problem (the plugin may have acted before failing)? */
function uncertain(err: unknown): boolean {
  return (
    isTsnetError(err, 'TSNET_PLUGIN_TIMEOUT') ||
    (isTsnetError(err, 'TSNET_PLUGIN_UNAVAILABLE') && /connection lost/.test((err as Error).message))
  );
}

/** The plugin answered with an error (as opposed to not answering). */
function reported(err: unknown): boolean {
  return isTsnetError(err, 'TSNET_PLUGIN_ERROR') || isTsnetError(err, 'TSNET_PLUGIN_BAD_REPLY');
}

export async function createRemoteDriver(name: string, client: PluginClient, deps: RemoteDriverDeps): Promise<RemoteDriver> {
  const log = deps.logger;
  const kdeps: KernelDeps = {
    netns: deps.netns,
    hostNetlink: deps.hostNetlink,
    logger: log,
    ...(deps.hostNetns ? { hostNetns: deps.hostNetns } : {}),
  };
  const endpoints = new Map<string, EndpointState>();
  /** Does each known network have IPv6 (a plugin may not hand out IPv6 addresses on one that has not)? */
  const ipv6Networks = new Map<string, boolean>();
  let caps: Capabilities | undefined;

  client.onActivate(async (call) => {
    caps = parseCapabilities(name, await call('NetworkDriver.GetCapabilities'));
  });
  await client.activate();
  caps ??= parseCapabilities(name, await client.call('NetworkDriver.GetCapabilities'));

  const call = (method: string, body?: unknown): Promise<JsonObject> => client.call(`NetworkDriver.${method}`, body);

  /** Teardown-type call: plugin-reported errors are logged, transport errors thrown. */
  const tolerant = async (method: string, body: unknown, what: string): Promise<void> => {
    try {
      await call(method, body);
    } catch (err) {
      if (!reported(err)) throw err;
      log.warn(`${what}: ${(err as Error).message} (ignored, as Docker does)`);
    }
  };

  const bestEffort = async (method: string, body: unknown, why: string): Promise<void> => {
    try {
      await call(method, body);
    } catch (err) {
      log.warn(`rollback ${why}: ${(err as Error).message}`);
    }
  };

  const cleanupLeftover = async (ep: EndpointState | undefined): Promise<void> => {
    if (!ep?.leftover) return;
    try {
      if (await deleteLeftover(kdeps, ep.leftover))
        log.info(`plugin "${name}" left interface ${ep.leftover.name} behind: deleted it`);
    } catch (err) {
      log.warn(`delete interface ${ep.leftover.name} left by plugin "${name}": ${(err as Error).message}`);
    }
    ep.leftover = undefined;
  };

  /** The interface leaves the sandbox; `sandbox`: the caller's handle (its one netlink socket). */
  const takeOutOf = async (ep: EndpointState, sandbox?: SandboxHandle): Promise<void> => {
    const j = ep.join;
    if (!j) return;
    const back = await takeOut(
      kdeps,
      { sandboxKey: j.sandboxKey, ifname: j.ifname, ...(j.index !== undefined ? { index: j.index } : {}) },
      j.srcName,
      sandbox?.file === j.sandboxKey ? sandbox.netlink : undefined,
    );
    if (back !== undefined && j.srcName) ep.leftover = { name: j.srcName, index: back };
    ep.join = undefined;
  };

  const driver: RemoteDriver = {
    name,
    plugin: client,

    capabilities(): DriverCapability {
      return { scope: caps!.scope, connectivityScope: caps!.connectivityScope };
    },

    async createNetwork(n) {
      const body = createNetworkRequest(n);
      try {
        await call('CreateNetwork', body);
      } catch (err) {
        if (uncertain(err)) await bestEffort('DeleteNetwork', { NetworkID: n.id }, `network ${n.id.slice(0, 12)}`);
        throw err;
      }
      ipv6Networks.set(n.id, n.enableIPv6 || n.ipv6.length > 0);
    },

    async deleteNetwork(networkId) {
      await tolerant('DeleteNetwork', { NetworkID: networkId }, `plugin "${name}": delete network ${networkId.slice(0, 12)}`);
      ipv6Networks.delete(networkId);
    },

    async createEndpoint(e: EndpointSpec): Promise<EndpointInfo> {
      const sent = { address: e.address ?? '', addressV6: e.addressV6 ?? '', mac: (e.mac ?? '').toLowerCase() };
      const ids = { NetworkID: e.networkId, EndpointID: e.endpointId };
      let reply: JsonObject;
      try {
        reply = await call('CreateEndpoint', {
          ...ids,
          Interface: { Address: sent.address, AddressIPv6: sent.addressV6, MacAddress: sent.mac },
          Options: dockerOptions(e.options),
        });
      } catch (err) {
        if (uncertain(err)) await bestEffort('DeleteEndpoint', ids, `endpoint ${e.endpointId.slice(0, 12)}`);
        throw err;
      }
      const info: EndpointInfo = {};
      try {
        const got = parseCreateEndpoint(name, reply);
        const check = (
          what: string,
          had: string,
          returned: string,
          same: (a: string, b: string) => boolean,
        ): string | undefined => {
          if (!returned) return undefined;
          if (!had) return returned;
          if (same(had, returned)) return undefined;
          throw new TsnetError(
            'TSNET_PLUGIN_BAD_REPLY',
            `plugin "${name}": NetworkDriver.CreateEndpoint: driver modified interface ${what}: endpoint interface ${what} present (${had}); cannot be modified with (${returned})`,
            { details: { plugin: name, method: 'NetworkDriver.CreateEndpoint' } },
          );
        };
        if (got.addressV6 && !sent.addressV6 && ipv6Networks.get(e.networkId) === false) {
          throw new TsnetError(
            'TSNET_PLUGIN_BAD_REPLY',
            `plugin "${name}": NetworkDriver.CreateEndpoint: Interface.AddressIPv6 ${got.addressV6} given, but network ${e.networkId.slice(0, 12)} has no IPv6 (create it with --ipv6)`,
            { details: { plugin: name, method: 'NetworkDriver.CreateEndpoint', field: 'Interface.AddressIPv6' } },
          );
        }
        const a = check('address', sent.address, got.address, sameCidr);
        const a6 = check('IPv6 address', sent.addressV6, got.addressV6, sameCidr);
        const mac = check('MAC address', sent.mac, got.mac, (x, y) => x === y);
        if (a) info.address = a;
        if (a6) info.addressV6 = a6;
        if (mac) info.mac = mac;
      } catch (err) {
        await bestEffort('DeleteEndpoint', ids, `endpoint ${e.endpointId.slice(0, 12)}`);
        throw err;
      }
      endpoints.set(e.endpointId, { networkId: e.networkId, info });
      return info;
    },

    async deleteEndpoint(networkId, endpointId) {
      const ep = endpoints.get(endpointId);
      try {
        await tolerant(
          'DeleteEndpoint',
          { NetworkID: networkId, EndpointID: endpointId },
          `plugin "${name}": delete endpoint ${endpointId.slice(0, 12)}`,
        );
      } finally {
        await cleanupLeftover(ep);
      }
      endpoints.delete(endpointId);
    },

    async join(j: JoinSpec): Promise<JoinInfo> {
      if (!/^[^\s/:]{1,15}$/.test(j.ifname))
        throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid interface name ${JSON.stringify(j.ifname)}`);
      if (!deps.netns.exists(j.sandboxKey))
        throw new TsnetError('TSNET_NETNS', `join ${j.endpointId.slice(0, 12)}: sandbox ${j.sandboxKey} does not exist`);
      const fresh = !endpoints.has(j.endpointId);
      const ep: EndpointState = endpoints.get(j.endpointId) ?? { networkId: j.networkId, info: {} };
      endpoints.set(j.endpointId, ep);
      const ids = { NetworkID: j.networkId, EndpointID: j.endpointId };
      const rb = new Rollback();
      try {
        let reply: JsonObject;
        try {
          reply = await call('Join', { ...ids, SandboxKey: j.sandboxKey, Options: dockerOptions(j.options) });
        } catch (err) {
          if (uncertain(err)) await bestEffort('Leave', ids, `join of ${j.endpointId.slice(0, 12)}`);
          throw err;
        }
        rb.push('plugin Join', () => bestEffort('Leave', ids, `join of ${j.endpointId.slice(0, 12)}`));
        const r = parseJoin(name, reply);
        checkGateways(r, j.address ?? ep.info.address, j.addressV6 ?? ep.info.addressV6);
        const state: JoinState = {
          sandboxKey: j.sandboxKey,
          ifname: j.ifname,
          options: j.options,
          ...(r.srcName ? { srcName: r.srcName } : {}),
        };
        if (r.srcName) {
          if (r.dstPrefix && !j.ifname.startsWith(r.dstPrefix)) {
            log.debug(
              `plugin "${name}" asked for prefix ${r.dstPrefix}; the interface is named ${j.ifname} (tsnet names interfaces by attachment order)`,
            );
          }
          const index = await moveIn(kdeps, name, j.sandboxKey, r.srcName, j.netlink);
          state.index = index;
          ep.join = state;
          const own = j.netlink ? { file: j.sandboxKey, netlink: j.netlink } : undefined;
          rb.push('move interface into the sandbox', () => takeOutOf(ep, own));
          const mac = j.mac ?? ep.info.mac;
          const address = j.address ?? ep.info.address;
          const addressV6 = j.addressV6 ?? ep.info.addressV6;
          await configure(
            kdeps,
            name,
            {
              sandboxKey: j.sandboxKey,
              srcName: r.srcName,
              ifname: j.ifname,
              routes: r.routes,
              ...(mac ? { mac } : {}),
              ...(address ? { address } : {}),
              ...(addressV6 ? { addressV6 } : {}),
            },
            index,
            j.netlink,
          );
        } else {
          if (r.routes.length > 0)
            throw new TsnetError(
              'TSNET_PLUGIN_BAD_REPLY',
              `plugin "${name}": NetworkDriver.Join: StaticRoutes given without an interface (InterfaceName.SrcName)`,
            );
          ep.join = state;
        }
        rb.commit();
        const info: JoinInfo = { disableGatewayService: r.disableGatewayService, gatewayFromDriver: true };
        if (r.gateway) info.gateway = r.gateway;
        if (r.gatewayV6 && (j.addressV6 ?? ep.info.addressV6)) info.gatewayV6 = r.gatewayV6;
        return info;
      } catch (err) {
        const failures = await rb.unwind();
        for (const f of failures) log.warn(`plugin "${name}": join rollback: ${f.message}`);
        if (fresh && !ep.leftover) endpoints.delete(j.endpointId);
        throw err;
      }
    },

    async leave(networkId, endpointId, opts) {
      const ep = endpoints.get(endpointId);
      let failure: unknown;
      try {
        await tolerant(
          'Leave',
          { NetworkID: networkId, EndpointID: endpointId },
          `plugin "${name}": leave ${endpointId.slice(0, 12)}`,
        );
      } catch (err) {
        failure = err;
      }
      if (ep) await takeOutOf(ep, opts?.sandbox);
      if (failure) {
        // The plugin did not answer: the interface it made, now back on the host, goes at once
        // (Leave and DeleteEndpoint are retried later as a pending delete).
        await cleanupLeftover(ep);
        throw failure;
      }
    },

    async programExternalConnectivity(networkId, endpointId, ports: PortMapping[]): Promise<PortMapping[]> {
      const ep = endpoints.get(endpointId);
      try {
        await call('ProgramExternalConnectivity', {
          NetworkID: networkId,
          EndpointID: endpointId,
          Options: dockerOptions(ep?.join?.options ?? {}, ports),
        });
        return ports;
      } catch (err) {
        if (isNotImplemented(err)) {
          warn404(err);
          return [];
        }
        throw err;
      }
    },

    async revokeExternalConnectivity(networkId, endpointId) {
      try {
        await call('RevokeExternalConnectivity', { NetworkID: networkId, EndpointID: endpointId });
      } catch (err) {
        if (isNotImplemented(err)) return warn404(err);
        if (!reported(err)) throw err;
        log.warn(
          `plugin "${name}": revoke external connectivity of ${endpointId.slice(0, 12)}: ${(err as Error).message} (ignored)`,
        );
      }
    },

    async discoverNew(type, data) {
      await discover('DiscoverNew', type, data);
    },

    async discoverDelete(type, data) {
      await discover('DiscoverDelete', type, data);
    },

    async endpointOperInfo(networkId, endpointId) {
      try {
        const r = await call('EndpointOperInfo', { NetworkID: networkId, EndpointID: endpointId });
        const v = r.Value ?? Object.entries(r).find(([k]) => k.toLowerCase() === 'value')?.[1];
        return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
      } catch (err) {
        log.debug(`plugin "${name}": endpoint oper info of ${endpointId.slice(0, 12)}: ${(err as Error).message}`);
        return {};
      }
    },

    async gwAllocCheck(n) {
      if (!caps!.gwAllocChecker) return { skipIPv4: false, skipIPv6: false };
      const r = await call('GwAllocCheck', { Options: createNetworkRequest(n).Options });
      const get = (k: string): boolean =>
        Object.entries(r).some(([key, v]) => key.toLowerCase() === k.toLowerCase() && v === true);
      return { skipIPv4: get('SkipIPv4'), skipIPv6: get('SkipIPv6') };
    },

    async restore(networks, eps) {
      // Docker never replays CreateNetwork/CreateEndpoint to a remote plugin; only tsnet's own
      // bookkeeping (which sandbox each endpoint joined) is rebuilt, so leave can clean up.
      for (const n of networks) ipv6Networks.set(n.id, n.enableIPv6 || n.ipv6.length > 0);
      for (const e of eps) {
        const info: EndpointInfo = {};
        if (e.mac) info.mac = e.mac;
        const state: EndpointState = { networkId: e.networkId, info };
        if (e.joined) state.join = { sandboxKey: e.joined.sandboxKey, ifname: e.joined.ifname, options: e.joined.options };
        endpoints.set(e.endpointId, state);
      }
    },
  };

  async function discover(
    method: 'DiscoverNew' | 'DiscoverDelete',
    type: 'node' | 'peer',
    data: Record<string, unknown>,
  ): Promise<void> {
    if (type !== 'node') return; // Docker forwards node discovery (type 1) only
    const pick = (k: string): unknown => data[k] ?? data[k.charAt(0).toLowerCase() + k.slice(1)];
    const body = {
      DiscoveryType: 1,
      DiscoveryData: {
        Address: String(pick('Address') ?? ''),
        BindAddress: String(pick('BindAddress') ?? ''),
        Self: pick('Self') === true,
      },
    };
    try {
      await call(method, body);
    } catch (err) {
      if (isNotImplemented(err)) return warn404(err);
      throw err;
    }
  }

  /**
   * The controller routes through the Join reply's Gateway/GatewayIPv6 on the interface the plugin
   * handed over: refuse, naming the field, what would fail later as a bare ENODEV/ENETUNREACH.
   */
  function checkGateways(r: JoinReply, address: string | undefined, addressV6: string | undefined): void {
    const m = 'NetworkDriver.Join';
    for (const [field, gw, addr] of [
      ['Gateway', r.gateway, address],
      ['GatewayIPv6', r.gatewayV6, addressV6],
    ] as const) {
      if (!gw) continue;
      if (!r.srcName)
        throw badReply(name, m, `${field} ${gw} given without InterfaceName.SrcName: there is no interface to route through`);
      const onLink = (addr && contains(addr, gw)) || r.routes.some((x) => x.connected && contains(x.destination, gw));
      if (addr && !onLink)
        throw badReply(
          name,
          m,
          `${field} ${gw} is not on the endpoint's subnet (${addr}) nor on a connected StaticRoute: the default route cannot go through it`,
        );
    }
  }

  /** 404 = "not implemented" at the optional calls (Docker's rule); a 404 with an Err is a misuse worth a line. */
  function warn404(err: unknown): void {
    if (isMisused404(err))
      log.warn(
        `${(err as Error).message}: Docker and tsnet read a 404 as "not implemented" and go on; a plugin that means an error must answer with another status (500)`,
      );
  }

  if (caps.scope === 'global') {
    driver.allocateNetwork = async (n) => {
      const req = createNetworkRequest(n);
      const r = await call('AllocateNetwork', {
        NetworkID: n.id,
        Options: { ...n.options },
        IPv4Data: req.IPv4Data,
        IPv6Data: req.IPv6Data,
      });
      return strMap(r, 'Options');
    };
    driver.freeNetwork = async (networkId) => {
      await call('FreeNetwork', { NetworkID: networkId });
    };
  }
  return driver;
}
