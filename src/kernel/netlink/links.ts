/** Links: bridge, veth, vxlan, macvlan; state, master, mtu, mac, name, netns; bridge port options. */
import { FlagsNew, ifla, type rt } from 'netlink';
import { describe, linkSelector, type LinkRef, type NetlinkConn } from './conn.js';
import {
  bufferToMac,
  linkInfo,
  macToBuffer,
  macvlanData,
  parseVxlanData,
  readU32le,
  u32le,
  vxlanData,
  type MacvlanMode,
  type VxlanInfo,
  type VxlanSpec,
} from './encode.js';
import { isErrno } from './errors.js';
import { linkAndPort, linkUp, RTM_NEWLINK, RTM_SETLINK, vethCreate, type AfSpec } from './wire.js';
import { TsnetError } from '../../errors/index.js';

export interface BridgePortInfo {
  hairpin: boolean;
  learning: boolean;
}

export interface LinkInfo {
  index: number;
  name: string;
  mtu: number;
  /** 'aa:bb:cc:dd:ee:ff' ('' when the link has no hardware address). */
  mac: string;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Operationally up (IFF_RUNNING / carrier). */
  running: boolean;
  /** ifindex of the master (bridge) this link is a port of. */
  master?: number;
  /** IFLA_INFO_KIND: 'bridge', 'veth', 'vxlan', 'macvlan', ... (absent for lo / physical). */
  kind?: string;
  /** IFLA_INFO_SLAVE_KIND, e.g. 'bridge' when the link is a bridge port. */
  slaveKind?: string;
  /** IFLA_LINK: veth peer ifindex / macvlan parent / vxlan none (may be in the netns linkNetnsId). */
  parentIndex?: number;
  /** IFLA_LINK_NETNSID: the peer/parent lives in the netns with this id (as seen from this netns). */
  linkNetnsId?: number;
  /** vxlan configuration, when kind is 'vxlan'. */
  vxlan?: VxlanInfo;
  /** Port options, when the link is a bridge port. */
  bridgePort?: BridgePortInfo;
  /** Packet and byte counters (IFLA_STATS64, else IFLA_STATS). */
  stats?: LinkCounters;
  /** IFLA_IFALIAS (`ip link set X alias …`); tsnet marks its links with it. */
  alias?: string;
}

export interface LinkCounters {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

export interface LinkCommonOptions {
  mtu?: number;
  /** 'aa:bb:cc:dd:ee:ff' */
  mac?: string;
  /**
   * IFLA_IFALIAS. The kernel ignores it in a create request, so it is set by a second request
   * right after the create (the link is deleted again when that fails).
   */
  alias?: string;
}

export interface VethPeerSpec extends LinkCommonOptions {
  name: string;
  /** Create the peer directly in the netns this fd refers to (IFLA_NET_NS_FD). */
  netnsFd?: number;
}

/**
 * The host end of a veth, beyond the common options: made a bridge port and brought up in the
 * create request itself (IFLA_MASTER, IFF_UP), and the port's options set together with the
 * alias in the one request that follows the create. A failure of that request deletes the pair.
 */
export interface VethOptions extends LinkCommonOptions, Ipv6LinkOptions {
  /** ifindex of the bridge the new link becomes a port of. */
  master?: number;
  up?: boolean;
  /** Bridge port options (needs `master`). */
  bridgePort?: BridgePortOptions;
}

export interface Ipv6LinkOptions {
  /**
   * IFLA_INET6_ADDR_GEN_MODE none: the kernel gives the link no IPv6 link-local address, so it
   * sends no DAD probe, MLD report or router solicitation (addresses added by hand still work).
   * The kernel refuses the mode in a create request: it goes in the request that follows (for
   * a veth's host end, with the alias; for a peer, with its `setUp`), which must come before
   * the link has carrier. A link without IPv6 (MTU under 1280, a kernel without IPv6) has no
   * link-local address anyway: the request is sent again without the mode.
   */
  noLinkLocal?: boolean;
}

/** IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_ADDR_GEN_MODE: IN6_ADDR_GEN_MODE_NONE } } */
const AF_INET6 = 10;
const NO_LINK_LOCAL = new Map([[AF_INET6, Buffer.from([5, 0, 8, 0, 1, 0, 0, 0])]]);

/** Run a request with IFLA_AF_SPEC, and again without it when the link has no IPv6 (EAFNOSUPPORT). */
async function withAfSpec(afSpec: AfSpec | undefined, send: (a: AfSpec | undefined) => Promise<void>) {
  if (!afSpec) return send(undefined);
  try {
    await send(afSpec);
  } catch (err) {
    if (!isErrno(err, 'EAFNOSUPPORT')) throw err;
    await send(undefined);
  }
}

export interface VxlanOptions extends VxlanSpec, LinkCommonOptions {}

export interface MacvlanOptions extends LinkCommonOptions {
  parentIndex: number;
  mode: MacvlanMode;
  /** Create the macvlan directly in the netns this fd refers to. */
  netnsFd?: number;
}

export interface BridgePortOptions {
  /** Reflect frames back out of the port they came in on (Docker: when the userland proxy is off). */
  hairpin?: boolean;
  learning?: boolean;
}

const CREATE = FlagsNew.CREATE | FlagsNew.EXCL;

function checkMtu(mtu: number | undefined): void {
  if (mtu !== undefined && (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535)) {
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid mtu: ${mtu}`, { details: { mtu } });
  }
}

function checkName(name: string): void {
  // IFNAMSIZ is 16 including the NUL; the kernel also refuses '/', ':' and whitespace.
  if (typeof name !== 'string' || name.length === 0 || name.length > 15 || /[/:\s]/.test(name) || name === '.' || name === '..') {
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid interface name: ${JSON.stringify(name)}`, { details: { name } });
  }
}

function checkAlias(alias: string): string {
  // IFALIASZ is 256 including the NUL
  if (typeof alias !== 'string' || alias.length > 255 || alias.includes('\0')) {
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid interface alias: ${JSON.stringify(alias)}`);
  }
  return alias;
}

/** The common options checked, as ./wire.ts takes them. */
function wireCommon(o: LinkCommonOptions): { mtu?: number; mac?: Buffer } {
  checkMtu(o.mtu);
  if (o.alias !== undefined) checkAlias(o.alias);
  return { ...(o.mtu !== undefined ? { mtu: o.mtu } : {}), ...(o.mac !== undefined ? { mac: macToBuffer(o.mac) } : {}) };
}

function common(o: LinkCommonOptions): ifla.LinkAttrs {
  checkMtu(o.mtu);
  const attrs: ifla.LinkAttrs = {};
  if (o.mtu !== undefined) attrs.mtu = o.mtu;
  if (o.mac !== undefined) attrs.address = macToBuffer(o.mac);
  if (o.alias !== undefined) checkAlias(o.alias);
  return attrs;
}

export function toLinkInfo(msg: rt.LinkMessage): LinkInfo {
  const { data, attrs } = msg;
  const out: LinkInfo = {
    index: data.index ?? 0,
    name: attrs.ifname ?? '',
    mtu: attrs.mtu ?? 0,
    mac: bufferToMac(attrs.address),
    up: !!data.flags?.up,
    running: !!data.flags?.running,
  };
  if (attrs.master) out.master = attrs.master;
  if (attrs.ifalias) out.alias = attrs.ifalias;
  const st = attrs.stats64 ?? attrs.stats;
  if (st) {
    out.stats = {
      rxBytes: Number(st.rxBytes ?? 0),
      rxPackets: Number(st.rxPackets ?? 0),
      rxErrors: Number(st.rxErrors ?? 0),
      rxDropped: Number(st.rxDropped ?? 0),
      txBytes: Number(st.txBytes ?? 0),
      txPackets: Number(st.txPackets ?? 0),
      txErrors: Number(st.txErrors ?? 0),
      txDropped: Number(st.txDropped ?? 0),
    };
  }
  const parent = readU32le(attrs.link);
  if (parent) out.parentIndex = parent;
  if (attrs.linkNetnsid !== undefined) out.linkNetnsId = attrs.linkNetnsid;
  if (attrs.linkinfo) {
    try {
      const info = ifla.parseInfo(attrs.linkinfo);
      if (info.kind) out.kind = info.kind;
      if (info.slaveKind) out.slaveKind = info.slaveKind;
      if (info.kind === 'vxlan' && info.data) out.vxlan = parseVxlanData(info.data);
      if (info.slaveKind === 'bridge' && info.slaveData) {
        const p = ifla.parseBridgePort(info.slaveData);
        out.bridgePort = { hairpin: (p.mode ?? 0) !== 0, learning: (p.learning ?? 0) !== 0 };
      }
    } catch {
      // an attribute layout this package version cannot parse: report what we have
    }
  }
  return out;
}

export async function getLink(c: NetlinkConn, ref: LinkRef): Promise<LinkInfo | undefined> {
  const sel = linkSelector(ref);
  try {
    const msgs = await c.run(`get link ${describe(ref)}`, (s) => s.getLink(sel.data, sel.attrs, c.opts()));
    return msgs[0] ? toLinkInfo(msgs[0]) : undefined;
  } catch (err) {
    if (isErrno(err, 'ENODEV')) return undefined;
    throw err;
  }
}

export async function listLinks(c: NetlinkConn): Promise<LinkInfo[]> {
  const msgs = await c.run('list links', (s) => s.getLinks(undefined, undefined, c.opts()));
  return msgs.map(toLinkInfo);
}

/** ifindex → name of every link in this netns (used to name links in address/route/neighbour lists). */
export async function linkNames(c: NetlinkConn): Promise<Map<number, string>> {
  return new Map((await listLinks(c)).map((l) => [l.index, l.name]));
}

export async function addBridge(c: NetlinkConn, name: string, opts: LinkCommonOptions = {}): Promise<void> {
  checkName(name);
  const attrs: ifla.LinkAttrs = { ifname: name, ...common(opts), linkinfo: linkInfo('bridge') };
  await c.run(`add bridge ${name}`, (s) => s.newLink({}, attrs, c.opts({ flags: CREATE })));
  await markNew(c, name, opts.alias);
}

/** Set the alias of a link made just now; delete the link when that fails. */
async function markNew(c: NetlinkConn, name: string, alias: string | undefined): Promise<void> {
  if (alias === undefined) return;
  try {
    await setAlias(c, name, alias);
  } catch (err) {
    await deleteLink(c, name).catch(() => undefined);
    throw err;
  }
}

export async function addVeth(c: NetlinkConn, name: string, peer: VethPeerSpec, opts: VethOptions = {}): Promise<void> {
  checkName(name);
  checkName(peer.name);
  if (opts.bridgePort && opts.master === undefined)
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `add veth ${name}: bridge port options need a master`);
  // the request's bytes written directly (./wire.ts: the package's layout, without its objects)
  const body = vethCreate(
    name,
    { name: peer.name, ...wireCommon(peer), ...(peer.netnsFd !== undefined ? { netnsFd: peer.netnsFd } : {}) },
    { ...wireCommon(opts), ...(opts.master !== undefined ? { master: opts.master } : {}), up: opts.up === true },
  );
  await c.send(`add veth ${name} (peer ${peer.name})`, RTM_NEWLINK, body, CREATE);
  if (!opts.bridgePort && !opts.noLinkLocal) return markNew(c, name, opts.alias);
  // the alias, the port's options and the IPv6 mode in one request (the link is a port since its create)
  try {
    await setLinkAndPort(c, name, opts.alias, opts.bridgePort ?? {}, opts.noLinkLocal ? NO_LINK_LOCAL : undefined);
  } catch (err) {
    await deleteLink(c, name).catch(() => undefined);
    throw err;
  }
}

export async function addVxlan(c: NetlinkConn, name: string, opts: VxlanOptions): Promise<void> {
  checkName(name);
  const attrs: ifla.LinkAttrs = { ifname: name, ...common(opts), linkinfo: linkInfo('vxlan', ifla.formatVxlan(vxlanData(opts))) };
  await c.run(`add vxlan ${name} (vni ${opts.vni})`, (s) => s.newLink({}, attrs, c.opts({ flags: CREATE })));
}

export async function addMacvlan(c: NetlinkConn, name: string, opts: MacvlanOptions): Promise<void> {
  checkName(name);
  const attrs: ifla.LinkAttrs = {
    ifname: name,
    ...common(opts),
    link: u32le(opts.parentIndex),
    linkinfo: linkInfo('macvlan', ifla.formatMacvlan(macvlanData(opts.mode))),
  };
  if (opts.netnsFd !== undefined) attrs.netNsFd = opts.netnsFd;
  await c.run(`add macvlan ${name} (parent #${opts.parentIndex})`, (s) => s.newLink({}, attrs, c.opts({ flags: CREATE })));
}

async function setLink(c: NetlinkConn, ref: LinkRef, op: string, data: rt.Link, attrs: ifla.LinkAttrs): Promise<void> {
  const sel = linkSelector(ref);
  await c.run(op, (s) => s.setLink({ ...sel.data, ...data }, { ...sel.attrs, ...attrs }, c.opts()));
}

/**
 * Bring a link up; with `noLinkLocal` its IPv6 address generation goes off in the same request
 * (the kernel applies it before the link's carrier is seen, so no link-local address is made).
 */
export async function setUp(c: NetlinkConn, ref: LinkRef, opts: Ipv6LinkOptions = {}): Promise<void> {
  const op = `set link ${describe(ref)} up${opts.noLinkLocal ? ' (no IPv6 link-local address)' : ''}`;
  await withAfSpec(opts.noLinkLocal ? NO_LINK_LOCAL : undefined, (a) => c.send(op, RTM_SETLINK, linkUp(ref, a)));
}

/**
 * IPv6 address generation off (no link-local address) as a request of its own: for a link that
 * has carrier the moment it comes up (macvlan, vxlan), where the mode in the up request comes
 * too late. A link without IPv6 needs nothing (EAFNOSUPPORT is not an error).
 */
export async function setNoLinkLocal(c: NetlinkConn, ref: LinkRef): Promise<void> {
  const op = `turn off IPv6 address generation of ${describe(ref)}`;
  try {
    await setLink(c, ref, op, {}, { afSpec: NO_LINK_LOCAL });
  } catch (err) {
    if (!isErrno(err, 'EAFNOSUPPORT')) throw err;
  }
}

export async function setDown(c: NetlinkConn, ref: LinkRef): Promise<void> {
  await setLink(c, ref, `set link ${describe(ref)} down`, { flags: {}, change: { up: true } }, {});
}

/** Attach `ref` to bridge `master`, or detach it from its master with null. */
export async function setMaster(c: NetlinkConn, ref: LinkRef, master: LinkRef | null): Promise<void> {
  const op =
    master === null ? `detach link ${describe(ref)} from its master` : `set master of ${describe(ref)} to ${describe(master)}`;
  const masterIndex = master === null ? 0 : await c.indexOf(master, op);
  await setLink(c, ref, op, {}, { master: masterIndex });
}

export async function setMtu(c: NetlinkConn, ref: LinkRef, mtu: number): Promise<void> {
  checkMtu(mtu);
  await setLink(c, ref, `set mtu of ${describe(ref)} to ${mtu}`, {}, { mtu });
}

export async function setMac(c: NetlinkConn, ref: LinkRef, mac: string): Promise<void> {
  const address = macToBuffer(mac);
  await setLink(c, ref, `set mac of ${describe(ref)} to ${mac}`, {}, { address });
}

/** Set (or with '' clear) the link's alias (IFLA_IFALIAS). */
export async function setAlias(c: NetlinkConn, ref: LinkRef, alias: string): Promise<void> {
  await setLink(c, ref, `set alias of ${describe(ref)} to ${JSON.stringify(alias)}`, {}, { ifalias: checkAlias(alias) });
}

export async function rename(c: NetlinkConn, ref: LinkRef, newName: string): Promise<void> {
  checkName(newName);
  const op = `rename link ${describe(ref)} to ${newName}`;
  const index = await c.indexOf(ref, op);
  await setLink(c, index, op, {}, { ifname: newName });
}

/** Move a link into the netns `fd` refers to. It disappears from this socket's netns. */
export async function moveToNetns(c: NetlinkConn, ref: LinkRef, netnsFd: number): Promise<void> {
  await setLink(c, ref, `move link ${describe(ref)} to netns fd ${netnsFd}`, {}, { netNsFd: netnsFd });
}

/** Delete a link; a link that is already gone is not an error. Deleting a veth end deletes its peer. */
export async function deleteLink(c: NetlinkConn, ref: LinkRef): Promise<void> {
  const sel = linkSelector(ref);
  try {
    await c.run(`delete link ${describe(ref)}`, (s) => s.delLink(sel.data, sel.attrs, c.opts()));
  } catch (err) {
    if (isErrno(err, 'ENODEV')) return;
    throw err;
  }
}

/**
 * Bridge port options (IFLA_BRPORT_MODE = hairpin, IFLA_BRPORT_LEARNING), sent as
 * RTM_NEWLINK with IFLA_INFO_SLAVE_KIND "bridge" + IFLA_INFO_SLAVE_DATA, as
 * `ip link set X type bridge_slave hairpin on` does. The link must already be a bridge port.
 */
export async function setBridgePortOptions(c: NetlinkConn, ref: LinkRef, opts: BridgePortOptions): Promise<void> {
  await setLinkAndPort(c, ref, undefined, opts);
}

/**
 * One RTM_NEWLINK on an existing link: its bridge port options (IFLA_INFO_SLAVE_DATA, applied
 * first by the kernel) and, when given, its alias and IFLA_AF_SPEC.
 */
async function setLinkAndPort(
  c: NetlinkConn,
  ref: LinkRef,
  alias: string | undefined,
  opts: BridgePortOptions,
  afSpec?: AfSpec,
): Promise<void> {
  const port: { mode?: number; learning?: number } = {};
  if (opts.hairpin !== undefined) port.mode = opts.hairpin ? 1 : 0;
  if (opts.learning !== undefined) port.learning = opts.learning ? 1 : 0;
  const what = Object.entries(opts)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} ${v ? 'on' : 'off'}`)
    .join(', ');
  if (alias !== undefined) checkAlias(alias);
  if (port.mode === undefined && port.learning === undefined && alias === undefined && !afSpec) return;
  const op =
    alias === undefined
      ? `set bridge port options of ${describe(ref)} (${what})`
      : `set alias of ${describe(ref)} to ${JSON.stringify(alias)}${what ? ` and its bridge port options (${what})` : ''}${afSpec ? ' (no IPv6 link-local address)' : ''}`;
  await withAfSpec(afSpec, (a) => c.send(op, RTM_NEWLINK, linkAndPort(ref, port, alias, a)));
}
