/** tsnet start [-a] [-i] CONTAINER...: POST /containers/{id}/start (attached like run with -a/-i). */
import { seg } from '../api-client.js';
import type { Context } from '../context.js';
import { startFailureExitCode, UsageError } from '../errors.js';
import { attachStartWait } from '../session.js';
import { eachTarget } from '../targets.js';

interface Inspect {
  Id: string;
  Config?: { Tty?: boolean; OpenStdin?: boolean };
  HostConfig?: { AutoRemove?: boolean };
}

export default async function start(
  ctx: Context,
  [containers]: [string[]],
  opts: { attach?: boolean; interactive?: boolean; detachKeys?: string },
): Promise<number> {
  if (opts.attach || opts.interactive) {
    if (containers.length > 1) throw new UsageError('you cannot start and attach multiple containers at once');
    const info = await ctx.client.json<Inspect>('GET', `/containers/${seg(containers[0]!)}/json`);
    const tty = info.Config?.Tty === true;
    return attachStartWait(ctx, {
      id: info.Id,
      tty,
      interactive: opts.interactive === true && info.Config?.OpenStdin === true,
      sigProxy: true,
      autoRemove: info.HostConfig?.AutoRemove === true,
      ...(opts.detachKeys ? { detachKeys: opts.detachKeys } : {}),
    });
  }
  // 127 / 126 when a command is missing or not executable, else 1 when any failed.
  let special = 0;
  const code = await eachTarget(
    ctx,
    containers,
    async (c) => {
      await ctx.client.call('POST', `/containers/${seg(c)}/start`);
    },
    (err) => {
      const mapped = startFailureExitCode(err);
      if (mapped === 127 || (mapped === 126 && special !== 127)) special = mapped;
    },
  );
  return special !== 0 ? special : code;
}
