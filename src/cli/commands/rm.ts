/**
 * tsnet rm [-f] [-v] CONTAINER...: DELETE /containers/{id}?force=1&v=1.
 * tsnet rm -l PARENT/ALIAS...: DELETE /containers/PARENT/ALIAS?link=1 (removes the legacy link).
 */
import { readBody, seg } from '../api-client.js';
import type { Context } from '../context.js';
import { eachTarget } from '../targets.js';

export default async function rm(
  ctx: Context,
  [containers]: [string[]],
  opts: { force?: boolean; volumes?: boolean; link?: boolean },
): Promise<number> {
  return eachTarget(ctx, containers, async (c) => {
    // a link name PARENT/ALIAS keeps its slash in the path, as the docker CLI sends it
    const target = c.replace(/^\//, '').split('/').map(seg).join('/');
    const res = await ctx.client.send('DELETE', `/containers/${target}`, {
      query: { force: opts.force ? 1 : undefined, v: opts.volumes ? 1 : undefined, link: opts.link ? 1 : undefined },
    });
    await readBody(res);
    // the container is gone; a network plugin that did not answer is told later (one line)
    const warning = res.headers['x-tsnet-warning'];
    if (warning) ctx.error(`warning: ${c}: ${warning}`);
  });
}
