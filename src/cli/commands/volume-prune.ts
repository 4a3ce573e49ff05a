/** tsnet volume prune [-a] [--filter k=v] [-f]: POST /volumes/prune → {VolumesDeleted, SpaceReclaimed}. */
import type { Context } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { parseFilters } from '../parse/kv.js';
import { isTerminal } from '../tty.js';

export default async function volumePrune(
  ctx: Context,
  _args: [],
  opts: { all?: boolean; filter?: string[]; force?: boolean },
): Promise<number> {
  let filters: string | undefined;
  try {
    filters = parseFilters([...(opts.filter ?? []), ...(opts.all ? ['all=true'] : [])]);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (!opts.force) {
    if (!isTerminal(ctx.stdin))
      throw new UsageError('volume prune needs confirmation and stdin is not a terminal: use -f/--force');
    const what = opts.all
      ? 'all local volumes not used by at least one container'
      : 'anonymous local volumes not used by at least one container';
    const answer = await ask(ctx, `WARNING! This will remove ${what}.\nAre you sure you want to continue? [y/N] `);
    if (!/^y(es)?$/i.test(answer)) throw new CliError('volume prune has been cancelled', 1);
  }
  const res = await ctx.client.json<{ VolumesDeleted?: string[] | null; SpaceReclaimed?: number }>('POST', '/volumes/prune', {
    query: { filters },
  });
  const deleted = res?.VolumesDeleted ?? [];
  if (deleted.length > 0) {
    ctx.print('Deleted Volumes:');
    for (const n of deleted) ctx.print(n);
    ctx.print('');
  }
  ctx.print(`Total reclaimed space: ${humanBytes(res?.SpaceReclaimed ?? 0)}`);
  return 0;
}

/** Docker's units.HumanSize (decimal): 0B, 1.5kB, 12MB. */
function humanBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : Number(v.toPrecision(4))}${units[i]}`;
}

function ask(ctx: Context, question: string): Promise<string> {
  return new Promise((resolve) => {
    ctx.stdout.write(question);
    let answer = '';
    const onData = (chunk: Buffer): void => {
      answer += chunk.toString('utf8');
      const nl = answer.indexOf('\n');
      if (nl !== -1) finish(answer.slice(0, nl));
    };
    const onEnd = (): void => finish(answer);
    const finish = (line: string): void => {
      ctx.stdin.removeListener('data', onData);
      ctx.stdin.removeListener('end', onEnd);
      ctx.stdin.pause();
      resolve(line.trim());
    };
    ctx.stdin.on('data', onData);
    ctx.stdin.once('end', onEnd);
    ctx.stdin.resume();
  });
}
