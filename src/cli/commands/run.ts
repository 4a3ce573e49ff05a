/** tsnet run: POST /containers/create, then start (-d) or attach → wait → start. */
import { seg } from '../api-client.js';
import { buildCreateBody, flagsFromOptions } from '../container-config.js';
import type { Context } from '../context.js';
import { errorMessage, startFailureExitCode, UsageError } from '../errors.js';
import { attachStartWait } from '../session.js';
import { isTerminal } from '../tty.js';
import { createContainer, type ContainerOptions } from './create.js';

interface RunOptions extends ContainerOptions {
  detach?: boolean;
  sigProxy?: boolean;
  detachKeys?: string;
}

export default async function run(ctx: Context, [image, command]: [string, string[]], opts: RunOptions): Promise<number> {
  const flags = flagsFromOptions(opts);
  if (!opts.detach && opts.tty && opts.interactive && !isTerminal(ctx.stdin)) {
    throw new UsageError('the input device is not a TTY');
  }
  const body = buildCreateBody(image, command, flags, 'run', ctx.env, ctx.cwd);
  const id = await createContainer(ctx, opts.name, body, opts.pull);
  if (opts.detach) {
    try {
      await ctx.client.call('POST', `/containers/${seg(id)}/start`);
    } catch (err) {
      ctx.error(errorMessage(err));
      return startFailureExitCode(err);
    }
    ctx.print(id);
    return 0;
  }
  return attachStartWait(ctx, {
    id,
    tty: opts.tty === true,
    interactive: opts.interactive === true,
    sigProxy: opts.sigProxy !== false,
    autoRemove: opts.rm === true,
    ...(opts.detachKeys ? { detachKeys: opts.detachKeys } : {}),
  });
}
