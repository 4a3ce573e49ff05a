/** tsnet restart [-t N] CONTAINER...: POST /containers/{id}/restart?t=N. */
import { seg } from '../api-client.js';
import type { Context } from '../context.js';
import { eachTarget } from '../targets.js';

export default async function restart(ctx: Context, [containers]: [string[]], opts: { time?: number }): Promise<number> {
  return eachTarget(ctx, containers, async (c) => {
    await ctx.client.call('POST', `/containers/${seg(c)}/restart`, { query: { t: opts.time } });
  });
}
