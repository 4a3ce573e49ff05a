/**
 * `network create --subnet/--gateway/--ip-range/--aux-address` → IPAM.Config, grouped
 * per subnet the way the docker CLI does it: each gateway, range and aux address goes to
 * the subnet that contains it; at most one gateway and one range per subnet; subnets
 * must not overlap. Order follows the --subnet flags.
 */
import { isIP } from 'node:net';

export interface IpamConfig {
  Subnet: string;
  IPRange?: string;
  Gateway?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

interface Cidr {
  version: 4 | 6;
  base: bigint;
  bits: number;
  prefix: number;
}

function ipToBigInt(ip: string): { version: 4 | 6; value: bigint } | undefined {
  const v = isIP(ip);
  if (v === 4) {
    const value = ip.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
    return { version: 4, value };
  }
  if (v === 6) {
    // An embedded dotted quad (::ffff:1.2.3.4) becomes its two hex groups.
    const text = ip.replace(
      /(\d+)\.(\d+)\.(\d+)\.(\d+)$/,
      (_m, a: string, b: string, c: string, d: string) =>
        `${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`,
    );
    const [head = '', rest] = text.split('::') as [string, string | undefined];
    const h = head === '' ? [] : head.split(':');
    const r = rest === undefined || rest === '' ? [] : rest.split(':');
    const groups = rest === undefined ? h : [...h, ...new Array<string>(8 - h.length - r.length).fill('0'), ...r];
    const value = groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
    return { version: 6, value };
  }
  return undefined;
}

export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash === -1) return undefined;
  const ip = ipToBigInt(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const bits = ip.version === 4 ? 32 : 128;
  const prefix = Number(prefixText);
  if (prefix > bits) return undefined;
  const hostBits = BigInt(bits - prefix);
  const base = (ip.value >> hostBits) << hostBits;
  return { version: ip.version, base, bits, prefix };
}

function contains(net: Cidr, value: { version: 4 | 6; value: bigint }): boolean {
  if (net.version !== value.version) return false;
  const hostBits = BigInt(net.bits - net.prefix);
  return value.value >> hostBits === net.base >> hostBits;
}

/** Does `subnet` contain the address or CIDR `data`? (docker's subnetMatches) */
function subnetMatches(subnet: string, data: string): boolean {
  const net = parseCidr(subnet);
  if (!net) throw new Error(`invalid subnet ${JSON.stringify(subnet)}`);
  if (data.includes('/')) {
    const other = parseCidr(data);
    if (!other) throw new Error(`invalid CIDR ${JSON.stringify(data)}`);
    return contains(net, { version: other.version, value: other.base });
  }
  const ip = ipToBigInt(data);
  if (!ip) throw new Error(`invalid IP address ${JSON.stringify(data)}`);
  return contains(net, ip);
}

export function buildIpamConfig(
  subnets: string[],
  ranges: string[],
  gateways: string[],
  aux: Array<[string, string]>,
): IpamConfig[] {
  if (subnets.length < ranges.length || subnets.length < gateways.length) {
    throw new Error('every ip-range or gateway must have a corresponding subnet');
  }
  const configs: IpamConfig[] = [];
  for (const s of subnets) {
    if (!parseCidr(s)) throw new Error(`invalid subnet ${JSON.stringify(s)}`);
    for (const c of configs) {
      if (subnetMatches(s, c.Subnet) || subnetMatches(c.Subnet, s)) {
        throw new Error(`overlapping subnets ${c.Subnet} and ${s} are not supported`);
      }
    }
    configs.push({ Subnet: s });
  }
  for (const r of ranges) {
    const c = configs.find((x) => subnetMatches(x.Subnet, r));
    if (!c) throw new Error(`no matching subnet for range ${r}`);
    if (c.IPRange !== undefined)
      throw new Error(`cannot configure multiple ranges (${r}, ${c.IPRange}) on the same subnet (${c.Subnet})`);
    c.IPRange = r;
  }
  for (const g of gateways) {
    if (g.includes('/')) throw new Error(`invalid gateway ${JSON.stringify(g)}: give an address, not a CIDR`);
    const c = configs.find((x) => subnetMatches(x.Subnet, g));
    if (!c) throw new Error(`no matching subnet for gateway ${g}`);
    if (c.Gateway !== undefined)
      throw new Error(`cannot configure multiple gateways (${g}, ${c.Gateway}) for the same subnet (${c.Subnet})`);
    c.Gateway = g;
  }
  for (const [name, addr] of aux) {
    const c = configs.find((x) => subnetMatches(x.Subnet, addr));
    if (!c) throw new Error(`no matching subnet for aux-address ${addr}`);
    c.AuxiliaryAddresses ??= {};
    c.AuxiliaryAddresses[name] = addr;
  }
  return configs;
}
