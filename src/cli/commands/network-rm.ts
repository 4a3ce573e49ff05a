/** tsnet network rm NETWORK...: DELETE /networks/{id}; prints each network as given. */
import { seg } from '../api-client.js';
import type { Context } from '../context.js';
import { eachTarget } from '../targets.js';

export default async function networkRm(ctx: Context, [networks]: [string[]]): Promise<number> {
  return eachTarget(ctx, networks, async (n) => {
    await ctx.client.call('DELETE', `/networks/${seg(n)}`);
  });
}
