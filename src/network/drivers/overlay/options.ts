/** Overlay driver options (`-o k=v` on network create; endpoint options from the controller). */
import crypto from 'node:crypto';
import { TsnetError } from '../../../errors/index.js';
import { VXLANID_OPTION, requestedVni } from '../../../store/cluster/vni.js';

export { VXLANID_OPTION };
export const MTU_OPTION = 'com.docker.network.driver.mtu';
export const ENCRYPTED_OPTION = 'encrypted';
/** Endpoint options the controller passes for DNS on every host (EndpointSpec/JoinSpec.options). */
export const ENDPOINT_NAME_OPTION = 'com.tsnet.endpoint.name';
export const ENDPOINT_ALIASES_OPTION = 'com.tsnet.endpoint.aliases';
/** Docker's key for the container name (accepted as well). */
export const DOCKER_ENDPOINT_NAME_OPTION = 'com.docker.network.endpoint.name';

export const VXLAN_PORT = 4789;
/** Outer Ethernet 14 + IP 20 + UDP 8 + VXLAN 8. */
export const VXLAN_OVERHEAD = 50;
export const DEFAULT_MTU = 1500 - VXLAN_OVERHEAD;

export interface OverlayNetworkOptions {
  /** MTU asked for with -o com.docker.network.driver.mtu; undefined: 1450 or less (underlay MTU − 50). */
  mtu?: number;
  /** VNI asked for with -o …vxlanid_list. */
  vni?: number;
}

export function parseNetworkOptions(options: Record<string, string>): OverlayNetworkOptions {
  const out: OverlayNetworkOptions = {};
  const mtu = options[MTU_OPTION];
  if (mtu !== undefined && mtu !== '' && mtu !== '0') {
    if (!/^[0-9]{1,5}$/.test(mtu) || Number(mtu) < 68 || Number(mtu) > 65535) {
      throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid -o ${MTU_OPTION}=${mtu}: the MTU is a number from 68 to 65535`);
    }
    out.mtu = Number(mtu);
  }
  if (options[ENCRYPTED_OPTION] !== undefined) {
    throw new TsnetError('TSNET_NOT_IMPLEMENTED', 'encrypted overlay networks (-o encrypted) are not supported by tsnet');
  }
  const vni = requestedVni(options);
  if (vni !== undefined) out.vni = vni;
  return out;
}

/** The MTU of container interfaces on this host: the option, or 1450 capped by the underlay. */
export function effectiveMtu(asked: number | undefined, underlayMtu: number, underlayDev: string, networkName: string): number {
  const max = underlayMtu - VXLAN_OVERHEAD;
  if (asked === undefined) return Math.min(DEFAULT_MTU, max);
  if (asked > max) {
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `MTU ${asked} of overlay network ${networkName} does not fit this host's underlay: ${underlayDev} has MTU ${underlayMtu} and VXLAN needs ${VXLAN_OVERHEAD} bytes (use at most ${max})`,
    );
  }
  return asked;
}

/** DNS names from endpoint options: the container name and aliases (string[] or comma-separated). */
export function endpointNames(options: Record<string, unknown> | undefined): { name?: string; aliases: string[] } {
  const out: { name?: string; aliases: string[] } = { aliases: [] };
  const name = options?.[ENDPOINT_NAME_OPTION] ?? options?.[DOCKER_ENDPOINT_NAME_OPTION];
  if (typeof name === 'string' && name !== '') out.name = name.replace(/^\//, '');
  const aliases = options?.[ENDPOINT_ALIASES_OPTION];
  const list = Array.isArray(aliases) ? aliases : typeof aliases === 'string' ? aliases.split(',') : [];
  out.aliases = [
    ...new Set(
      list
        .filter((a): a is string => typeof a === 'string')
        .map((a) => a.trim())
        .filter(Boolean),
    ),
  ];
  return out;
}

/** A random locally administered unicast MAC (02:xx:xx:xx:xx:xx). */
export function randomMac(): string {
  const b = crypto.randomBytes(6);
  b[0] = 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export function checkMac(mac: string): string {
  if (!MAC_RE.test(mac))
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid MAC address ${JSON.stringify(mac)}: expected aa:bb:cc:dd:ee:ff`);
  const first = parseInt(mac.slice(0, 2), 16);
  if (first & 1)
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid MAC address ${mac}: a multicast address cannot be an endpoint's`);
  return mac.toLowerCase();
}
