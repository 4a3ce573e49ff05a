/**
 * The addresses of `swarm init`, read as Docker reads them: `ListenAddr` and `AdvertiseAddr` are
 * `IP`, `IP:PORT`, `IFACE` or `IFACE:PORT`; an interface stands for its one IPv4 address. Without
 * an advertise address the one of the default route's interface is taken (Docker's rule).
 */
import { TsnetError } from '../errors/index.js';
import type { Netlink } from '../kernel/netlink/index.js';
import { tryParseIp } from '../lib/cidr.js';

export const SWARM_PORT = 2377;

export interface HostPort {
  host: string;
  port: number | undefined;
}

/** Split `host[:port]` (`[v6]:port` too); a bad port is refused in one line. */
export function splitHostPort(text: string, what: string): HostPort {
  const t = text.trim();
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  const m = v6 ?? /^([^:]*)(?::(\d*))?$/.exec(t);
  if (!m) {
    if (tryParseIp(t)) return { host: t, port: undefined };
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid ${what} ${JSON.stringify(text)}: give IP[:PORT] or INTERFACE[:PORT]`);
  }
  const port = m[2] === undefined || m[2] === '' ? undefined : Number(m[2]);
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid ${what} ${JSON.stringify(text)}: the port must be 1 to 65535`);
  }
  return { host: m[1] ?? '', port };
}

/** An IP, or the single IPv4 address of the named interface. */
export async function resolveHost(nl: Netlink, host: string, what: string): Promise<string> {
  if (tryParseIp(host)) return host;
  const addrs = (await nl.listAddresses()).filter((a) => a.link === host && a.family === 4);
  if (addrs.length === 0) {
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `${what} ${JSON.stringify(host)} is neither an IP address nor an interface with an IPv4 address`,
    );
  }
  if (addrs.length > 1) {
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `interface ${host} has more than one IPv4 address (${addrs.map((a) => a.cidr.split('/')[0]).join(' and ')}): give one of them as the ${what}`,
    );
  }
  return addrs[0]!.cidr.split('/')[0]!;
}

/**
 * Docker's automatic choice: the IPv4 address of the interface that holds the default route.
 * Its errors are Docker's daemon words; the CLIs add " - specify one with --advertise-addr".
 */
export async function defaultAdvertiseAddr(nl: Netlink): Promise<string> {
  const route = (await nl.listRoutes({ family: 4 })).find((r) => r.dst === 'default' && r.dev);
  if (!route?.dev) {
    throw new TsnetError('TSNET_INVALID_ARGUMENT', "could not find the system's IP address");
  }
  const addrs = (await nl.listAddresses()).filter((a) => a.link === route.dev && a.family === 4);
  if (addrs.length !== 1) {
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      addrs.length === 0
        ? "could not find the system's IP address"
        : `could not choose an IP address to advertise since this system has multiple addresses on interface ${route.dev} (${addrs.map((a) => a.cidr.split('/')[0]).join(' and ')})`,
    );
  }
  return addrs[0]!.cidr.split('/')[0]!;
}

/** The advertise address must be one of this host's: the VXLAN device is bound to it. */
export async function checkLocal(nl: Netlink, ip: string, what: string): Promise<void> {
  const mine = (await nl.listAddresses()).some((a) => a.cidr.split('/')[0] === ip);
  if (!mine) {
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `${what} ${ip} is not an address of this host: a single-node swarm advertises one of its own addresses`,
    );
  }
}
