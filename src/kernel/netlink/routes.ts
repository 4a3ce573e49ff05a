/** Routes, IPv4 and IPv6. */
import { FlagsNew, rt } from 'netlink';
import { describe, type LinkRef, type NetlinkConn } from './conn.js';
import {
  afOf,
  familyOfAf,
  formatCidr,
  formatIp,
  parseCidr,
  parseIp,
  scopeName,
  scopeToNumber,
  type IpFamily,
  type Scope,
} from './encode.js';
import { isErrno } from './errors.js';
import { linkNames } from './links.js';
import { route, RTM_DELROUTE, RTM_NEWROUTE, type WireRoute } from './wire.js';
import { TsnetError } from '../../errors/index.js';

export const RT_TABLE_MAIN = 254;
export const RT_TABLE_LOCAL = 255;
const RT_TABLE_UNSPEC = 0;
const RTNH_F_ONLINK = 4;

export type RouteType =
  | 'unicast'
  | 'local'
  | 'broadcast'
  | 'anycast'
  | 'multicast'
  | 'blackhole'
  | 'unreachable'
  | 'prohibit'
  | 'throw';

export interface RouteSpec {
  /** '10.1.0.0/16', 'fd00::/64', or 'default'. */
  dst: string;
  /** Needed only when dst is 'default' and there is no gateway to tell the family (default 4). */
  family?: IpFamily;
  gateway?: string;
  /** Output device (RTA_OIF). */
  dev?: LinkRef;
  /** Routing table id (default main, 254). */
  table?: number;
  /** Default: 'link' for an IPv4 route with a dev and no gateway, 'host' for type local, else 'universe'. */
  scope?: Scope | number;
  /** RTA_PRIORITY. */
  metric?: number;
  /** Preferred source address (RTA_PREFSRC, `ip route … src X`). */
  src?: string;
  /** The gateway is reachable on dev even if no address covers it (RTNH_F_ONLINK). */
  onlink?: boolean;
  /** rtm_protocol (default 3, "boot", as `ip route add`). */
  protocol?: number;
  /** Default 'unicast'. */
  type?: RouteType;
}

export interface RouteInfo {
  family: IpFamily;
  /** 'default' or a CIDR. */
  dst: string;
  gateway?: string;
  /** Output device name, if it has one. */
  dev?: string;
  devIndex?: number;
  table: number;
  scope: Scope | number;
  protocol: number;
  type: RouteType | number;
  metric?: number;
  /** Preferred source. */
  src?: string;
}

export interface ListRoutesOptions {
  family?: IpFamily;
  /** Table id, or 'all' (default: main, 254). */
  table?: number | 'all';
}

interface Dst {
  family: IpFamily;
  bytes?: Buffer;
  len: number;
}

function parseDst(spec: RouteSpec): Dst {
  if (spec.dst === 'default') {
    const family = spec.gateway !== undefined ? parseIp(spec.gateway).family : (spec.family ?? 4);
    return { family, len: 0 };
  }
  const p = parseCidr(spec.dst);
  return p.prefixLen === 0 ? { family: p.family, len: 0 } : { family: p.family, bytes: p.bytes, len: p.prefixLen };
}

function typeNumber(t: RouteType | undefined): number {
  if (t === undefined) return rt.RouteType.UNICAST;
  const n = rt.RouteType[t.toUpperCase() as keyof typeof rt.RouteType];
  if (n === undefined)
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid route type: ${JSON.stringify(t)}`, { details: { type: t } });
  return n;
}

function describeRoute(spec: RouteSpec): string {
  const parts = [spec.dst];
  if (spec.gateway !== undefined) parts.push(`via ${spec.gateway}`);
  if (spec.dev !== undefined) parts.push(`dev ${describe(spec.dev)}`);
  if (spec.table !== undefined && spec.table !== RT_TABLE_MAIN) parts.push(`table ${spec.table}`);
  if (spec.metric !== undefined) parts.push(`metric ${spec.metric}`);
  return parts.join(' ');
}

async function buildRoute(c: NetlinkConn, spec: RouteSpec, op: string, forDelete: boolean): Promise<WireRoute> {
  const dst = parseDst(spec);
  const table = spec.table ?? RT_TABLE_MAIN;
  if (!Number.isInteger(table) || table < 0 || table > 0xffffffff) {
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid route table: ${table}`, { details: { table } });
  }
  const type = typeNumber(spec.type);
  let gateway: Buffer | undefined;
  if (spec.gateway !== undefined) {
    const gw = parseIp(spec.gateway);
    if (gw.family !== dst.family) {
      throw new TsnetError('TSNET_INVALID_ARGUMENT', `gateway ${spec.gateway} is not of the family of ${spec.dst}`, {
        details: { gateway: spec.gateway },
      });
    }
    gateway = gw.bytes;
  }
  const prefsrc = spec.src !== undefined ? parseIp(spec.src).bytes : undefined;
  // Validate everything above before the lookup (a kernel call).
  const oif = spec.dev !== undefined ? await c.indexOf(spec.dev, op) : undefined;

  let scope: number;
  if (forDelete)
    scope = rt.RouteScope.NOWHERE; // matches any scope
  else if (spec.scope !== undefined) scope = scopeToNumber(spec.scope);
  else if (type === rt.RouteType.LOCAL) scope = rt.RouteScope.HOST;
  else if (dst.family === 4 && spec.gateway === undefined && spec.dev !== undefined && type === rt.RouteType.UNICAST)
    scope = rt.RouteScope.LINK;
  else scope = rt.RouteScope.UNIVERSE;

  // the request's bytes are written directly (./wire.ts: the package's layout, without its objects)
  return {
    family: afOf(dst.family),
    dstLen: dst.len,
    rtmTable: table < 256 ? table : RT_TABLE_UNSPEC,
    scope,
    // For delete, protocol 0 and type 0 match any (as iproute2 sends them).
    protocol: forDelete ? (spec.protocol ?? 0) : (spec.protocol ?? rt.RouteProtocol.BOOT),
    type: forDelete && spec.type === undefined ? 0 : type,
    ...(spec.onlink ? { flags: RTNH_F_ONLINK } : {}),
    table,
    ...(dst.bytes ? { dst: dst.bytes } : {}),
    ...(gateway ? { gateway } : {}),
    ...(prefsrc ? { prefsrc } : {}),
    ...(spec.metric !== undefined ? { priority: spec.metric } : {}),
    ...(oif !== undefined ? { oif } : {}),
  };
}

export async function addRoute(c: NetlinkConn, spec: RouteSpec): Promise<void> {
  const op = `add route ${describeRoute(spec)}`;
  const r = await buildRoute(c, spec, op, false);
  await c.send(op, RTM_NEWROUTE, route(r), FlagsNew.CREATE | FlagsNew.EXCL);
}

/** Add or replace the route with the same dst/table (and metric, for IPv6). */
export async function replaceRoute(c: NetlinkConn, spec: RouteSpec): Promise<void> {
  const op = `replace route ${describeRoute(spec)}`;
  const r = await buildRoute(c, spec, op, false);
  await c.send(op, RTM_NEWROUTE, route(r), FlagsNew.CREATE | FlagsNew.REPLACE);
}

/** Delete a route. Idempotent: a route (or dev) that is already gone is not an error. */
export async function delRoute(c: NetlinkConn, spec: RouteSpec): Promise<void> {
  const op = `delete route ${describeRoute(spec)}`;
  try {
    await c.send(op, RTM_DELROUTE, route(await buildRoute(c, spec, op, true)));
  } catch (err) {
    if (isErrno(err, 'ESRCH', 'ENOENT', 'ENODEV')) return;
    throw err;
  }
}

function enumNumber(v: unknown, e: Record<string, string | number>): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const n = e[v];
    if (typeof n === 'number') return n;
  }
  return 0;
}

export async function listRoutes(c: NetlinkConn, opts: ListRoutesOptions = {}): Promise<RouteInfo[]> {
  const req: rt.Route = opts.family === undefined ? {} : { family: afOf(opts.family) };
  const msgs = await c.run('list routes', (s) => s.getRoutes(req, undefined, c.opts()));
  const wantTable = opts.table ?? RT_TABLE_MAIN;
  let names: Map<number, string> | undefined;
  const out: RouteInfo[] = [];
  for (const { data, attrs } of msgs) {
    const family = familyOfAf(data.family);
    if (family === undefined) continue;
    if (opts.family !== undefined && family !== opts.family) continue;
    const table = attrs.table ?? data.table ?? 0;
    if (wantTable !== 'all' && table !== wantTable) continue;
    const len = data.dstLen ?? 0;
    const typeNum = enumNumber(data.type, rt.RouteType as unknown as Record<string, string | number>);
    const typeName = rt.RouteType[typeNum]?.toLowerCase() as RouteType | undefined;
    const r: RouteInfo = {
      family,
      dst: len === 0 ? 'default' : formatCidr(attrs.dst ?? Buffer.alloc(family === 4 ? 4 : 16), len),
      table,
      scope: scopeName(data.scope as string | number | undefined),
      protocol: enumNumber(data.protocol, rt.RouteProtocol as unknown as Record<string, string | number>),
      type: typeName ?? typeNum,
    };
    if (attrs.gateway) r.gateway = formatIp(attrs.gateway);
    if (attrs.oif) {
      names ??= await linkNames(c);
      r.devIndex = attrs.oif;
      const n = names.get(attrs.oif);
      if (n !== undefined) r.dev = n;
    }
    if (attrs.priority !== undefined) r.metric = attrs.priority;
    if (attrs.prefsrc) r.src = formatIp(attrs.prefsrc);
    out.push(r);
  }
  return out;
}
