/** tsnet plugin ls: GET /plugins → NAME, ADDRESS, IMPLEMENTS, STATUS of the discovered legacy plugins. */
import type { Context } from '../context.js';
import { formatList } from '../format/list.js';

interface ApiPlugin {
  Name: string;
  Addr?: string;
  Implements?: string[] | null;
  Status?: string;
}

export default async function pluginLs(ctx: Context, _args: [], opts: { format?: string }): Promise<number> {
  const plugins = (await ctx.client.json<ApiPlugin[] | null>('GET', '/plugins')) ?? [];
  const json = (p: ApiPlugin): Record<string, string> => ({
    Address: p.Addr ?? '',
    Implements: (p.Implements ?? []).join(', '),
    Name: p.Name,
    Status: p.Status ?? '',
  });
  ctx.stdout.write(
    formatList(plugins, opts.format, {
      headers: ['NAME', 'ADDRESS', 'IMPLEMENTS', 'STATUS'],
      row: (p) => {
        const j = json(p);
        return [j.Name!, j.Address!, j.Implements!, j.Status!];
      },
      json,
      headerNames: { Name: 'NAME', Address: 'ADDRESS', Implements: 'IMPLEMENTS', Status: 'STATUS' },
    }),
  );
  return 0;
}
