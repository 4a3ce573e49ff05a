/**
 * rtnetlink for tsnet: one `Netlink` per network namespace (DESIGN rule 4), plain values in
 * and out (names, indexes, 'aa:bb:..' MACs, '10.0.0.2/24' CIDRs). Every kernel failure is a
 * TsnetError('TSNET_NETLINK', '<what was attempted>: <ERRNO>', {details: {errno, op}}).
 *
 * To get a socket in another namespace, call `Netlink.open()` inside `withNetns(path, …)`:
 * the socket stays bound to the namespace it was created in.
 */
import type { RtNetlinkSocket } from 'netlink';
import { NetlinkConn, openRtSocket, type ConnOptions, type LinkRef } from './conn.js';
import * as links from './links.js';
import * as addresses from './addresses.js';
import * as routes from './routes.js';
import * as neigh from './neighbours.js';
import * as tc from './tc.js';
import type { IpFamily } from './encode.js';
import { NETLINK_ROUTE, type SyncNetlink, type SyncNetlinkOpener } from './sync-socket.js';
import { syncRtSocket } from './sync-transport.js';

export type { LinkRef, ConnOptions } from './conn.js';
export type {
  LinkInfo,
  LinkCommonOptions,
  VethPeerSpec,
  VethOptions,
  VxlanOptions,
  MacvlanOptions,
  BridgePortOptions,
  BridgePortInfo,
  LinkCounters,
} from './links.js';
export type { AddressInfo, AddAddressOptions } from './addresses.js';
export type { RouteSpec, RouteInfo, RouteType, ListRoutesOptions } from './routes.js';
export { RT_TABLE_MAIN, RT_TABLE_LOCAL } from './routes.js';
export type { NeighbourSpec, NeighbourInfo, FdbSpec, FdbInfo } from './neighbours.js';
export type { IpFamily, Scope, MacvlanMode, VxlanInfo, VxlanSpec, ParsedCidr, ParsedIp } from './encode.js';
export { parseCidr, parseIp, formatIp, formatCidr, macToBuffer, bufferToMac, maskIp } from './encode.js';
export { isErrno, errnoOf, netlinkError } from './errors.js';

export class Netlink {
  private readonly conn: NetlinkConn;

  /** Wrap an already-created rtnetlink socket (bound to the netns it was created in). */
  constructor(socket: RtNetlinkSocket, options: ConnOptions = {}) {
    this.conn = new NetlinkConn(socket, options);
  }

  /** Create a socket in the current net namespace of the calling (main) thread. Synchronous. */
  static open(options: ConnOptions = {}): Netlink {
    return new Netlink(openRtSocket(), options);
  }

  /**
   * The same, over a synchronous socket (./sync-transport.ts): each request is answered before
   * its promise settles, with no event-loop turn. For a sandbox's short setup sequences.
   */
  static openSync(opener: SyncNetlinkOpener): Netlink {
    return Netlink.overSync(opener.open(NETLINK_ROUTE));
  }

  /** The same, over a synchronous rtnetlink socket the caller has (e.g. adopted: SyncNetlinkOpener.adopt). */
  static overSync(sock: SyncNetlink): Netlink {
    return new Netlink(syncRtSocket(sock));
  }

  get closed(): boolean {
    return this.conn.isClosed;
  }

  /** Close the socket. Idempotent. */
  close(): void {
    this.conn.close();
  }

  // ------------------------------------------------------------------ links

  /** undefined when there is no such link. */
  getLink(ref: LinkRef): Promise<links.LinkInfo | undefined> {
    return links.getLink(this.conn, ref);
  }
  listLinks(): Promise<links.LinkInfo[]> {
    return links.listLinks(this.conn);
  }
  /** ifindex of a link; fails with ENODEV when missing. */
  indexOf(ref: LinkRef): Promise<number> {
    return this.conn.indexOf(ref, `find link ${typeof ref === 'number' ? `#${ref}` : ref}`);
  }
  addBridge(name: string, opts: links.LinkCommonOptions = {}): Promise<void> {
    return links.addBridge(this.conn, name, opts);
  }
  /** A BPF program (fd, direct action) as the ingress filter of a link; one already there is replaced. */
  attachIngressBpf(ifindex: number, progFd: number, name: string): Promise<void> {
    return tc.attachIngressBpf(this.conn, ifindex, progFd, name);
  }
  /** The ingress filter attachIngressBpf put goes (none: nothing to do). */
  detachIngressBpf(ifindex: number): Promise<void> {
    return tc.detachIngressBpf(this.conn, ifindex);
  }
  /** Create a veth pair; with peer.netnsFd the peer is created directly in that netns. */
  addVeth(name: string, peer: links.VethPeerSpec, opts: links.VethOptions = {}): Promise<void> {
    return links.addVeth(this.conn, name, peer, opts);
  }
  addVxlan(name: string, opts: links.VxlanOptions): Promise<void> {
    return links.addVxlan(this.conn, name, opts);
  }
  addMacvlan(name: string, opts: links.MacvlanOptions): Promise<void> {
    return links.addMacvlan(this.conn, name, opts);
  }
  /** Bring a link up (with `noLinkLocal`: no IPv6 link-local address for it, see links.Ipv6LinkOptions). */
  setUp(ref: LinkRef, opts?: links.Ipv6LinkOptions): Promise<void> {
    return links.setUp(this.conn, ref, opts);
  }
  /** No IPv6 link-local address for this link, before it comes up (links.setNoLinkLocal). */
  setNoLinkLocal(ref: LinkRef): Promise<void> {
    return links.setNoLinkLocal(this.conn, ref);
  }
  setDown(ref: LinkRef): Promise<void> {
    return links.setDown(this.conn, ref);
  }
  /** Make `ref` a port of bridge `bridge`; null detaches it. */
  setMaster(ref: LinkRef, bridge: LinkRef | null): Promise<void> {
    return links.setMaster(this.conn, ref, bridge);
  }
  setMtu(ref: LinkRef, mtu: number): Promise<void> {
    return links.setMtu(this.conn, ref, mtu);
  }
  setMac(ref: LinkRef, mac: string): Promise<void> {
    return links.setMac(this.conn, ref, mac);
  }
  setAlias(ref: LinkRef, alias: string): Promise<void> {
    return links.setAlias(this.conn, ref, alias);
  }
  rename(ref: LinkRef, newName: string): Promise<void> {
    return links.rename(this.conn, ref, newName);
  }
  moveToNetns(ref: LinkRef, netnsFd: number): Promise<void> {
    return links.moveToNetns(this.conn, ref, netnsFd);
  }
  /** Idempotent: a link that is already gone is not an error. */
  deleteLink(ref: LinkRef): Promise<void> {
    return links.deleteLink(this.conn, ref);
  }
  /** Hairpin / learning of a bridge port (the link must be a bridge port). */
  setBridgePortOptions(ref: LinkRef, opts: links.BridgePortOptions): Promise<void> {
    return links.setBridgePortOptions(this.conn, ref, opts);
  }

  // ------------------------------------------------------------------ addresses

  addAddress(link: LinkRef, cidr: string, opts: addresses.AddAddressOptions = {}): Promise<void> {
    return addresses.addAddress(this.conn, link, cidr, opts);
  }
  /** Idempotent. */
  delAddress(link: LinkRef, cidr: string): Promise<void> {
    return addresses.delAddress(this.conn, link, cidr);
  }
  listAddresses(link?: LinkRef, family?: IpFamily, names?: ReadonlyMap<number, string>): Promise<addresses.AddressInfo[]> {
    return addresses.listAddresses(this.conn, link, family, names);
  }

  // ------------------------------------------------------------------ routes

  addRoute(spec: routes.RouteSpec): Promise<void> {
    return routes.addRoute(this.conn, spec);
  }
  replaceRoute(spec: routes.RouteSpec): Promise<void> {
    return routes.replaceRoute(this.conn, spec);
  }
  /** Idempotent. */
  delRoute(spec: routes.RouteSpec): Promise<void> {
    return routes.delRoute(this.conn, spec);
  }
  listRoutes(opts: routes.ListRoutesOptions = {}): Promise<routes.RouteInfo[]> {
    return routes.listRoutes(this.conn, opts);
  }

  // ------------------------------------------------------------------ neighbours and FDB

  addNeighbour(spec: neigh.NeighbourSpec): Promise<void> {
    return neigh.addNeighbour(this.conn, spec);
  }
  /** Idempotent. */
  delNeighbour(spec: { dev: LinkRef; ip: string }): Promise<void> {
    return neigh.delNeighbour(this.conn, spec);
  }
  listNeighbours(opts: { dev?: LinkRef; family?: IpFamily } = {}): Promise<neigh.NeighbourInfo[]> {
    return neigh.listNeighbours(this.conn, opts);
  }
  addFdb(spec: neigh.FdbSpec): Promise<void> {
    return neigh.addFdb(this.conn, spec);
  }
  /** Idempotent. */
  delFdb(spec: Omit<neigh.FdbSpec, 'append' | 'replace' | 'permanent'>): Promise<void> {
    return neigh.delFdb(this.conn, spec);
  }
  listFdb(dev?: LinkRef): Promise<neigh.FdbInfo[]> {
    return neigh.listFdb(this.conn, dev);
  }
}
