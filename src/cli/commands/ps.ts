/** tsnet ps: GET /containers/json?all=1&filters=… → table, IDs, JSON lines or a template. */
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { goTime, timeAgo } from '../format/duration.js';
import { formatList } from '../format/list.js';
import { displayablePorts, type ApiPort } from '../format/ports.js';
import { ellipsis, shortId } from '../format/table.js';
import { parseFilters } from '../parse/kv.js';

export interface ApiContainer {
  Id: string;
  Names?: string[] | null;
  Image?: string;
  ImageID?: string;
  Command?: string;
  Created?: number;
  Ports?: ApiPort[] | null;
  Labels?: Record<string, string> | null;
  State?: string;
  Status?: string;
  NetworkSettings?: { Networks?: Record<string, unknown> | null } | null;
  Mounts?: Array<{ Name?: string; Source?: string; Destination?: string }> | null;
}

interface PsOptions {
  all?: boolean;
  quiet?: boolean;
  trunc?: boolean;
  filter?: string[];
  format?: string;
}

function names(c: ApiContainer, trunc: boolean): string {
  const all = (c.Names ?? []).map((n) => n.replace(/^\//, ''));
  if (trunc) {
    const own = all.find((n) => !n.includes('/'));
    return own ?? all[0] ?? '';
  }
  return all.join(',');
}

function image(c: ApiContainer, trunc: boolean): string {
  const img = c.Image ?? '';
  if (!trunc) return img;
  if (img.startsWith('sha256:')) return shortId(img);
  return img.replace(/@sha256:[0-9a-f]+$/, '');
}

function status(c: ApiContainer): string {
  if (c.Status) return c.Status;
  const s = c.State ?? '';
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function labels(c: ApiContainer): string {
  return Object.entries(c.Labels ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export function containerRow(c: ApiContainer, trunc: boolean, now = Date.now()): Record<string, string> {
  const command = c.Command ?? '';
  return {
    Command: JSON.stringify(trunc ? ellipsis(command, 20) : command),
    CreatedAt: c.Created ? goTime(c.Created * 1000) : '',
    ID: shortId(c.Id, trunc),
    Image: image(c, trunc),
    Labels: labels(c),
    Mounts: (c.Mounts ?? [])
      .map((m) => {
        const n = m.Name || m.Source || '';
        return trunc ? ellipsis(n, 15) : n;
      })
      .join(','),
    Names: names(c, trunc),
    Networks: Object.keys(c.NetworkSettings?.Networks ?? {})
      .sort()
      .join(','),
    Ports: displayablePorts(c.Ports ?? []),
    RunningFor: c.Created ? timeAgo(c.Created * 1000, now) : '',
    State: c.State ?? '',
    Status: status(c),
  };
}

/** The default table's columns only (containerRow also formats dates, labels, mounts, networks). */
function tableRow(c: ApiContainer, trunc: boolean, now: number): string[] {
  const command = c.Command ?? '';
  return [
    shortId(c.Id, trunc),
    image(c, trunc),
    JSON.stringify(trunc ? ellipsis(command, 20) : command),
    c.Created ? timeAgo(c.Created * 1000, now) : '',
    status(c),
    c.Ports && c.Ports.length > 0 ? displayablePorts(c.Ports) : '',
    names(c, trunc),
  ];
}

export default async function ps(ctx: Context, _args: [], opts: PsOptions): Promise<number> {
  const trunc = opts.trunc !== false;
  let filters: string | undefined;
  try {
    filters = parseFilters(opts.filter ?? []);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const list =
    (await ctx.client.json<ApiContainer[] | null>('GET', '/containers/json', {
      query: { all: opts.all ? 1 : undefined, filters },
    })) ?? [];
  if (opts.quiet) {
    ctx.stdout.write(list.map((c) => `${shortId(c.Id, trunc)}\n`).join(''));
    return 0;
  }
  const now = Date.now();
  ctx.stdout.write(
    formatList(list, opts.format, {
      headers: ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'],
      row: (c) => tableRow(c, trunc, now),
      json: (c) => containerRow(c, trunc, now),
      headerNames: {
        ID: 'CONTAINER ID',
        Image: 'IMAGE',
        Command: 'COMMAND',
        CreatedAt: 'CREATED AT',
        RunningFor: 'CREATED',
        Ports: 'PORTS',
        State: 'STATE',
        Status: 'STATUS',
        Names: 'NAMES',
        Labels: 'LABELS',
        Mounts: 'MOUNTS',
        Networks: 'NETWORKS',
      },
    }),
  );
  return 0;
}
