/** Commands acting on several targets: each one in turn, one line per success or failure. */
import type { Context } from './context.js';
import { DaemonUnreachableError, errorMessage } from './errors.js';

/**
 * Run `act` for every target. On success print the target as given (or what `act`
 * returns); on failure print `tsnet: <message>` and go on. Returns 0, or 1 when any
 * failed (an unreachable daemon stops everything at once: exit 125).
 */
export async function eachTarget(
  ctx: Context,
  targets: string[],
  act: (target: string) => Promise<string | void>,
  onFailure?: (err: unknown) => void,
): Promise<number> {
  let failed = false;
  for (const target of targets) {
    try {
      const shown = await act(target);
      ctx.print(typeof shown === 'string' ? shown : target);
    } catch (err) {
      if (err instanceof DaemonUnreachableError) throw err;
      ctx.error(errorMessage(err));
      onFailure?.(err);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}
