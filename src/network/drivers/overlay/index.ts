/** The overlay driver (VXLAN, global scope): see overlay-driver.ts and docs/overlay.md. */
import { OverlayDriver, type OverlayDriverDeps } from './overlay-driver.js';

export { OverlayDriver, type OverlayDriverDeps, type OverlayCluster } from './overlay-driver.js';
export {
  MTU_OPTION,
  VXLANID_OPTION,
  ENDPOINT_NAME_OPTION,
  ENDPOINT_ALIASES_OPTION,
  VXLAN_PORT,
  DEFAULT_MTU,
} from './options.js';
export { netnsFileName, parseNetnsFileName, vxlanName, bridgeName, vethName } from './names.js';

/** Factory (style habit H1). */
export function createOverlayDriver(deps: OverlayDriverDeps): OverlayDriver {
  return new OverlayDriver(deps);
}
