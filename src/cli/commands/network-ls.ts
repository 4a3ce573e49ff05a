/** tsnet network ls: GET /networks?filters=… → NETWORK ID, NAME, DRIVER, SCOPE (sorted by name). */
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { goTime } from '../format/duration.js';
import { formatList } from '../format/list.js';
import { shortId } from '../format/table.js';
import { parseFilters } from '../parse/kv.js';

interface ApiNetwork {
  Id: string;
  Name: string;
  Driver?: string;
  Scope?: string;
  Created?: string;
  EnableIPv6?: boolean;
  Internal?: boolean;
  Labels?: Record<string, string> | null;
}

export default async function networkLs(
  ctx: Context,
  _args: [],
  opts: { quiet?: boolean; trunc?: boolean; filter?: string[]; format?: string },
): Promise<number> {
  const trunc = opts.trunc !== false;
  let filters: string | undefined;
  try {
    filters = parseFilters(opts.filter ?? []);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const list = ((await ctx.client.json<ApiNetwork[] | null>('GET', '/networks', { query: { filters } })) ?? []).sort((a, b) =>
    a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0,
  );
  if (opts.quiet) {
    for (const n of list) ctx.print(shortId(n.Id, trunc));
    return 0;
  }
  const json = (n: ApiNetwork): Record<string, string> => {
    const created = n.Created ? Date.parse(n.Created) : NaN;
    return {
      CreatedAt: Number.isNaN(created) ? '' : goTime(created),
      Driver: n.Driver ?? '',
      ID: shortId(n.Id, trunc),
      IPv6: String(n.EnableIPv6 === true),
      Internal: String(n.Internal === true),
      Labels: Object.entries(n.Labels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .sort()
        .join(','),
      Name: n.Name,
      Scope: n.Scope ?? '',
    };
  };
  ctx.stdout.write(
    formatList(list, opts.format, {
      headers: ['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'],
      row: (n) => {
        const j = json(n);
        return [j.ID!, j.Name!, j.Driver!, j.Scope!];
      },
      json,
      headerNames: { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv6: 'IPV6', Internal: 'INTERNAL' },
    }),
  );
  return 0;
}
