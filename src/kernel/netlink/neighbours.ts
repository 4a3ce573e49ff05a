/** Neighbour (ARP/NDP) entries and bridge / vxlan forwarding database (FDB) entries. */
import { FlagsNew, type rt } from 'netlink';
import { describe, type LinkRef, type NetlinkConn } from './conn.js';
import {
  AF_BRIDGE,
  afOf,
  bufferToMac,
  familyOfAf,
  formatIp,
  macToBuffer,
  parseIp,
  u16be,
  u32le,
  type IpFamily,
} from './encode.js';
import { isErrno } from './errors.js';
import { linkNames } from './links.js';
import { TsnetError } from '../../errors/index.js';

export interface NeighbourSpec {
  dev: LinkRef;
  ip: string;
  mac: string;
  /** NUD_PERMANENT (default true); false gives NUD_REACHABLE, which the kernel may age out. */
  permanent?: boolean;
  /** Overwrite an existing entry instead of failing with EEXIST (`ip neigh replace`). */
  replace?: boolean;
}

export interface NeighbourInfo {
  dev: string;
  devIndex: number;
  family: IpFamily;
  ip: string;
  mac?: string;
  permanent: boolean;
  /** NUD state names that are set, e.g. ['permanent'] or ['reachable']. */
  state: string[];
}

export interface FdbSpec {
  /** The device the entry belongs to (vxlan device, or a bridge port with master: true). */
  dev: LinkRef;
  mac: string;
  /** Remote VTEP IP (vxlan). */
  dst?: string;
  /** NTF_SELF: the entry is in the device's own FDB (vxlan). Default when master is not set. */
  self?: boolean;
  /** NTF_MASTER: the entry is in the FDB of the bridge `dev` is a port of. */
  master?: boolean;
  /**
   * Default true: NUD_PERMANENT|NUD_NOARP (`bridge fdb add … permanent`). On a bridge (master) a
   * permanent entry means "local: deliver to the host"; for a static forwarding entry on a bridge
   * port pass false, which gives NUD_NOARP|NUD_REACHABLE (`bridge fdb add … static`).
   */
  permanent?: boolean;
  /** NLM_F_APPEND: add another remote for the same MAC (flood list entries 00:00:00:00:00:00). */
  append?: boolean;
  /** NLM_F_REPLACE: overwrite an existing entry. */
  replace?: boolean;
  /** Remote VNI (NDA_VNI), vxlan only. */
  vni?: number;
  /** Remote UDP port (NDA_PORT), vxlan only. */
  port?: number;
}

export interface FdbInfo {
  dev: string;
  devIndex: number;
  mac: string;
  dst?: string;
  vni?: number;
  port?: number;
  /** Name of the master (bridge) holding the entry, for bridge entries. */
  master?: string;
  masterIndex?: number;
  self: boolean;
  permanent: boolean;
  /** NUD_NOARP without NUD_PERMANENT: a static entry. */
  static: boolean;
  state: string[];
}

function stateNames(s: rt.NeighborState | undefined): string[] {
  return Object.entries(s ?? {})
    .filter(([k, v]) => k !== '__unknown' && v === true)
    .map(([k]) => k);
}

// ---------------------------------------------------------------------------- neighbours

export async function addNeighbour(c: NetlinkConn, spec: NeighbourSpec): Promise<void> {
  const ip = parseIp(spec.ip);
  const lladdr = macToBuffer(spec.mac);
  const op = `${spec.replace ? 'replace' : 'add'} neighbour ${spec.ip} lladdr ${spec.mac} on ${describe(spec.dev)}`;
  const ifindex = await c.indexOf(spec.dev, op);
  const state: rt.NeighborState = spec.permanent === false ? { reachable: true } : { permanent: true };
  const flags = FlagsNew.CREATE | (spec.replace ? FlagsNew.REPLACE : FlagsNew.EXCL);
  await c.run(op, (s) =>
    s.newNeighbor({ family: afOf(ip.family), ifindex, state }, { dst: ip.bytes, lladdr }, c.opts({ flags })),
  );
}

/** Delete a neighbour entry. Idempotent: an entry (or dev) that is already gone is not an error. */
export async function delNeighbour(c: NetlinkConn, spec: { dev: LinkRef; ip: string }): Promise<void> {
  const ip = parseIp(spec.ip);
  const op = `delete neighbour ${spec.ip} on ${describe(spec.dev)}`;
  try {
    const ifindex = await c.indexOf(spec.dev, op);
    await c.run(op, (s) => s.delNeighbor({ family: afOf(ip.family), ifindex }, { dst: ip.bytes }, c.opts()));
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ENODEV')) return;
    throw err;
  }
}

export async function listNeighbours(c: NetlinkConn, opts: { dev?: LinkRef; family?: IpFamily } = {}): Promise<NeighbourInfo[]> {
  const op = opts.dev === undefined ? 'list neighbours' : `list neighbours of ${describe(opts.dev)}`;
  const index = opts.dev === undefined ? undefined : await c.indexOf(opts.dev, op);
  const req: rt.Neighbor = opts.family === undefined ? {} : { family: afOf(opts.family) };
  const msgs = await c.run(op, (s) => s.getNeighbors(req, undefined, c.opts()));
  const names = await linkNames(c);
  const out: NeighbourInfo[] = [];
  for (const { data, attrs } of msgs) {
    const family = familyOfAf(data.family);
    if (family === undefined || !attrs.dst) continue;
    if (opts.family !== undefined && family !== opts.family) continue;
    if (index !== undefined && data.ifindex !== index) continue;
    const n: NeighbourInfo = {
      dev: names.get(data.ifindex ?? 0) ?? '',
      devIndex: data.ifindex ?? 0,
      family,
      ip: formatIp(attrs.dst),
      permanent: !!data.state?.permanent,
      state: stateNames(data.state),
    };
    if (attrs.lladdr) n.mac = bufferToMac(attrs.lladdr);
    out.push(n);
  }
  return out;
}

// ---------------------------------------------------------------------------- FDB

function fdbRequest(spec: FdbSpec, ifindex: number, forDelete: boolean): { data: rt.Neighbor; attrs: rt.NeighborAttrs } {
  const flags: rt.NeighborFlags = {};
  if (spec.master) flags.master = true;
  if (spec.self || !spec.master) flags.self = true;
  const data: rt.Neighbor = { family: AF_BRIDGE, ifindex, flags };
  if (!forDelete) data.state = spec.permanent === false ? { noarp: true, reachable: true } : { permanent: true, noarp: true };
  const attrs: rt.NeighborAttrs = { lladdr: macToBuffer(spec.mac) };
  if (spec.dst !== undefined) attrs.dst = parseIp(spec.dst).bytes;
  if (spec.vni !== undefined) {
    if (!Number.isInteger(spec.vni) || spec.vni < 0 || spec.vni > 0xffffff) {
      throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid vni: ${spec.vni}`, { details: { vni: spec.vni } });
    }
    attrs.vni = u32le(spec.vni);
  }
  if (spec.port !== undefined) attrs.port = u16be(spec.port);
  return { data, attrs };
}

function describeFdb(spec: FdbSpec): string {
  let s = `${spec.mac} on ${describe(spec.dev)}`;
  if (spec.dst !== undefined) s += ` dst ${spec.dst}`;
  if (spec.vni !== undefined) s += ` vni ${spec.vni}`;
  if (spec.master) s += ' (master)';
  return s;
}

export async function addFdb(c: NetlinkConn, spec: FdbSpec): Promise<void> {
  const verb = spec.append ? 'append' : spec.replace ? 'replace' : 'add';
  const op = `${verb} fdb entry ${describeFdb(spec)}`;
  fdbRequest(spec, 0, false); // validate before the lookup
  const ifindex = await c.indexOf(spec.dev, op);
  const { data, attrs } = fdbRequest(spec, ifindex, false);
  const flags = FlagsNew.CREATE | (spec.append ? FlagsNew.APPEND : spec.replace ? FlagsNew.REPLACE : FlagsNew.EXCL);
  await c.run(op, (s) => s.newNeighbor(data, attrs, c.opts({ flags })));
}

/**
 * Delete an FDB entry (with dst: only that remote of a vxlan entry). Idempotent: an entry
 * (or dev) that is already gone is not an error.
 */
export async function delFdb(c: NetlinkConn, spec: Omit<FdbSpec, 'append' | 'replace' | 'permanent'>): Promise<void> {
  const op = `delete fdb entry ${describeFdb(spec)}`;
  fdbRequest(spec, 0, true);
  try {
    const ifindex = await c.indexOf(spec.dev, op);
    const { data, attrs } = fdbRequest(spec, ifindex, true);
    await c.run(op, (s) => s.delNeighbor(data, attrs, c.opts()));
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ENODEV')) return;
    throw err;
  }
}

/** FDB entries of one device (or all), including the bridge's own local and multicast entries. */
export async function listFdb(c: NetlinkConn, dev?: LinkRef): Promise<FdbInfo[]> {
  const op = dev === undefined ? 'list fdb' : `list fdb of ${describe(dev)}`;
  const index = dev === undefined ? undefined : await c.indexOf(dev, op);
  const msgs = await c.run(op, (s) => s.getNeighbors({ family: AF_BRIDGE }, undefined, c.opts()));
  const names = await linkNames(c);
  const out: FdbInfo[] = [];
  for (const { data, attrs } of msgs) {
    if (data.family !== AF_BRIDGE || !attrs.lladdr) continue;
    if (index !== undefined && data.ifindex !== index) continue;
    const e: FdbInfo = {
      dev: names.get(data.ifindex ?? 0) ?? '',
      devIndex: data.ifindex ?? 0,
      mac: bufferToMac(attrs.lladdr),
      self: !!data.flags?.self,
      permanent: !!data.state?.permanent,
      static: !!data.state?.noarp && !data.state?.permanent,
      state: stateNames(data.state),
    };
    if (attrs.dst) e.dst = formatIp(attrs.dst);
    if (attrs.vni && attrs.vni.length >= 4) e.vni = attrs.vni.readUInt32LE(0);
    if (attrs.port && attrs.port.length >= 2) e.port = attrs.port.readUInt16BE(0);
    if (attrs.master) {
      e.masterIndex = attrs.master;
      const m = names.get(attrs.master);
      if (m !== undefined) e.master = m;
    }
    out.push(e);
  }
  return out;
}
