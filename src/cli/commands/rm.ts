/** tsnet rm [-f] [-v] CONTAINER...: DELETE /containers/{id}?force=1&v=1. */
import { readBody, seg } from '../api-client.js';
import type { Context } from '../context.js';
import { eachTarget } from '../targets.js';

export default async function rm(
  ctx: Context,
  [containers]: [string[]],
  opts: { force?: boolean; volumes?: boolean },
): Promise<number> {
  return eachTarget(ctx, containers, async (c) => {
    const res = await ctx.client.send('DELETE', `/containers/${seg(c)}`, {
      query: { force: opts.force ? 1 : undefined, v: opts.volumes ? 1 : undefined },
    });
    await readBody(res);
    // the container is gone; a network plugin that did not answer is told later (one line)
    const warning = res.headers['x-tsnet-warning'];
    if (warning) ctx.error(`warning: ${c}: ${warning}`);
  });
}
