/** tsnet image prune [-a] [-f] [--filter k=v]: POST /images/prune → {ImagesDeleted, SpaceReclaimed}. */
import type { Context } from '../context.js';
import { confirm, filtersJson, printDeleted, printReclaimed } from '../prune.js';

/** The prune itself, shared with `system prune`; returns the bytes reclaimed. */
export async function pruneImages(ctx: Context, all: boolean, filterList: string[] | undefined): Promise<number> {
  const filters = filtersJson(filterList, all ? { dangling: ['false'] } : {});
  const res = await ctx.client.json<{
    ImagesDeleted?: Array<{ Untagged?: string; Deleted?: string }> | null;
    SpaceReclaimed?: number;
  }>('POST', '/images/prune', { query: { filters } });
  const lines = (res?.ImagesDeleted ?? []).map((d) => (d.Untagged ? `untagged: ${d.Untagged}` : `deleted: ${d.Deleted}`));
  printDeleted(ctx, 'Deleted Images:', lines);
  return res?.SpaceReclaimed ?? 0;
}

export default async function imagePrune(
  ctx: Context,
  _args: [],
  opts: { force?: boolean; all?: boolean; filter?: string[] },
): Promise<number> {
  filtersJson(opts.filter); // bad filters fail before the question
  await confirm(
    ctx,
    'image prune',
    opts.all
      ? 'WARNING! This will remove all images without at least one container associated to them.'
      : 'WARNING! This will remove all dangling images.',
    opts.force,
  );
  printReclaimed(ctx, await pruneImages(ctx, opts.all === true, opts.filter));
  return 0;
}
