/**
 * tsnet commit [options] CONTAINER [REPOSITORY[:TAG]]: POST /commit → the new image's id
 * (`sha256:…`), as `docker commit` prints it.
 */
import type { Context } from '../context.js';
import { repoTagArg } from '../parse/ref.js';

export default async function commit(
  ctx: Context,
  [container, reference]: [string, string | undefined],
  opts: { author?: string; change?: string[]; message?: string; pause?: boolean },
): Promise<number> {
  const { repo, tag } = repoTagArg(reference);
  const r = await ctx.client.json<{ Id: string }>('POST', '/commit', {
    query: {
      container,
      repo,
      tag,
      comment: opts.message,
      author: opts.author,
      pause: opts.pause !== false,
      changes: opts.change,
    },
    body: null,
  });
  ctx.print(r.Id);
  return 0;
}
