/** Bridge driver options (Docker's com.docker.network.* keys), validated before anything is made. */
import crypto from 'node:crypto';
import { TsnetError } from '../../../errors/index.js';
import { tryParseIp } from '../../../lib/cidr.js';

export const OPT = {
  name: 'com.docker.network.bridge.name',
  masquerade: 'com.docker.network.bridge.enable_ip_masquerade',
  icc: 'com.docker.network.bridge.enable_icc',
  hostBindingIpv4: 'com.docker.network.bridge.host_binding_ipv4',
  mtu: 'com.docker.network.driver.mtu',
  defaultBridge: 'com.docker.network.bridge.default_bridge',
  inhibitIpv4: 'com.docker.network.bridge.inhibit_ipv4',
  hostIpv4: 'com.docker.network.host_ipv4',
  /** tsnet's own: container ↔ container frames skip the bridge (fast-path.ts); default true */
  fastPath: 'com.tsnet.bridge.fast_path',
} as const;

const KNOWN = new Set<string>(Object.values(OPT));

export interface BridgeConfig {
  bridgeName: string;
  mtu?: number;
  icc: boolean;
  masquerade: boolean;
  hostBindingIpv4: string;
  snatIpv4: string;
  defaultBridge: boolean;
  fastPath: boolean;
}

function bool(v: string | undefined, key: string, fallback: boolean): boolean {
  if (v === undefined || v === '') return fallback;
  if (['true', '1', 'yes'].includes(v.toLowerCase())) return true;
  if (['false', '0', 'no'].includes(v.toLowerCase())) return false;
  throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid value ${JSON.stringify(v)} for option ${key}: use true or false`);
}

export function bridgeNameFor(networkId: string): string {
  return `br-${networkId.slice(0, 12)}`;
}

export function parseBridgeOptions(networkId: string, options: Record<string, string>): BridgeConfig {
  for (const k of Object.keys(options)) {
    if (!KNOWN.has(k) && k.startsWith('com.docker.network.bridge.')) {
      throw new TsnetError('TSNET_INVALID_ARGUMENT', `unknown bridge option ${k}`);
    }
  }
  const name = options[OPT.name] || bridgeNameFor(networkId);
  if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(name) || name === '.' || name === '..') {
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `invalid bridge name ${JSON.stringify(name)}: 1-15 characters of a-z A-Z 0-9 _ . -`,
    );
  }
  let mtu: number | undefined;
  if (options[OPT.mtu]) {
    mtu = /^[0-9]+$/.test(options[OPT.mtu]!) ? Number(options[OPT.mtu]) : Number.NaN;
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) {
      throw new TsnetError(
        'TSNET_INVALID_ARGUMENT',
        `invalid MTU ${JSON.stringify(options[OPT.mtu])}: use a number from 68 to 65535`,
      );
    }
  }
  const hostBinding = options[OPT.hostBindingIpv4] ?? '';
  if (hostBinding && !tryParseIp(hostBinding)) {
    throw new TsnetError('TSNET_BAD_IP', `invalid ${OPT.hostBindingIpv4} ${JSON.stringify(hostBinding)}: give an IP address`);
  }
  const snat = options[OPT.hostIpv4] ?? '';
  if (snat && tryParseIp(snat)?.family !== 4) {
    throw new TsnetError('TSNET_BAD_IP', `invalid ${OPT.hostIpv4} ${JSON.stringify(snat)}: give an IPv4 address`);
  }
  bool(options[OPT.inhibitIpv4], OPT.inhibitIpv4, false);
  return {
    bridgeName: name,
    ...(mtu ? { mtu } : {}),
    icc: bool(options[OPT.icc], OPT.icc, true),
    masquerade: bool(options[OPT.masquerade], OPT.masquerade, true),
    hostBindingIpv4: hostBinding,
    snatIpv4: snat,
    defaultBridge: bool(options[OPT.defaultBridge], OPT.defaultBridge, false),
    fastPath: bool(options[OPT.fastPath], OPT.fastPath, true),
  };
}

/** Host-side veth name: `ts` + 10 hex of a hash of the endpoint id (fits IFNAMSIZ). */
export function vethName(endpointId: string): string {
  return `ts${crypto.createHash('sha256').update(endpointId).digest('hex').slice(0, 10)}`;
}

/** A random locally administered unicast MAC (Docker ≥ 28). */
export function randomMac(): string {
  const b = crypto.randomBytes(6);
  b[0] = (b[0]! & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}
