/** tsnet top CONTAINER [ps OPTIONS]: GET /containers/{id}/top?ps_args=…, printed as a table. */
import { seg } from '../api-client.js';
import type { Context } from '../context.js';
import { renderTable } from '../format/table.js';

export default async function top(ctx: Context, [container, psArgs]: [string, string[]]): Promise<number> {
  const args = psArgs.join(' ');
  const r = await ctx.client.json<{ Titles?: string[]; Processes?: string[][] }>('GET', `/containers/${seg(container)}/top`, {
    query: { ps_args: args || undefined },
  });
  ctx.print(renderTable(r?.Titles ?? [], r?.Processes ?? []).trimEnd());
  return 0;
}
