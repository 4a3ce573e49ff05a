/**
 * `--network` (repeatable), `--network-alias`, `--ip`, `--ip6` → HostConfig.NetworkMode and
 * NetworkingConfig.EndpointsConfig, as the docker CLI does it: the first network is the
 * NetworkMode; every network gets an entry in EndpointsConfig; the plain endpoint flags
 * (--network-alias, --ip, --ip6) apply to the first network. Each --network value may
 * also use the advanced form `name=NET[,alias=A]...[,ip=IPv4][,ip6=IPv6]`.
 * Without --network: NetworkMode "default" (what docker sends) and no endpoint unless an
 * endpoint flag is given.
 */
import { isIP } from 'node:net';

export interface EndpointSettings {
  Aliases: string[];
  IPAMConfig: { IPv4Address: string; IPv6Address: string; LinkLocalIPs?: string[] };
  Links?: string[];
  DriverOpts?: Record<string, string>;
  MacAddress?: string;
}

export interface NetworkFlags {
  networks: string[];
  aliases: string[];
  ip?: string | undefined;
  ip6?: string | undefined;
  /** --link NAME[:ALIAS] (also on the first network's endpoint, as the docker CLI sends it). */
  links?: string[];
  /** --link-local-ip, on the first network. */
  linkLocalIps?: string[];
}

/** `--link NAME[:ALIAS]` as Docker parses it; throws Error with a one-line reason. */
export function checkLink(spec: string): void {
  const parts = spec.split(':');
  if (spec === '' || parts.length > 2 || parts.some((p) => p === '')) throw new Error('want NAME or NAME:ALIAS');
}

export function checkIP(ip: string): void {
  if (isIP(ip) === 0) throw new Error('not an IP address');
}

export interface NetworkConfig {
  NetworkMode: string;
  EndpointsConfig: Record<string, EndpointSettings>;
}

export function checkIPv4(ip: string): void {
  if (isIP(ip) !== 4) throw new Error(`${JSON.stringify(ip)} is not an IPv4 address`);
}

export function checkIPv6(ip: string): void {
  if (isIP(ip) !== 6) throw new Error(`${JSON.stringify(ip)} is not an IPv6 address`);
}

interface Attachment {
  name: string;
  aliases: string[];
  ip: string;
  ip6: string;
  links?: string[];
  linkLocalIps?: string[];
  driverOpts?: Record<string, string>;
  mac?: string;
}

/**
 * One --network value: `NET` or `name=NET,alias=A,ip=…,ip6=…,link-local-ip=…,driver-opt=K=V,mac-address=…`.
 */
export function parseNetworkValue(value: string): Attachment {
  if (!value.includes('=')) {
    if (value === '') throw new Error('empty network name');
    return { name: value, aliases: [], ip: '', ip6: '' };
  }
  const a: Attachment = { name: '', aliases: [], ip: '', ip6: '' };
  for (const field of value.split(',')) {
    const eq = field.indexOf('=');
    const key = eq === -1 ? field : field.slice(0, eq);
    const v = eq === -1 ? '' : field.slice(eq + 1);
    if (eq === -1 || v === '') throw new Error(`invalid field ${JSON.stringify(field)}: expected key=value`);
    switch (key) {
      case 'name':
        a.name = v;
        break;
      case 'alias':
        a.aliases.push(v);
        break;
      case 'ip':
        checkIPv4(v);
        a.ip = v;
        break;
      case 'ip6':
        checkIPv6(v);
        a.ip6 = v;
        break;
      case 'link-local-ip':
        if (isIP(v) === 0) throw new Error(`link-local-ip ${JSON.stringify(v)} is not an IP address`);
        a.linkLocalIps = [...(a.linkLocalIps ?? []), v];
        break;
      case 'driver-opt': {
        const e = v.indexOf('=');
        if (e <= 0) throw new Error(`invalid driver-opt ${JSON.stringify(v)}: expected driver-opt=KEY=VALUE`);
        a.driverOpts = { ...a.driverOpts, [v.slice(0, e)]: v.slice(e + 1) };
        break;
      }
      case 'mac-address':
        if (!/^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$/.test(v)) throw new Error(`${JSON.stringify(v)} is not a MAC address`);
        a.mac = v;
        break;
      default:
        throw new Error(
          `unknown field ${JSON.stringify(key)} (known: name, alias, ip, ip6, link-local-ip, driver-opt, mac-address)`,
        );
    }
  }
  if (a.name === '') throw new Error('missing name=NETWORK');
  return a;
}

export function isUserDefined(mode: string): boolean {
  return !['default', 'bridge', 'host', 'none'].includes(mode) && !mode.startsWith('container:');
}

function endpoint(a: Attachment): EndpointSettings {
  return {
    Aliases: a.aliases,
    IPAMConfig: {
      IPv4Address: a.ip,
      IPv6Address: a.ip6,
      ...(a.linkLocalIps?.length ? { LinkLocalIPs: a.linkLocalIps } : {}),
    },
    ...(a.links?.length ? { Links: a.links } : {}),
    ...(a.driverOpts ? { DriverOpts: a.driverOpts } : {}),
    ...(a.mac ? { MacAddress: a.mac } : {}),
  };
}

/** Throws Error with a one-line reason. */
export function buildNetworkConfig(flags: NetworkFlags): NetworkConfig {
  if (flags.ip !== undefined) checkIPv4(flags.ip);
  if (flags.ip6 !== undefined) checkIPv6(flags.ip6);
  const flagCheck = (v: string, flag: string, f: (v: string) => void): void => {
    try {
      f(v);
    } catch (err) {
      throw new Error(`invalid argument ${JSON.stringify(v)} for ${JSON.stringify(flag)}: ${(err as Error).message}`);
    }
  };
  for (const l of flags.links ?? []) flagCheck(l, '--link', checkLink);
  for (const ip of flags.linkLocalIps ?? []) flagCheck(ip, '--link-local-ip', checkIP);
  const links = flags.links?.length ? flags.links : undefined;
  const linkLocalIps = flags.linkLocalIps?.length ? flags.linkLocalIps : undefined;
  const attachments = flags.networks.map(parseNetworkValue);
  const hasEndpointFlags = flags.aliases.length > 0 || flags.ip !== undefined || flags.ip6 !== undefined || links || linkLocalIps;
  if (attachments.length === 0) {
    const EndpointsConfig: Record<string, EndpointSettings> = {};
    if (hasEndpointFlags) {
      EndpointsConfig.default = endpoint({
        name: 'default',
        aliases: flags.aliases,
        ip: flags.ip ?? '',
        ip6: flags.ip6 ?? '',
        ...(links ? { links } : {}),
        ...(linkLocalIps ? { linkLocalIps } : {}),
      });
    }
    return { NetworkMode: 'default', EndpointsConfig };
  }
  const first = attachments[0]!;
  first.aliases = [...first.aliases, ...flags.aliases];
  if (links) first.links = links;
  if (linkLocalIps) first.linkLocalIps = [...(first.linkLocalIps ?? []), ...linkLocalIps];
  if (flags.ip !== undefined) {
    if (first.ip !== '') throw new Error('conflicting options: --ip and ip= for the same network');
    first.ip = flags.ip;
  }
  if (flags.ip6 !== undefined) {
    if (first.ip6 !== '') throw new Error('conflicting options: --ip6 and ip6= for the same network');
    first.ip6 = flags.ip6;
  }
  const EndpointsConfig: Record<string, EndpointSettings> = {};
  let userDefined = false;
  let builtIn = false;
  for (const a of attachments) {
    if (Object.hasOwn(EndpointsConfig, a.name)) throw new Error(`network ${JSON.stringify(a.name)} is specified multiple times`);
    if (isUserDefined(a.name)) userDefined = true;
    else builtIn = true;
    EndpointsConfig[a.name] = endpoint(a);
  }
  if (userDefined && builtIn) {
    throw new Error('conflicting options: cannot attach both user-defined and non-user-defined network-modes');
  }
  if (attachments.length > 1 && !userDefined) {
    throw new Error(`conflicting options: ${first.name} cannot be combined with other networks`);
  }
  return { NetworkMode: first.name, EndpointsConfig };
}
