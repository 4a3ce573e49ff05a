/** tsnet image ls / images: GET /images/json → REPOSITORY TAG IMAGE ID CREATED SIZE. */
import type { Context } from '../context.js';
import { goTime, timeAgo } from '../format/duration.js';
import { formatList } from '../format/list.js';
import { humanSize } from '../format/size.js';
import { shortId } from '../format/table.js';

interface ApiImage {
  Id: string;
  RepoTags?: string[] | null;
  Created?: number;
  Size?: number;
}

interface ImageRow {
  image: ApiImage;
  repository: string;
  tag: string;
}

function rows(images: ApiImage[]): ImageRow[] {
  const out: ImageRow[] = [];
  for (const image of images) {
    const tags = (image.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
    if (tags.length === 0) out.push({ image, repository: '<none>', tag: '<none>' });
    for (const t of tags) {
      const colon = t.lastIndexOf(':');
      const split = colon > t.lastIndexOf('/');
      out.push({ image, repository: split ? t.slice(0, colon) : t, tag: split ? t.slice(colon + 1) : '<none>' });
    }
  }
  return out;
}

export default async function imageLs(
  ctx: Context,
  _args: [],
  opts: { quiet?: boolean; trunc?: boolean; format?: string },
): Promise<number> {
  const trunc = opts.trunc !== false;
  const images = (await ctx.client.json<ApiImage[] | null>('GET', '/images/json')) ?? [];
  if (opts.quiet) {
    const seen = new Set<string>();
    for (const i of images) {
      const id = shortId(i.Id, trunc);
      if (!seen.has(id)) ctx.print(id);
      seen.add(id);
    }
    return 0;
  }
  const now = Date.now();
  const json = (r: ImageRow): Record<string, string> => ({
    CreatedAt: r.image.Created ? goTime(r.image.Created * 1000) : '',
    CreatedSince: r.image.Created ? timeAgo(r.image.Created * 1000, now) : '',
    ID: shortId(r.image.Id, trunc),
    Repository: r.repository,
    Size: humanSize(r.image.Size ?? 0),
    Tag: r.tag,
  });
  ctx.stdout.write(
    formatList(rows(images), opts.format, {
      headers: ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'],
      row: (r) => {
        const j = json(r);
        return [j.Repository!, j.Tag!, j.ID!, j.CreatedSince!, j.Size!];
      },
      json,
      headerNames: {
        ID: 'IMAGE ID',
        Repository: 'REPOSITORY',
        Tag: 'TAG',
        CreatedSince: 'CREATED',
        CreatedAt: 'CREATED AT',
        Size: 'SIZE',
      },
    }),
  );
  return 0;
}
