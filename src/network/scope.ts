/**
 * The `Scope` of a network create, checked as Docker checks it: empty takes the driver's scope;
 * a multi-host driver cannot be made local ("cannot downgrade"); tsnet makes swarm-scope
 * networks only with the overlay driver of its single-node swarm mode (src/swarm).
 */
import { TsnetError } from '../errors/index.js';
import type { Scope } from './driver-api.js';

export function checkScope(asked: string | undefined, driverName: string, driverScope: Scope): void {
  if (!asked || asked === driverScope) return;
  if (asked !== 'local' && asked !== 'global' && asked !== 'swarm') {
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid network scope: ${asked}`);
  }
  if (asked === 'local') {
    throw new TsnetError('TSNET_NETWORK_SCOPE', `cannot downgrade network scope for ${driverName} networks`);
  }
  throw new TsnetError(
    'TSNET_NETWORK_SCOPE',
    `tsnet makes ${driverScope}-scope ${driverName} networks only: --scope ${asked} is not available for them${asked === 'swarm' ? ' (swarm scope: -d overlay in swarm mode)' : ''}`,
  );
}
