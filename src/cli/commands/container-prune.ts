/** tsnet container prune [-f] [--filter k=v]: POST /containers/prune → {ContainersDeleted, SpaceReclaimed}. */
import type { Context } from '../context.js';
import { confirm, filtersJson, printDeleted, printReclaimed } from '../prune.js';

/** The prune itself, shared with `system prune`; returns the bytes reclaimed. */
export async function pruneContainers(ctx: Context, filters: string | undefined): Promise<number> {
  const res = await ctx.client.json<{ ContainersDeleted?: string[] | null; SpaceReclaimed?: number }>(
    'POST',
    '/containers/prune',
    { query: { filters } },
  );
  printDeleted(ctx, 'Deleted Containers:', res?.ContainersDeleted ?? []);
  return res?.SpaceReclaimed ?? 0;
}

export default async function containerPrune(
  ctx: Context,
  _args: [],
  opts: { force?: boolean; filter?: string[] },
): Promise<number> {
  const filters = filtersJson(opts.filter);
  await confirm(ctx, 'container prune', 'WARNING! This will remove all stopped containers.', opts.force);
  printReclaimed(ctx, await pruneContainers(ctx, filters));
  return 0;
}
