/**
 * tsnet logs: GET /containers/{id}/json (is it a TTY?), then
 * GET /containers/{id}/logs?stdout=1&stderr=1[&follow=1][&tail=N][&timestamps=1][&details=1][&since][&until]
 * → multiplexed (raw with a TTY), printed to stdout/stderr.
 */
import { seg } from '../api-client.js';
import type { Context } from '../context.js';
import { invalidArgument } from '../errors.js';
import { parseTimestamp } from '../parse/time.js';
import { copyStream, demuxStream } from '../stream-demux.js';

interface LogsOptions {
  follow?: boolean;
  tail?: string;
  timestamps?: boolean;
  details?: boolean;
  since?: string;
  until?: string;
}

function timestamp(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  try {
    return parseTimestamp(value);
  } catch (err) {
    throw invalidArgument(value, flag, (err as Error).message);
  }
}

export default async function logs(ctx: Context, [container]: [string], opts: LogsOptions): Promise<number> {
  const tail = opts.tail ?? 'all';
  if (tail !== 'all' && !/^\d+$/.test(tail)) throw invalidArgument(tail, '-n, --tail', 'a number of lines or "all"');
  const since = timestamp(opts.since, '--since');
  const until = timestamp(opts.until, '--until');
  const info = await ctx.client.json<{ Config?: { Tty?: boolean } }>('GET', `/containers/${seg(container)}/json`);
  const res = await ctx.client.send('GET', `/containers/${seg(container)}/logs`, {
    query: {
      stdout: 1,
      stderr: 1,
      follow: opts.follow ? 1 : undefined,
      tail,
      timestamps: opts.timestamps ? 1 : undefined,
      details: opts.details ? 1 : undefined,
      since,
      until,
    },
  });
  const stdout = (): NodeJS.WriteStream => ctx.stdout;
  if (info?.Config?.Tty) await copyStream(res, stdout);
  else await demuxStream(res, stdout, () => ctx.stderr);
  return 0;
}
