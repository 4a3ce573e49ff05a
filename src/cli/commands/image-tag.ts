/**
 * tsnet tag / image tag SOURCE TARGET: POST /images/{source}/tag?repo=&tag= (no tag: `latest`,
 * as the daemon normalises it). Prints nothing, as docker.
 */
import { seg } from '../api-client.js';
import type { Context } from '../context.js';
import { repoTagArg } from '../parse/ref.js';

export default async function imageTag(ctx: Context, [source, target]: [string, string]): Promise<number> {
  const { repo, tag } = repoTagArg(target);
  await ctx.client.json('POST', `/images/${seg(source)}/tag`, { query: { repo, tag }, body: null });
  return 0;
}
