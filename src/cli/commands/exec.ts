/**
 * tsnet exec: POST /containers/{id}/exec → {Id}; POST /exec/{id}/start (hijacked unless
 * -d); with -t resize /exec/{id}/resize; GET /exec/{id}/json → exit with ExitCode.
 */
import { seg } from '../api-client.js';
import type { Context } from '../context.js';
import { errorMessage, startFailureExitCode, UsageError } from '../errors.js';
import { buildEnv, readFrom } from '../parse/env.js';
import { detachKeysOf, monitorResize, startStreaming } from '../session.js';
import { isTerminal } from '../tty.js';

interface ExecOptions {
  detach?: boolean;
  interactive?: boolean;
  tty?: boolean;
  env?: string[];
  envFile?: string[];
  user?: string;
  workdir?: string;
  privileged?: boolean;
  detachKeys?: string;
}

interface ExecInspect {
  ExitCode?: number | null;
  Running?: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export default async function exec(ctx: Context, [container, command]: [string, string[]], o: ExecOptions): Promise<number> {
  const tty = o.tty === true;
  const interactive = o.interactive === true;
  const detachKeys = detachKeysOf(ctx, o.detachKeys, tty && interactive);
  const opts = { ...o, ...(detachKeys ? { detachKeys } : {}) };
  const detach = opts.detach === true;
  if (!detach && tty && interactive && !isTerminal(ctx.stdin)) throw new UsageError('the input device is not a TTY');
  let Env: string[];
  try {
    Env = buildEnv(opts.env ?? [], opts.envFile ?? [], (k) => ctx.env[k], readFrom(ctx.cwd));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const created = await ctx.client.json<{ Id: string }>('POST', `/containers/${seg(container)}/exec`, {
    body: {
      AttachStdin: !detach && interactive,
      AttachStdout: !detach,
      AttachStderr: !detach,
      Tty: tty,
      Cmd: command,
      Env,
      User: opts.user ?? '',
      WorkingDir: opts.workdir ?? '',
      Privileged: opts.privileged === true,
      ...(opts.detachKeys ? { DetachKeys: opts.detachKeys } : {}),
    },
  });
  const execPath = `/exec/${seg(created.Id)}`;
  if (detach) {
    try {
      await ctx.client.call('POST', `${execPath}/start`, { body: { Detach: true, Tty: tty } });
    } catch (err) {
      ctx.error(errorMessage(err));
      return startFailureExitCode(err);
    }
    return 0;
  }
  let hj: Awaited<ReturnType<typeof ctx.client.hijack>>;
  try {
    hj = await ctx.client.hijack('POST', `${execPath}/start`, { body: { Detach: false, Tty: tty } });
  } catch (err) {
    ctx.error(errorMessage(err));
    return startFailureExitCode(err);
  }
  const streaming = startStreaming(ctx, hj, {
    tty,
    interactive,
    ...(opts.detachKeys ? { detachKeys: opts.detachKeys } : {}),
  });
  const stopResize = tty ? monitorResize(ctx, `${execPath}/resize`) : () => {};
  try {
    await streaming.done;
  } finally {
    stopResize();
  }
  if (streaming.detached()) return 0;
  // The stream ends when the process does; give the daemon a moment to record the code.
  for (let attempt = 0; ; attempt++) {
    const info = await ctx.client.json<ExecInspect>('GET', `${execPath}/json`);
    const code = info?.ExitCode;
    if (typeof code === 'number' && info?.Running !== true) return code;
    if (attempt >= 20) {
      if (typeof code === 'number') return code;
      // Never started (the daemon has already sent its error on the stream): like docker, 126.
      return info?.Running === true ? 0 : 126;
    }
    await sleep(50);
  }
}
