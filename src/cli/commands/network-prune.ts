/** tsnet network prune [-f] [--filter k=v]: POST /networks/prune → {NetworksDeleted}. */
import type { Context } from '../context.js';
import { confirm, filtersJson } from '../prune.js';

export const NETWORK_WARNING = 'WARNING! This will remove all custom networks not used by at least one container.';

/** The prune itself, shared with `system prune`. */
export async function pruneNetworks(ctx: Context, filters: string | undefined): Promise<void> {
  const res = await ctx.client.json<{ NetworksDeleted?: string[] | null }>('POST', '/networks/prune', {
    query: { filters },
  });
  const deleted = res?.NetworksDeleted ?? [];
  if (deleted.length > 0) {
    ctx.print('Deleted Networks:');
    for (const n of deleted) ctx.print(n);
  }
}

export default async function networkPrune(
  ctx: Context,
  _args: [],
  opts: { force?: boolean; filter?: string[] },
): Promise<number> {
  const filters = filtersJson(opts.filter);
  await confirm(ctx, 'network prune', NETWORK_WARNING, opts.force);
  await pruneNetworks(ctx, filters);
  return 0;
}
