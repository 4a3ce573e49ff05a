/**
 * tsnet stats [CONTAINER...]: GET /containers/{id}/stats per container. --no-stream prints one
 * table (stream=false: the daemon takes two samples a second apart, so CPU % is real); without
 * it, one stream per container and the table redrawn every second until Ctrl-C.
 */
import { type ApiResponse, seg } from '../api-client.js';
import type { Context } from '../context.js';
import { formatList } from '../format/list.js';
import { STATS_HEADER_NAMES, STATS_HEADERS, statsRow, statsTableRow, type ApiStats } from '../format/stats.js';

interface StatsOptions {
  all?: boolean;
  stream?: boolean;
  trunc?: boolean;
  format?: string;
}

export default async function stats(ctx: Context, [containers]: [string[]], opts: StatsOptions): Promise<number> {
  const trunc = opts.trunc !== false;
  let targets = containers ?? [];
  if (targets.length === 0) {
    const list =
      (await ctx.client.json<Array<{ Id: string }> | null>('GET', '/containers/json', {
        query: { all: opts.all ? 1 : undefined },
      })) ?? [];
    targets = list.map((c) => c.Id);
  }
  const render = (latest: Map<string, ApiStats>) =>
    formatList(
      targets.filter((c) => latest.has(c)).map((c) => statsRow(c, latest.get(c)!, trunc)),
      opts.format,
      { headers: STATS_HEADERS, row: statsTableRow, json: (r) => ({ ...r }), headerNames: STATS_HEADER_NAMES },
    );

  if (opts.stream === false) {
    const latest = new Map<string, ApiStats>();
    let failed = false;
    await Promise.all(
      targets.map(async (c) => {
        try {
          latest.set(c, await ctx.client.json<ApiStats>('GET', `/containers/${seg(c)}/stats`, { query: { stream: 0 } }));
        } catch (err) {
          ctx.error((err as Error).message);
          failed = true;
        }
      }),
    );
    ctx.stdout.write(render(latest));
    return failed ? 1 : 0;
  }

  const latest = new Map<string, ApiStats>();
  const streams: ApiResponse[] = [];
  await Promise.all(
    targets.map(async (c) => {
      const res = await ctx.client.send('GET', `/containers/${seg(c)}/stats`, { query: { stream: 1 } });
      streams.push(res);
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          const line = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (line) latest.set(c, JSON.parse(line) as ApiStats);
        }
      });
    }),
  );
  const clear = ctx.stdout.isTTY ? '\x1b[2J\x1b[H' : '';
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      ctx.stdout.write(clear + render(latest));
      if (streams.every((s) => s.readableEnded)) stop();
    }, 1000);
    const stop = () => {
      unhook();
      clearInterval(timer);
      for (const s of streams) s.destroy();
      resolve();
    };
    const unhook = ctx.onSignal(['SIGINT'], stop);
  });
  return 0;
}
