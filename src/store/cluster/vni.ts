/** VXLAN network identifiers: range, the user option, and picking a free one. Pure. */
import { TsnetError } from '../../errors/index.js';

/** Dynamic VNIs come from here up (Docker swarm's range: 4096 … 2^24−1); 1 … 4095 only on request. */
export const VNI_DYNAMIC_MIN = 4096;
export const VNI_MAX = 0xffffff;

/** Docker's option for a user-chosen VNI (`-o com.docker.network.driver.overlay.vxlanid_list=4242`). */
export const VXLANID_OPTION = 'com.docker.network.driver.overlay.vxlanid_list';

/** The VNI the user asked for, if any. One network has one VNI here (one subnet). */
export function requestedVni(options: Record<string, string> | undefined): number | undefined {
  const raw = options?.[VXLANID_OPTION];
  if (raw === undefined || raw.trim() === '') return undefined;
  const parts = raw.split(',').map((s) => s.trim());
  if (parts.length !== 1) {
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `invalid -o ${VXLANID_OPTION}=${raw}: tsnet overlay networks have one subnet, so give exactly one VXLAN id`,
    );
  }
  return checkVni(parts[0]!, `-o ${VXLANID_OPTION}`);
}

export function checkVni(text: string | number, where = 'VXLAN id'): number {
  const s = String(text);
  if (!/^[0-9]{1,8}$/.test(s) || Number(s) < 1 || Number(s) > VNI_MAX) {
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `invalid ${where} ${JSON.stringify(s)}: a VXLAN id is a number from 1 to ${VNI_MAX}`,
    );
  }
  return Number(s);
}

/** The lowest VNI ≥ VNI_DYNAMIC_MIN not in `used`, or undefined when all are taken. */
export function pickVni(used: ReadonlySet<number>, from = VNI_DYNAMIC_MIN): number | undefined {
  for (let v = Math.max(from, VNI_DYNAMIC_MIN); v <= VNI_MAX; v++) if (!used.has(v)) return v;
  return undefined;
}
