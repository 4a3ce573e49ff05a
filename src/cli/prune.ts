/** What the prune commands share: the confirmation prompt, `--filter k=v` → Docker's filters JSON, the totals. */
import type { Context } from './context.js';
import { CliError, UsageError } from './errors.js';
import { humanSize } from './format/size.js';
import { isTerminal } from './tty.js';

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

/** Ask "Are you sure" unless -f; a non-terminal stdin without -f is a usage error. */
export async function confirm(ctx: Context, command: string, warning: string, force: boolean | undefined): Promise<void> {
  if (force) return;
  if (!isTerminal(ctx.stdin)) throw new UsageError(`${command} needs confirmation and stdin is not a terminal: use -f/--force`);
  const answer = await ask(ctx, `${warning}\nAre you sure you want to continue? [y/N] `);
  if (!/^y(es)?$/i.test(answer)) throw new CliError(`${command} has been cancelled`, 1);
}

/** `--filter until=24h --filter label=a=b` → `{"until":["24h"],"label":["a=b"]}`. */
export function filtersJson(list: string[] | undefined, extra: Record<string, string[]> = {}): string | undefined {
  const out: Record<string, string[]> = { ...extra };
  for (const f of list ?? []) {
    const i = f.indexOf('=');
    if (i <= 0) throw new UsageError(`bad format of filter "${f}": expected name=value`);
    const k = f.slice(0, i);
    // `label!=k` arrives as key "label!" (split at the first =)
    out[k] = [...(out[k] ?? []), f.slice(i + 1)];
  }
  return Object.keys(out).length ? JSON.stringify(out) : undefined;
}

export function printDeleted(ctx: Context, title: string, lines: string[]): void {
  if (lines.length === 0) return;
  ctx.print(title);
  for (const l of lines) ctx.print(l);
  ctx.print('');
}

export function printReclaimed(ctx: Context, bytes: number): void {
  ctx.print(`Total reclaimed space: ${humanSize(bytes)}`);
}
