/**
 * tsnet history / image history IMAGE: GET /images/{name}/history → IMAGE CREATED CREATED BY SIZE
 * COMMENT, newest step first, as docker prints it (`<missing>` for steps of images not stored,
 * CREATED BY cut to 45 characters unless --no-trunc, sizes and times for humans unless
 * --human=false).
 */
import { seg } from '../api-client.js';
import type { Context } from '../context.js';
import { goTime, timeAgo } from '../format/duration.js';
import { formatList } from '../format/list.js';
import { humanSize } from '../format/size.js';
import { shortId } from '../format/table.js';

interface Step {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

const CREATED_BY_WIDTH = 45;

export default async function imageHistory(
  ctx: Context,
  [image]: [string],
  opts: { quiet?: boolean; trunc?: boolean; human?: boolean; format?: string },
): Promise<number> {
  const trunc = opts.trunc !== false;
  const human = opts.human !== false;
  const steps = (await ctx.client.json<Step[] | null>('GET', `/images/${seg(image)}/history`)) ?? [];
  const id = (s: Step) => (s.Id === '<missing>' ? s.Id : shortId(s.Id, trunc));
  if (opts.quiet) {
    for (const s of steps) ctx.print(id(s));
    return 0;
  }
  const now = Date.now();
  const json = (s: Step): Record<string, string> => {
    const by = s.CreatedBy.replace(/\s+/g, ' ');
    return {
      ID: id(s),
      CreatedSince: human ? timeAgo(s.Created * 1000, now) : goTime(s.Created * 1000),
      CreatedAt: goTime(s.Created * 1000),
      CreatedBy: trunc && by.length > CREATED_BY_WIDTH ? `${by.slice(0, CREATED_BY_WIDTH - 1)}…` : by,
      Size: human ? humanSize(s.Size) : String(s.Size),
      Comment: s.Comment,
    };
  };
  ctx.stdout.write(
    formatList(steps, opts.format, {
      headers: ['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'],
      row: (s) => {
        const j = json(s);
        return [j.ID!, j.CreatedSince!, j.CreatedBy!, j.Size!, j.Comment!];
      },
      json,
      headerNames: {
        ID: 'IMAGE',
        CreatedSince: 'CREATED',
        CreatedAt: 'CREATED AT',
        CreatedBy: 'CREATED BY',
        Size: 'SIZE',
        Comment: 'COMMENT',
      },
    }),
  );
  return 0;
}
