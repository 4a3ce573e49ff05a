/** tsnet network prune [-f]: confirm on a terminal, then POST /networks/prune → {NetworksDeleted}. */
import type { Context } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { isTerminal } from '../tty.js';

const WARNING = 'WARNING! This will remove all custom networks not used by at least one container.';

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

export default async function networkPrune(ctx: Context, _args: [], opts: { force?: boolean }): Promise<number> {
  if (!opts.force) {
    if (!isTerminal(ctx.stdin)) {
      throw new UsageError('network prune needs confirmation and stdin is not a terminal: use -f/--force');
    }
    const answer = await ask(ctx, `${WARNING}\nAre you sure you want to continue? [y/N] `);
    if (!/^y(es)?$/i.test(answer)) throw new CliError('network prune has been cancelled', 1);
  }
  const res = await ctx.client.json<{ NetworksDeleted?: string[] | null }>('POST', '/networks/prune');
  const deleted = res?.NetworksDeleted ?? [];
  if (deleted.length > 0) {
    ctx.print('Deleted Networks:');
    for (const n of deleted) ctx.print(n);
  }
  return 0;
}
