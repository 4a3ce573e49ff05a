/**
 * The container mode (`--network container:<ref>`): the joiner gets the target's sandbox as it
 * is — its netns, /etc/hosts entries and resolv.conf — without re-running the target's start, so
 * the target's published ports stay. A target that itself shares another container's network
 * leads to that one's sandbox. As in Docker, the joiner cannot start while the target is not
 * running, and published ports are refused (publish them on the target).
 */
import { TsnetError } from '../../../errors/index.js';
import type { SandboxRequest } from '../../container-api.js';
import type { ModeContext, NetworkModeDriver } from '../../driver-api.js';
import type { SandboxRecord } from '../../sandbox-record.js';

const PREFIX = 'container:';

export function createContainerModeDriver(): NetworkModeDriver {
  /** The sandbox that really holds the netns (following joiners of joiners). */
  const owner = (sb: SandboxRecord, ctx: ModeContext): SandboxRecord | undefined => {
    let at: SandboxRecord | undefined = sb;
    for (let hops = 0; at?.mode === 'container' && hops < 16; hops++) at = ctx.sandbox(at.sharedWith ?? '');
    return at?.mode === 'container' ? undefined : at;
  };
  return {
    mode: 'container',
    ownNetns: false,
    claims: (networkMode) => networkMode.startsWith(PREFIX),
    plan(req: SandboxRequest, ctx) {
      const ref = (req.networkMode ?? '').slice(PREFIX.length);
      const target = ctx.containers(ref);
      if (!target) throw new TsnetError('TSNET_CONTAINER_NOT_FOUND', `No such container: ${ref} (in --network container:${ref})`);
      const hasPorts = Object.values(req.portBindings ?? {}).some((b) => b?.length) || req.publishAll;
      if (hasPorts)
        throw new TsnetError(
          'TSNET_NETWORK_MODE',
          'conflicting options: port publishing and the container network mode (publish ports on the other container)',
        );
      return { sharedWith: target.sandboxId, ignoresPorts: false };
    },
    setup(sb, ctx) {
      const target = ctx.sandbox(sb.sharedWith ?? '');
      if (!target) {
        throw new TsnetError(
          'TSNET_CONTAINER_NOT_FOUND',
          `cannot join the network of the container ${sb.containerName} shares: No such container (it was removed; re-create ${sb.containerName} with another --network)`,
        );
      }
      if (!ctx.isActive(target.id)) {
        throw new TsnetError(
          'TSNET_CONTAINER_NOT_RUNNING',
          `cannot join the network of container ${target.containerName}: it is not running (start ${target.containerName} first)`,
        );
      }
      // The target's sandbox as it is: its ports, routes and DNS belong to the target's own start.
      const o = owner(target, ctx);
      if (!o)
        throw new TsnetError(
          'TSNET_CONTAINER_NOT_FOUND',
          `cannot join the network of container ${target.containerName}: its network owner is gone`,
        );
      // an owner in host mode: the host's netns, but not its UTS namespace
      return { ...ctx.setupOf(o), shareHostUts: false };
    },
    netnsOwner: (sb, ctx) => owner(sb, ctx),
  };
}
