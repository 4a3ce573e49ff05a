/** tsnet image rm / rmi [-f] IMAGE...: DELETE /images/{name}?force=1 → Untagged: / Deleted: lines. */
import { seg } from '../api-client.js';
import type { Context } from '../context.js';
import { DaemonUnreachableError, errorMessage } from '../errors.js';

export default async function imageRm(ctx: Context, [images]: [string[]], opts: { force?: boolean }): Promise<number> {
  let failed = false;
  for (const image of images) {
    try {
      const items =
        (await ctx.client.json<Array<{ Untagged?: string; Deleted?: string }> | null>('DELETE', `/images/${seg(image)}`, {
          query: { force: opts.force ? 1 : undefined },
        })) ?? [];
      for (const item of items) {
        if (item.Untagged) ctx.print(`Untagged: ${item.Untagged}`);
        if (item.Deleted) ctx.print(`Deleted: ${item.Deleted}`);
      }
    } catch (err) {
      if (err instanceof DaemonUnreachableError) throw err;
      ctx.error(errorMessage(err));
      failed = true;
    }
  }
  return failed ? 1 : 0;
}
