/** Interface addresses, IPv4 and IPv6. */
import { FlagsNew, type rt } from 'netlink';
import { describe, type LinkRef, type NetlinkConn } from './conn.js';
import { afOf, familyOfAf, formatCidr, ipv4Broadcast, parseCidr, scopeName, type IpFamily, type Scope } from './encode.js';
import { isErrno } from './errors.js';
import { linkNames } from './links.js';
import { addressAdd, RTM_NEWADDR } from './wire.js';

export interface AddAddressOptions {
  /** IPv6: skip duplicate address detection so the address is usable at once (IFA_F_NODAD). */
  noDad?: boolean;
}

export interface AddressInfo {
  /** Link name. */
  link: string;
  index: number;
  /** '10.0.0.2/24', 'fd00::2/64' */
  cidr: string;
  family: IpFamily;
  scope: Scope | number;
  /** IPv6 DAD still running. */
  tentative: boolean;
}

function addressRequest(index: number, cidr: string): { data: rt.Address; attrs: rt.AddressAttrs } {
  const p = parseCidr(cidr);
  const data: rt.Address = { family: afOf(p.family), prefixlen: p.prefixLen, index };
  const attrs: rt.AddressAttrs = { local: p.bytes, address: p.bytes };
  return { data, attrs };
}

/** Add an address ("10.0.0.2/24" or "fd00::2/64"). IPv4 gets the broadcast address as `ip addr add … brd +` would. */
export async function addAddress(c: NetlinkConn, link: LinkRef, cidr: string, opts: AddAddressOptions = {}): Promise<void> {
  const p = parseCidr(cidr);
  const op = `add address ${cidr} to ${describe(link)}`;
  const index = await c.indexOf(link, op);
  const broadcast = p.family === 4 && p.prefixLen < 31 ? ipv4Broadcast(p.bytes, p.prefixLen) : undefined;
  // the request's bytes written directly (./wire.ts: the package's layout, without its objects)
  const body = addressAdd(afOf(p.family), p.prefixLen, index, p.bytes, {
    ...(broadcast ? { broadcast } : {}),
    ...(opts.noDad ? { noDad: true } : {}),
  });
  await c.send(op, RTM_NEWADDR, body, FlagsNew.CREATE | FlagsNew.EXCL);
}

/** Remove an address. Idempotent: an address (or link) that is already gone is not an error. */
export async function delAddress(c: NetlinkConn, link: LinkRef, cidr: string): Promise<void> {
  parseCidr(cidr);
  const op = `delete address ${cidr} from ${describe(link)}`;
  try {
    const index = await c.indexOf(link, op);
    const { data, attrs } = addressRequest(index, cidr);
    await c.run(op, (s) => s.delAddress(data, attrs, c.opts()));
  } catch (err) {
    if (isErrno(err, 'EADDRNOTAVAIL', 'ENODEV', 'ENOENT')) return;
    throw err;
  }
}

/**
 * Addresses of one link, or of every link in the netns. Their link names come from a link dump
 * unless the caller has them (`names`, by index) or asked for one link by name.
 */
export async function listAddresses(
  c: NetlinkConn,
  link?: LinkRef,
  family?: IpFamily,
  names?: ReadonlyMap<number, string>,
): Promise<AddressInfo[]> {
  const op = link === undefined ? 'list addresses' : `list addresses of ${describe(link)}`;
  const index = link === undefined ? undefined : await c.indexOf(link, op);
  const req: rt.Address = family === undefined ? {} : { family: afOf(family) };
  const msgs = await c.run(op, (s) => s.getAddresses(req, undefined, c.opts()));
  const byIndex = names ?? (index !== undefined && typeof link === 'string' ? new Map([[index, link]]) : await linkNames(c));
  const out: AddressInfo[] = [];
  for (const { data, attrs } of msgs) {
    const fam = familyOfAf(data.family);
    if (fam === undefined) continue;
    if (family !== undefined && fam !== family) continue;
    if (index !== undefined && data.index !== index) continue;
    const ip = attrs.local ?? attrs.address;
    if (!ip) continue;
    const flags = attrs.flags ?? data.flags ?? {};
    out.push({
      link: byIndex.get(data.index ?? 0) ?? attrs.label ?? '',
      index: data.index ?? 0,
      cidr: formatCidr(ip, data.prefixlen ?? 0),
      family: fam,
      scope: scopeName(data.scope),
      tentative: !!flags.tentative,
    });
  }
  return out;
}
