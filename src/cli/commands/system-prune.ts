/**
 * tsnet system prune [-a] [--volumes] [-f] [--filter k=v]: containers, then networks, then
 * images (as Docker orders it, so what the removed containers used is free), then volumes.
 */
import { ApiError } from '../errors.js';
import type { Context } from '../context.js';
import { confirm, filtersJson, printDeleted, printReclaimed } from '../prune.js';
import { pruneContainers } from './container-prune.js';
import { pruneImages } from './image-prune.js';
import { pruneNetworks } from './network-prune.js';

export default async function systemPrune(
  ctx: Context,
  _args: [],
  opts: { force?: boolean; all?: boolean; volumes?: boolean; filter?: string[] },
): Promise<number> {
  const filters = filtersJson(opts.filter);
  const items = [
    'all stopped containers',
    'all networks not used by at least one container',
    ...(opts.volumes ? ['all anonymous volumes not used by at least one container'] : []),
    opts.all ? 'all images without at least one container associated to them' : 'all dangling images',
  ];
  await confirm(ctx, 'system prune', `WARNING! This will remove:\n${items.map((i) => `  - ${i}`).join('\n')}\n`, opts.force);
  let reclaimed = await pruneContainers(ctx, filters);
  await pruneNetworks(ctx, filters);
  if (opts.volumes) {
    // volumes are pruned by the daemon's volume routes, where it has them
    try {
      const res = await ctx.client.json<{ VolumesDeleted?: string[] | null; SpaceReclaimed?: number }>('POST', '/volumes/prune', {
        query: { filters },
      });
      printDeleted(ctx, 'Deleted Volumes:', res?.VolumesDeleted ?? []);
      reclaimed += res?.SpaceReclaimed ?? 0;
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
      ctx.error('this daemon has no volumes to prune');
    }
  }
  reclaimed += await pruneImages(ctx, opts.all === true, opts.filter);
  printReclaimed(ctx, reclaimed);
  return 0;
}
