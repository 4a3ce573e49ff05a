/**
 * The per-endpoint settings of a request beyond addresses and aliases — Links, LinkLocalIPs,
 * DriverOpts, MacAddress — checked before anything is made and kept as given, so inspect can
 * show them back. Pure.
 */
import { TsnetError } from '../errors/index.js';
import { tryParseIp } from '../lib/cidr.js';
import type { EndpointSettingsRequest, EndpointState } from './container-api.js';

export interface EndpointExtras {
  links?: string[];
  linkLocalIPs?: string[];
  driverOpts?: Record<string, string>;
  mac?: string;
}

/**
 * A link as Docker parses it: `NAME:ALIAS`, `NAME` (the alias is the name), or the stored form
 * `/NAME:/PARENT/ALIAS` that inspect shows.
 */
export function parseLink(spec: string): { name: string; alias: string } {
  const parts = spec.split(':');
  const bad = (why: string) =>
    new TsnetError('TSNET_INVALID_ARGUMENT', `invalid link "${spec}": ${why} (use NAME:ALIAS or NAME)`);
  if (spec === '') throw bad('empty');
  if (parts.length > 2) throw bad('too many ":"');
  let [name = '', alias = name] = parts;
  if (name.startsWith('/')) {
    name = name.slice(1);
    alias = alias.slice(alias.lastIndexOf('/') + 1);
  }
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw bad(`"${name}" is not a container name`);
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(alias)) throw bad(`"${alias}" is not a valid alias`);
  return { name, alias };
}

/** A MAC address in the kernel's form (lower case, colons); refused when no interface may have it. */
export function normalizeMac(mac: string): string {
  const hex = mac.toLowerCase().replace(/-/g, ':');
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(hex))
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid MAC address "${mac}": use six hex bytes like 02:42:ac:11:00:02`);
  const first = Number.parseInt(hex.slice(0, 2), 16);
  if (first & 1)
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `invalid MAC address "${mac}": it is a multicast address (the lowest bit of the first byte is set); use a unicast one like 02:42:ac:11:00:02`,
    );
  if (hex === '00:00:00:00:00:00')
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid MAC address "${mac}": all zeros is not an interface address`);
  return hex;
}

/** A link-local IP as the interface gets it: IPv4 with /16, IPv6 with /64 (as Docker). */
export function linkLocalCidr(ip: string): string {
  return tryParseIp(ip)?.family === 4 ? `${ip}/16` : `${ip}/64`;
}

/** Validate the extra settings of one endpoint request; nothing is made. */
export function endpointExtras(cfg: EndpointSettingsRequest | null): EndpointExtras {
  const out: EndpointExtras = {};
  const links = (cfg?.Links ?? []).filter((l) => l !== '');
  for (const l of links) parseLink(l);
  if (links.length) out.links = links;
  const ll = cfg?.IPAMConfig?.LinkLocalIPs ?? [];
  for (const ip of ll) {
    if (!tryParseIp(ip) || ip === '0.0.0.0' || ip === '::')
      throw new TsnetError('TSNET_BAD_IP', `invalid link-local IP address "${ip}": give a unicast IPv4 or IPv6 address`);
  }
  if (ll.length) out.linkLocalIPs = [...ll];
  const opts = cfg?.DriverOpts ?? {};
  for (const [k, v] of Object.entries(opts)) {
    if (typeof v !== 'string')
      throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid driver option "${k}": the value must be a string`);
  }
  if (Object.keys(opts).length) out.driverOpts = { ...opts };
  if (cfg?.MacAddress) out.mac = normalizeMac(cfg.MacAddress);
  return out;
}

/** The endpoint state fields for these extras (what inspect reports back). */
export function extrasState(x: EndpointExtras): Pick<EndpointState, 'links' | 'driverOpts' | 'mac'> {
  return {
    ...(x.links ? { links: x.links } : {}),
    ...(x.driverOpts ? { driverOpts: x.driverOpts } : {}),
    ...(x.mac ? { mac: x.mac } : {}),
  };
}
