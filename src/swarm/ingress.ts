/**
 * Checks of a network create that only swarm mode explains: an `Ingress` network (the routing
 * mesh's; one per swarm, overlay, not attachable) and `Scope: swarm` need swarm mode.
 */
import { TsnetError } from '../errors/index.js';
import type { NetworkCreateBody } from '../network/controller.js';
import type { NetworkRecord } from '../network/network-record.js';
import { NOT_MANAGER } from './swarm.js';

export function checkSwarmCreate(b: NetworkCreateBody, inSwarm: boolean, existing: readonly NetworkRecord[]): void {
  if (!b.Ingress && b.Scope !== 'swarm') return;
  if (!inSwarm) throw new TsnetError('TSNET_NOT_SWARM_MANAGER', NOT_MANAGER);
  if (!b.Ingress) return;
  if ((b.Driver || 'bridge') !== 'overlay') {
    throw new TsnetError('TSNET_INVALID_ARGUMENT', 'an ingress network uses the overlay driver: add -d overlay');
  }
  if (b.Attachable) {
    throw new TsnetError('TSNET_INVALID_ARGUMENT', 'an ingress network cannot be attachable: containers do not join it');
  }
  const other = existing.find((n) => n.ingress);
  if (other) {
    throw new TsnetError(
      'TSNET_NETWORK_EXISTS',
      `rpc error: code = AlreadyExists desc = ingress network (${other.id.slice(0, 25)}) is already present`,
    );
  }
}
