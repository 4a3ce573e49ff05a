/**
 * tsnet attach [--no-stdin] [--detach-keys KEYS] CONTAINER: attach to a running container's
 * streams (POST /containers/{id}/attach, hijacked); with a tty, the detach keys (default
 * ctrl-p,ctrl-q) leave it running. Exits with the container's status when it stops.
 */
import { seg } from '../api-client.js';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { detachKeysOf, followToExit, startStreaming, waitForExit } from '../session.js';
import { isTerminal } from '../tty.js';

interface Inspect {
  Id: string;
  State?: { Running?: boolean; Paused?: boolean };
  Config?: { Tty?: boolean; OpenStdin?: boolean };
}

export default async function attach(
  ctx: Context,
  [container]: [string],
  opts: { stdin?: boolean; sigProxy?: boolean; detachKeys?: string },
): Promise<number> {
  const info = await ctx.client.json<Inspect>('GET', `/containers/${seg(container)}/json`);
  if (!info.State?.Running) throw new UsageError('You cannot attach to a stopped container, start it first');
  if (info.State.Paused) throw new UsageError('You cannot attach to a paused container, unpause it first');
  const tty = info.Config?.Tty === true;
  const interactive = opts.stdin !== false && info.Config?.OpenStdin === true;
  const detachKeys = detachKeysOf(ctx, opts.detachKeys, tty && interactive);
  if (tty && interactive && !isTerminal(ctx.stdin)) throw new UsageError('the input device is not a TTY');
  const waiter = await waitForExit(ctx, info.Id, 'not-running');
  const hj = await ctx.client.hijack('POST', `/containers/${seg(info.Id)}/attach`, {
    query: { stream: true, stdin: interactive, stdout: true, stderr: true, detachKeys },
  });
  const streaming = startStreaming(ctx, hj, {
    tty,
    interactive,
    ...(detachKeys ? { detachKeys } : {}),
  });
  // an error of the wait is not reported here, as before (docker attach does report it)
  return followToExit(ctx, streaming, waiter, { id: info.Id, tty, sigProxy: opts.sigProxy !== false, reportWaitError: false });
}
