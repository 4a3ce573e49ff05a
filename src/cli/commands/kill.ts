/** tsnet kill [-s SIG] CONTAINER...: POST /containers/{id}/kill?signal=SIG. */
import { seg } from '../api-client.js';
import type { Context } from '../context.js';
import { eachTarget } from '../targets.js';

export default async function kill(ctx: Context, [containers]: [string[]], opts: { signal?: string }): Promise<number> {
  return eachTarget(ctx, containers, async (c) => {
    await ctx.client.call('POST', `/containers/${seg(c)}/kill`, { query: { signal: opts.signal } });
  });
}
