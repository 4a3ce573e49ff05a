/**
 * Names of what the overlay driver makes (DESIGN rule 2), all derived from ids so a start-up
 * sweep can find them:
 *   <exec-root>/netns/ov-<vni>-<network id 12>   the network's namespace (bridge + vxlan inside)
 *   tsvx-<vni>                                    the VXLAN device (made in the host netns, then moved in)
 *   tsbr-<vni>                                    the bridge inside the network's namespace
 *   tsov<endpoint id 10>                          the endpoint's veth end on that bridge
 */
import crypto from 'node:crypto';
import path from 'node:path';

export function netnsFileName(vni: number, networkId: string): string {
  return `ov-${vni}-${networkId.slice(0, 12)}`;
}

export function netnsFile(dir: string, vni: number, networkId: string): string {
  return path.join(dir, netnsFileName(vni, networkId));
}

/** `ov-<vni>-<id12>` → its parts, or undefined for any other file name. */
export function parseNetnsFileName(name: string): { vni: number; networkIdPrefix: string } | undefined {
  const m = /^ov-([0-9]{1,8})-([0-9A-Za-z_.-]{1,12})$/.exec(name);
  return m ? { vni: Number(m[1]), networkIdPrefix: m[2]! } : undefined;
}

export const vxlanName = (vni: number): string => `tsvx-${vni}`;
export const bridgeName = (vni: number): string => `tsbr-${vni}`;
export const VXLAN_NAME_RE = /^tsvx-[0-9]{1,8}$/;

/**
 * `tsov` + the first 10 hex digits of the endpoint id (tsnet's ids are 64 random hex digits);
 * any other id is hashed first, so ids sharing a prefix never share a name.
 */
export function vethName(endpointId: string): string {
  const id = /^[0-9a-f]{32,}$/.test(endpointId) ? endpointId : crypto.createHash('sha256').update(endpointId).digest('hex');
  return `tsov${id.slice(0, 10)}`;
}
