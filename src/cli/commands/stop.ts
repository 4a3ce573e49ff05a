/** tsnet stop [-t N] CONTAINER...: POST /containers/{id}/stop?t=N (304, already stopped, is success). */
import { seg } from '../api-client.js';
import type { Context } from '../context.js';
import { eachTarget } from '../targets.js';

export default async function stop(ctx: Context, [containers]: [string[]], opts: { time?: number }): Promise<number> {
  return eachTarget(ctx, containers, async (c) => {
    await ctx.client.call('POST', `/containers/${seg(c)}/stop`, { query: { t: opts.time } });
  });
}
