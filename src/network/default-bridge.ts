/**
 * The predefined `bridge` network (device tsnet0) as tsnetd's flags describe it: `--ipv6`
 * enables IPv6 on it, `--fixed-cidr-v6` gives its IPv6 subnet (without it, a /64 of the default
 * pools: the host's ULA prefix unless --default-address-pool has an IPv6 base), as dockerd's
 * flags of the same names do for docker0.
 */
import { TsnetError } from '../errors/index.js';
import { canonicalCidr, parseSubnet } from '../lib/cidr.js';
import type { NetworkCreateBody } from './controller.js';
import type { NetworkRecord } from './network-record.js';

export interface DefaultBridgeConfig {
  /** Device name (`--bridge-name`, default tsnet0). */
  name: string;
  /** `--ipv6`. */
  ipv6: boolean;
  /** `--fixed-cidr-v6` (canonical), only with ipv6. */
  fixedCidrV6?: string;
}

/** Check the flags before anything is made; returns the config with a canonical subnet. */
export function defaultBridgeConfig(name: string, ipv6: boolean, fixedCidrV6?: string): DefaultBridgeConfig {
  if (fixedCidrV6 === undefined || fixedCidrV6 === '') return { name, ipv6 };
  if (!ipv6)
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      '--fixed-cidr-v6 needs --ipv6: add --ipv6 to enable IPv6 on the default bridge',
    );
  const c = parseSubnet(fixedCidrV6, '--fixed-cidr-v6');
  if (c.family !== 6) {
    throw new TsnetError('TSNET_BAD_CIDR', `invalid --fixed-cidr-v6 "${fixedCidrV6}": give an IPv6 subnet such as fd00:1::/64`);
  }
  if (c.prefix > 126) {
    throw new TsnetError('TSNET_BAD_CIDR', `invalid --fixed-cidr-v6 "${fixedCidrV6}": the prefix must be /126 or shorter`);
  }
  return { name, ipv6, fixedCidrV6: canonicalCidr(c) };
}

/** The create body of the default bridge. */
export function defaultBridgeBody(cfg: DefaultBridgeConfig): NetworkCreateBody {
  return {
    Name: 'bridge',
    Driver: 'bridge',
    EnableIPv6: cfg.ipv6,
    Options: {
      'com.docker.network.bridge.name': cfg.name,
      'com.docker.network.bridge.default_bridge': 'true',
    },
    ...(cfg.fixedCidrV6 ? { IPAM: { Config: [{ Subnet: cfg.fixedCidrV6 }] } } : {}),
  };
}

/** Does the stored default bridge already have what the flags ask for (IPv6 on/off, its subnet)? */
export function defaultBridgeMatches(rec: NetworkRecord, cfg: DefaultBridgeConfig): boolean {
  if (rec.enableIPv6 !== cfg.ipv6) return false;
  const v6 = rec.pools.filter((p) => p.v6);
  if (cfg.ipv6 && v6.length === 0) return false;
  // the subnet asked for when it was made (none: one from the pools) must be the one asked for now
  const asked = rec.ipam.config.find((c) => c.Subnet?.includes(':'))?.Subnet;
  if (asked !== cfg.fixedCidrV6) return false;
  return rec.options['com.docker.network.bridge.name'] === cfg.name;
}
