/** tsnet volume rm [-f] VOLUME...: DELETE /volumes/{name}; prints each volume as given. */
import { seg } from '../api-client.js';
import type { Context } from '../context.js';
import { eachTarget } from '../targets.js';

export default async function volumeRm(ctx: Context, [volumes]: [string[]], opts: { force?: boolean }): Promise<number> {
  return eachTarget(ctx, volumes, async (v) => {
    await ctx.client.call('DELETE', `/volumes/${seg(v)}`, { query: { force: opts.force ? 1 : undefined } });
  });
}
