/**
 * Wire format of /NetworkDriver.* (moby daemon/libnetwork/drivers/remote/api/api.go), built
 * from tsnet's driver-api values and parsed back. Requests use Docker's field names and Go's
 * conventions (nil map → null, empty list → [], Interface always with its three keys); replies
 * are read case-insensitively and checked field by field — a bad field is TSNET_PLUGIN_BAD_REPLY.
 */
import { TsnetError } from '../../../errors/index.js';
import { tryParseCidr, tryParseIp } from '../../../lib/cidr.js';
import { arr, bool, field, isObject, num, obj, str, WireTypeError, type JsonObject } from '../../../plugins/wire.js';
import type { IpamData, NetworkSpec, PortMapping } from '../../driver-api.js';

export const OPT_GENERIC = 'com.docker.network.generic';
export const OPT_ENABLE_IPV4 = 'com.docker.network.enable_ipv4';
export const OPT_ENABLE_IPV6 = 'com.docker.network.enable_ipv6';
export const OPT_INTERNAL = 'com.docker.network.internal';
export const OPT_PORTMAP = 'com.docker.network.portmap';
export const OPT_EXPOSED_PORTS = 'com.docker.network.endpoint.exposedports';

/** Docker's default IPAM's local address space: used when the spec does not name one. */
export const DEFAULT_ADDRESS_SPACE = 'LocalDefault';

const PROTO_NUMBERS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, sctp: 132 };
const PROTO_NAMES: Record<number, PortMapping['proto']> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };

export function badReply(plugin: string, method: string, why: string): TsnetError {
  return new TsnetError('TSNET_PLUGIN_BAD_REPLY', `plugin "${plugin}": ${method}: ${why}`, { details: { plugin, method } });
}

/** Run a parser; WireTypeErrors become BAD_REPLY naming the plugin and method. */
export function parsing<T>(plugin: string, method: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof WireTypeError) throw badReply(plugin, method, err.message);
    throw err;
  }
}

// ---------------------------------------------------------------- requests

function ipamData(list: IpamData[]): JsonObject[] {
  return list.map((d) => {
    // Docker marshals IPAMData through a map: AddressSpace/Pool always, Gateway/AuxAddresses only when set.
    const space = (d as IpamData & { addressSpace?: string }).addressSpace ?? DEFAULT_ADDRESS_SPACE;
    const out: JsonObject = { AddressSpace: space, Pool: d.pool };
    if (d.gateway) out.Gateway = d.gateway;
    if (d.auxAddresses && Object.keys(d.auxAddresses).length > 0) out.AuxAddresses = { ...d.auxAddresses };
    return out;
  });
}

/** CreateNetwork / AllocateNetwork request body. */
export function createNetworkRequest(n: NetworkSpec): JsonObject {
  const options: JsonObject = {
    [OPT_GENERIC]: { ...n.options },
    [OPT_ENABLE_IPV4]: n.ipv4.length > 0,
    [OPT_ENABLE_IPV6]: n.enableIPv6,
  };
  if (n.internal) options[OPT_INTERNAL] = true;
  return { NetworkID: n.id, Options: options, IPv4Data: ipamData(n.ipv4), IPv6Data: ipamData(n.ipv6) };
}

/** Docker's PortBinding {Proto, IP, Port, HostIP, HostPort, HostPortEnd} from tsnet's PortMapping. */
export function toPortBinding(p: PortMapping): JsonObject {
  return {
    Proto: PROTO_NUMBERS[p.proto] ?? 6,
    IP: '',
    Port: p.containerPort,
    HostIP: p.hostIp,
    HostPort: p.hostPort,
    HostPortEnd: p.hostPort,
  };
}

/** Exposed port {Proto, Port}. */
export function toTransportPort(p: PortMapping): JsonObject {
  return { Proto: PROTO_NUMBERS[p.proto] ?? 6, Port: p.containerPort };
}

function isTsnetPort(v: unknown): v is PortMapping {
  return isObject(v) && typeof v.proto === 'string' && typeof v.containerPort === 'number';
}

/**
 * Endpoint / sandbox options as Docker sends them. Port mappings may be given in tsnet's shape
 * (PortMapping[]) or Docker's under com.docker.network.portmap; they go out in Docker's shape,
 * with com.docker.network.endpoint.exposedports derived from them when absent.
 */
export function dockerOptions(options: Record<string, unknown>, ports?: PortMapping[]): JsonObject {
  const out: JsonObject = { ...options };
  const given =
    ports ??
    (Array.isArray(options[OPT_PORTMAP]) && (options[OPT_PORTMAP] as unknown[]).every(isTsnetPort)
      ? (options[OPT_PORTMAP] as PortMapping[])
      : undefined);
  if (given) {
    out[OPT_PORTMAP] = given.map(toPortBinding);
    if (!Array.isArray(options[OPT_EXPOSED_PORTS]) || ports) {
      const seen = new Set<string>();
      out[OPT_EXPOSED_PORTS] = given.map(toTransportPort).filter((p) => {
        const k = `${String(p.Proto)}/${String(p.Port)}`;
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      });
    }
  }
  if (Array.isArray(out[OPT_EXPOSED_PORTS]) && (out[OPT_EXPOSED_PORTS] as unknown[]).every(isTsnetPort)) {
    out[OPT_EXPOSED_PORTS] = (out[OPT_EXPOSED_PORTS] as PortMapping[]).map(toTransportPort);
  }
  return out;
}

/** Docker PortBindings back to tsnet PortMappings (unknown protocols dropped). */
export function fromPortBindings(list: unknown): PortMapping[] {
  if (!Array.isArray(list)) return [];
  const out: PortMapping[] = [];
  for (const p of list) {
    if (!isObject(p)) continue;
    const proto = PROTO_NAMES[Number(field(p, 'Proto'))];
    if (!proto) continue;
    out.push({
      proto,
      hostIp: String(field(p, 'HostIP') ?? ''),
      hostPort: Number(field(p, 'HostPort') ?? 0),
      containerPort: Number(field(p, 'Port') ?? 0),
    });
  }
  return out;
}

// ---------------------------------------------------------------- replies

export interface Capabilities {
  scope: 'local' | 'global';
  connectivityScope: 'local' | 'global';
  gwAllocChecker: boolean;
}

export function parseCapabilities(plugin: string, r: JsonObject): Capabilities {
  return parsing(plugin, 'NetworkDriver.GetCapabilities', () => {
    const scope = str(r, 'Scope');
    if (scope !== 'local' && scope !== 'global') {
      throw badReply(
        plugin,
        'NetworkDriver.GetCapabilities',
        `invalid capability: expecting 'local' or 'global' for Scope, got ${JSON.stringify(scope)}`,
      );
    }
    const cs = str(r, 'ConnectivityScope');
    if (cs !== '' && cs !== 'local' && cs !== 'global') {
      throw badReply(
        plugin,
        'NetworkDriver.GetCapabilities',
        `invalid capability: expecting 'local' or 'global' for ConnectivityScope, got ${JSON.stringify(cs)}`,
      );
    }
    return { scope, connectivityScope: cs === '' ? scope : cs, gwAllocChecker: bool(r, 'GwAllocChecker') };
  });
}

export interface ReplyInterface {
  address: string;
  addressV6: string;
  mac: string;
}

const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/** The Interface of a CreateEndpoint reply ('' for fields the plugin left alone). */
export function parseCreateEndpoint(plugin: string, r: JsonObject): ReplyInterface {
  const m = 'NetworkDriver.CreateEndpoint';
  return parsing(plugin, m, () => {
    const i = obj(r, 'Interface');
    const out = { address: str(i, 'Address'), addressV6: str(i, 'AddressIPv6'), mac: str(i, 'MacAddress') };
    if (out.address && tryParseCidr(out.address)?.family !== 4)
      throw badReply(plugin, m, `Interface.Address ${JSON.stringify(out.address)} is not an IPv4 CIDR`);
    if (out.addressV6 && tryParseCidr(out.addressV6)?.family !== 6)
      throw badReply(plugin, m, `Interface.AddressIPv6 ${JSON.stringify(out.addressV6)} is not an IPv6 CIDR`);
    if (out.mac && !MAC_RE.test(out.mac))
      throw badReply(plugin, m, `Interface.MacAddress ${JSON.stringify(out.mac)} is not a MAC address`);
    out.mac = out.mac.toLowerCase();
    return out;
  });
}

export interface JoinReply {
  srcName?: string;
  dstPrefix?: string;
  gateway?: string;
  gatewayV6?: string;
  /** Route type 0 = via nextHop, 1 = connected (on-link). */
  routes: Array<{ destination: string; connected: boolean; nextHop?: string }>;
  disableGatewayService: boolean;
}

const IFNAME_RE = /^[^\s/:]{1,15}$/;

/** Parse and check everything in a Join reply before any kernel work. */
export function parseJoin(plugin: string, r: JsonObject): JoinReply {
  const m = 'NetworkDriver.Join';
  return parsing(plugin, m, () => {
    const out: JoinReply = { routes: [], disableGatewayService: bool(r, 'DisableGatewayService') };
    const iface = obj(r, 'InterfaceName');
    if (iface) {
      const src = str(iface, 'SrcName');
      const prefix = str(iface, 'DstPrefix');
      if (src !== '') {
        if (!IFNAME_RE.test(src))
          throw badReply(plugin, m, `InterfaceName.SrcName ${JSON.stringify(src)} is not an interface name`);
        out.srcName = src;
        if (prefix !== '' && !/^[a-zA-Z0-9_.-]{1,12}$/.test(prefix))
          throw badReply(plugin, m, `InterfaceName.DstPrefix ${JSON.stringify(prefix)} is not a usable name prefix`);
        out.dstPrefix = prefix;
      }
    }
    const gw = str(r, 'Gateway');
    if (gw) {
      if (tryParseIp(gw)?.family !== 4) throw badReply(plugin, m, `Gateway ${JSON.stringify(gw)} is not an IPv4 address`);
      out.gateway = gw;
    }
    const gw6 = str(r, 'GatewayIPv6');
    if (gw6) {
      if (tryParseIp(gw6)?.family !== 6) throw badReply(plugin, m, `GatewayIPv6 ${JSON.stringify(gw6)} is not an IPv6 address`);
      out.gatewayV6 = gw6;
    }
    arr(r, 'StaticRoutes').forEach((x, i) => {
      if (!isObject(x)) throw badReply(plugin, m, `StaticRoutes[${i}] is not an object`);
      const dest = str(x, 'Destination');
      if (!tryParseCidr(dest)) throw badReply(plugin, m, `StaticRoutes[${i}].Destination ${JSON.stringify(dest)} is not a CIDR`);
      const type = num(x, 'RouteType');
      if (type !== 0 && type !== 1)
        throw badReply(plugin, m, `StaticRoutes[${i}].RouteType must be 0 (next hop) or 1 (connected), got ${type}`);
      if (type === 1) {
        out.routes.push({ destination: dest, connected: true });
        return;
      }
      const hop = str(x, 'NextHop');
      const hopIp = tryParseIp(hop);
      if (!hopIp) throw badReply(plugin, m, `StaticRoutes[${i}].NextHop ${JSON.stringify(hop)} is not an IP address`);
      if (hopIp.family !== tryParseCidr(dest)!.family)
        throw badReply(plugin, m, `StaticRoutes[${i}]: NextHop ${hop} is not of the family of ${dest}`);
      out.routes.push({ destination: dest, connected: false, nextHop: hop });
    });
    return out;
  });
}
