/** tsnet volume ls: GET /volumes?filters=… → DRIVER, VOLUME NAME (sorted by name). */
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { formatList } from '../format/list.js';
import { parseFilters } from '../parse/kv.js';

interface ApiVolume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  Scope?: string;
  Labels?: Record<string, string> | null;
}

export default async function volumeLs(
  ctx: Context,
  _args: [],
  opts: { quiet?: boolean; filter?: string[]; format?: string },
): Promise<number> {
  let filters: string | undefined;
  try {
    filters = parseFilters(opts.filter ?? []);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const res = await ctx.client.json<{ Volumes?: ApiVolume[] | null }>('GET', '/volumes', { query: { filters } });
  const list = (res.Volumes ?? []).sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
  if (opts.quiet) {
    for (const v of list) ctx.print(v.Name);
    return 0;
  }
  const json = (v: ApiVolume): Record<string, string> => ({
    Driver: v.Driver,
    Labels: Object.entries(v.Labels ?? {})
      .map(([k, x]) => `${k}=${x}`)
      .sort()
      .join(','),
    Mountpoint: v.Mountpoint,
    Name: v.Name,
    Scope: v.Scope ?? 'local',
  });
  ctx.stdout.write(
    formatList(list, opts.format, {
      headers: ['DRIVER', 'VOLUME NAME'],
      row: (v) => [v.Driver, v.Name],
      json,
      headerNames: { Driver: 'DRIVER', Name: 'VOLUME NAME', Mountpoint: 'MOUNTPOINT', Scope: 'SCOPE', Labels: 'LABELS' },
    }),
  );
  return 0;
}
