/** tsnet diff CONTAINER: GET /containers/{id}/changes, one `C|A|D /path` line per change. */
import { seg } from '../api-client.js';
import type { Context } from '../context.js';

const KIND = ['C', 'A', 'D'];

export default async function diff(ctx: Context, [container]: [string]): Promise<number> {
  const changes = await ctx.client.json<Array<{ Path: string; Kind: number }> | null>(
    'GET',
    `/containers/${seg(container)}/changes`,
  );
  for (const c of changes ?? []) ctx.print(`${KIND[c.Kind] ?? '?'} ${c.Path}`);
  return 0;
}
