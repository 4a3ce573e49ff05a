/** tsnet pause CONTAINER...: POST /containers/{id}/pause. */
import { seg } from '../api-client.js';
import type { Context } from '../context.js';
import { eachTarget } from '../targets.js';

export default async function pause(ctx: Context, [containers]: [string[]]): Promise<number> {
  return eachTarget(ctx, containers, async (c) => {
    await ctx.client.call('POST', `/containers/${seg(c)}/pause`);
  });
}
