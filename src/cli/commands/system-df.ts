/** tsnet system df: GET /system/df → docker's summary table (images, containers, volumes, build cache). */
import type { Context } from '../context.js';
import { formatList } from '../format/list.js';
import { humanSize } from '../format/size.js';

interface DiskUsage {
  LayersSize?: number;
  Images?: Array<{ Size?: number; Containers?: number }> | null;
  Containers?: Array<{ SizeRw?: number; State?: string }> | null;
  Volumes?: Array<{ UsageData?: { Size?: number; RefCount?: number } }> | null;
  BuildCache?: unknown[] | null;
}

interface Row {
  Type: string;
  TotalCount: string;
  Active: string;
  Size: string;
  Reclaimable: string;
}

function reclaim(bytes: number, of: number): string {
  return `${humanSize(bytes)}${of > 0 ? ` (${Math.round((bytes / of) * 100)}%)` : ''}`;
}

export function dfRows(d: DiskUsage): Row[] {
  const images = d.Images ?? [];
  const containers = d.Containers ?? [];
  const layers = d.LayersSize ?? 0;
  const unusedImages = images.filter((i) => !i.Containers).reduce((a, i) => a + (i.Size ?? 0), 0);
  const rw = containers.reduce((a, c) => a + (c.SizeRw ?? 0), 0);
  const volumes = d.Volumes ?? [];
  const vsize = (v: { UsageData?: { Size?: number } }) => Math.max(0, v.UsageData?.Size ?? 0);
  const volSize = volumes.reduce((a, v) => a + vsize(v), 0);
  const unusedVol = volumes.filter((v) => !v.UsageData?.RefCount).reduce((a, v) => a + vsize(v), 0);
  const stoppedRw = containers.filter((c) => c.State !== 'running').reduce((a, c) => a + (c.SizeRw ?? 0), 0);
  return [
    {
      Type: 'Images',
      TotalCount: String(images.length),
      Active: String(images.filter((i) => (i.Containers ?? 0) > 0).length),
      Size: humanSize(layers),
      Reclaimable: reclaim(Math.min(unusedImages, layers), layers),
    },
    {
      Type: 'Containers',
      TotalCount: String(containers.length),
      Active: String(containers.filter((c) => c.State === 'running').length),
      Size: humanSize(rw),
      Reclaimable: reclaim(stoppedRw, rw),
    },
    {
      Type: 'Local Volumes',
      TotalCount: String(volumes.length),
      Active: String(volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length),
      Size: humanSize(volSize),
      Reclaimable: reclaim(unusedVol, volSize),
    },
    { Type: 'Build Cache', TotalCount: '0', Active: '0', Size: '0B', Reclaimable: '0B' },
  ];
}

export default async function systemDf(ctx: Context, _args: [], opts: { format?: string }): Promise<number> {
  const d = (await ctx.client.json<DiskUsage>('GET', '/system/df')) ?? {};
  ctx.stdout.write(
    formatList(dfRows(d), opts.format, {
      headers: ['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'],
      row: (r) => [r.Type, r.TotalCount, r.Active, r.Size, r.Reclaimable],
      json: (r) => ({ ...r }),
      headerNames: { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' },
    }),
  );
  return 0;
}
