/** tsnet rm [-f] [-v] CONTAINER...: DELETE /containers/{id}?force=1&v=1. */
import { seg } from '../api-client.js';
import type { Context } from '../context.js';
import { eachTarget } from '../targets.js';

export default async function rm(
  ctx: Context,
  [containers]: [string[]],
  opts: { force?: boolean; volumes?: boolean },
): Promise<number> {
  return eachTarget(ctx, containers, async (c) => {
    await ctx.client.call('DELETE', `/containers/${seg(c)}`, {
      query: { force: opts.force ? 1 : undefined, v: opts.volumes ? 1 : undefined },
    });
  });
}
