/**
 * Input validation (DESIGN rule 1): everything is checked and normalized before the first
 * exec. Addresses come out in iptables-save's spelling. Throws TSNET_INVALID_ARGUMENT.
 */
import { TsnetError } from '../../errors/index.js';
import type { FirewallNetwork, FirewallPorts, PortProto } from './firewall-api.js';
import { type Family, type ParsedCidr, type ParsedIp, isUnspecified, parseCidr, parseIp } from './addr.js';
import { id12, isValidId, isValidIfName } from './iptables/names.js';
import { broadcastAddress, networkAddress, parseCidr as parseLibCidr, reservesEdges } from '../../lib/cidr.js';

export interface NormalizedNetwork {
  id: string;
  net12: string;
  bridge: string;
  v4: ParsedCidr[];
  v6: ParsedCidr[];
  internal: boolean;
  icc: boolean;
  masquerade: boolean;
  masqueradeIpv6: boolean;
  /** SNAT source instead of MASQUERADE for IPv4. */
  snatIpv4?: string;
  /** The host's addresses on the bridge; undefined = do not skip conntrack (FirewallNetwork.hostAddresses). */
  hostAddresses?: ParsedIp[];
}

export interface NormalizedMapping {
  proto: PortProto;
  /** undefined = every local address. */
  hostIp?: ParsedIp;
  hostPort: number;
  hostPortEnd?: number;
  containerPort: number;
  containerPortEnd?: number;
}

export interface NormalizedPorts {
  networkId: string;
  endpointId: string;
  net12: string;
  ep12: string;
  bridge: string;
  family: Family;
  containerIp: ParsedIp;
  mappings: NormalizedMapping[];
}

const PROTOS: readonly PortProto[] = ['tcp', 'udp', 'sctp'];

function invalid(message: string): TsnetError {
  return new TsnetError('TSNET_INVALID_ARGUMENT', `firewall: ${message}`);
}

function isPort(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;
}

export function subnetsOf(n: NormalizedNetwork, family: Family): ParsedCidr[] {
  return family === 4 ? n.v4 : n.v6;
}

/**
 * Where bridged traffic inside one subnet skips conntrack (FirewallNetwork.hostAddresses): the
 * family's subnets, and the destinations that stay tracked because the host itself receives them
 * — its addresses on the bridge, each subnet's network address (IPv6: the subnet-router anycast
 * a forwarding host answers) and IPv4 broadcast address. undefined: nothing skips conntrack.
 */
export function untracked(n: NormalizedNetwork, family: Family): { subnets: ParsedCidr[]; keep: ParsedIp[] } | undefined {
  const subnets = subnetsOf(n, family);
  if (n.hostAddresses === undefined || subnets.length === 0) return undefined;
  const keep = new Map<string, ParsedIp>();
  const add = (ip: ParsedIp | undefined): void => {
    if (ip && ip.family === family) keep.set(ip.text, ip);
  };
  for (const ip of n.hostAddresses) add(ip);
  for (const s of subnets) {
    const c = parseLibCidr(s.text);
    if (!reservesEdges(c)) continue;
    add(parseIp(networkAddress(c)));
    if (family === 4) add(parseIp(broadcastAddress(c)));
  }
  return { subnets, keep: [...keep.values()] };
}

export function normalizeNetwork(n: FirewallNetwork): NormalizedNetwork {
  if (n === null || typeof n !== 'object') throw invalid('network spec must be an object');
  if (!isValidId(n.id)) throw invalid(`bad network id ${JSON.stringify(n.id)}`);
  if (!isValidIfName(n.bridge)) throw invalid(`bad bridge name ${JSON.stringify(n.bridge)}`);
  if (!Array.isArray(n.subnets) || n.subnets.length === 0) throw invalid(`network ${n.id}: at least one subnet is required`);
  const v4: ParsedCidr[] = [];
  const v6: ParsedCidr[] = [];
  const seen = new Set<string>();
  for (const s of n.subnets) {
    const c = parseCidr(s);
    if (!c) throw invalid(`network ${n.id}: bad subnet ${JSON.stringify(s)}`);
    if (seen.has(c.text)) continue;
    seen.add(c.text);
    (c.family === 4 ? v4 : v6).push(c);
  }
  for (const flag of ['internal', 'icc', 'masquerade'] as const) {
    if (typeof n[flag] !== 'boolean') throw invalid(`network ${n.id}: ${flag} must be a boolean`);
  }
  if (n.masqueradeIpv6 !== undefined && typeof n.masqueradeIpv6 !== 'boolean') {
    throw invalid(`network ${n.id}: masqueradeIpv6 must be a boolean`);
  }
  let snatIpv4: string | undefined;
  if (n.hostBindingIpv4 !== undefined && n.hostBindingIpv4 !== '') {
    const ip = parseIp(n.hostBindingIpv4);
    if (ip?.family !== 4)
      throw invalid(`network ${n.id}: hostBindingIpv4 must be an IPv4 address, got ${JSON.stringify(n.hostBindingIpv4)}`);
    if (!isUnspecified(ip)) snatIpv4 = ip.text;
  }
  const out: NormalizedNetwork = {
    id: n.id,
    net12: id12(n.id),
    bridge: n.bridge,
    v4,
    v6,
    internal: n.internal,
    icc: n.icc,
    masquerade: n.masquerade,
    masqueradeIpv6: n.masqueradeIpv6 === true,
  };
  if (snatIpv4 !== undefined) out.snatIpv4 = snatIpv4;
  if (n.hostAddresses !== undefined) {
    if (!Array.isArray(n.hostAddresses)) throw invalid(`network ${n.id}: hostAddresses must be an array`);
    out.hostAddresses = n.hostAddresses.map((a) => {
      const ip = parseIp(a);
      if (!ip || isUnspecified(ip)) throw invalid(`network ${n.id}: bad host address ${JSON.stringify(a)}`);
      return ip;
    });
  }
  return out;
}

export function normalizePorts(p: FirewallPorts): NormalizedPorts {
  if (p === null || typeof p !== 'object') throw invalid('ports spec must be an object');
  if (!isValidId(p.networkId)) throw invalid(`bad network id ${JSON.stringify(p.networkId)}`);
  if (!isValidId(p.endpointId)) throw invalid(`bad endpoint id ${JSON.stringify(p.endpointId)}`);
  if (!isValidIfName(p.bridge)) throw invalid(`bad bridge name ${JSON.stringify(p.bridge)}`);
  const cip = parseIp(p.containerIp);
  if (!cip || isUnspecified(cip)) throw invalid(`endpoint ${p.endpointId}: bad container IP ${JSON.stringify(p.containerIp)}`);
  if (!Array.isArray(p.mappings)) throw invalid(`endpoint ${p.endpointId}: mappings must be an array`);
  const where = `endpoint ${p.endpointId}`;
  const seen = new Set<string>();
  const mappings: NormalizedMapping[] = p.mappings.map((m, i) => {
    const at = `${where} mapping ${i}`;
    if (m === null || typeof m !== 'object') throw invalid(`${at}: must be an object`);
    if (!PROTOS.includes(m.proto)) throw invalid(`${at}: bad protocol ${JSON.stringify(m.proto)}`);
    if (!isPort(m.hostPort)) throw invalid(`${at}: bad host port ${JSON.stringify(m.hostPort)}`);
    if (!isPort(m.containerPort)) throw invalid(`${at}: bad container port ${JSON.stringify(m.containerPort)}`);
    const out: NormalizedMapping = { proto: m.proto, hostPort: m.hostPort, containerPort: m.containerPort };
    if (m.hostIp !== undefined && m.hostIp !== '') {
      const hip = parseIp(m.hostIp);
      if (!hip) throw invalid(`${at}: bad host IP ${JSON.stringify(m.hostIp)}`);
      if (hip.family !== cip.family) {
        throw invalid(`${at}: host IP ${m.hostIp} and container IP ${p.containerIp} are of different families`);
      }
      if (!isUnspecified(hip)) out.hostIp = hip;
    }
    const hostEnd = m.hostPortEnd ?? m.hostPort;
    const contEnd = m.containerPortEnd;
    if (!isPort(hostEnd) || hostEnd < m.hostPort)
      throw invalid(`${at}: bad host port range ${m.hostPort}-${String(m.hostPortEnd)}`);
    if (contEnd !== undefined) {
      if (!isPort(contEnd) || contEnd < m.containerPort) {
        throw invalid(`${at}: bad container port range ${m.containerPort}-${String(contEnd)}`);
      }
      if (contEnd - m.containerPort !== hostEnd - m.hostPort) {
        throw invalid(
          `${at}: host range ${m.hostPort}-${hostEnd} and container range ${m.containerPort}-${contEnd} differ in size`,
        );
      }
    }
    if (hostEnd > m.hostPort) {
      out.hostPortEnd = hostEnd;
      if (contEnd !== undefined) out.containerPortEnd = contEnd;
    }
    const key = `${out.hostIp?.text ?? '*'}/${out.proto}/${out.hostPort}-${hostEnd}`;
    if (seen.has(key)) throw invalid(`${at}: duplicate mapping ${key}`);
    seen.add(key);
    return out;
  });
  return {
    networkId: p.networkId,
    endpointId: p.endpointId,
    net12: id12(p.networkId),
    ep12: id12(p.endpointId),
    bridge: p.bridge,
    family: cip.family,
    containerIp: cip,
    mappings,
  };
}
