/** tsnet volume prune [-a] [--filter k=v] [-f]: POST /volumes/prune → {VolumesDeleted, SpaceReclaimed}. */
import type { Context } from '../context.js';
import { confirm, filtersJson, printDeleted, printReclaimed } from '../prune.js';

export default async function volumePrune(
  ctx: Context,
  _args: [],
  opts: { all?: boolean; filter?: string[]; force?: boolean },
): Promise<number> {
  const filters = filtersJson(opts.filter, opts.all ? { all: ['true'] } : {});
  const what = opts.all ? 'all local volumes' : 'all anonymous local volumes';
  await confirm(ctx, 'volume prune', `WARNING! This will remove ${what} not used by at least one container.`, opts.force);
  const res = await ctx.client.json<{ VolumesDeleted?: string[] | null; SpaceReclaimed?: number }>('POST', '/volumes/prune', {
    query: { filters },
  });
  printDeleted(ctx, 'Deleted Volumes:', res?.VolumesDeleted ?? []);
  printReclaimed(ctx, res?.SpaceReclaimed ?? 0);
  return 0;
}
