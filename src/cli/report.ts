/**
 * How a failure becomes output and an exit code, for both paths (the fast one and the commander
 * tree): `tsnet: <message>` on one line and 125, or a command's own exit code as is.
 */
import { CliError } from './errors.js';
import { writeFd } from './output.js';

const stderr = (): NodeJS.WriteStream => process.stderr;

export function oneLine(message: string): string {
  return message
    .replace(/^error: /, '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' ');
}

/** Print the failure (if it has anything to say) and return the exit code. */
export function reportFailure(err: unknown): number {
  if (err instanceof CliError) {
    if (err.message !== '') writeFd(2, `tsnet: ${oneLine(err.message)}\n`, stderr);
    return err.exitCode;
  }
  const e = err as Error;
  writeFd(2, `tsnet: ${oneLine(e?.message ?? String(err))}\n`, stderr);
  if (process.env.TSNET_DEBUG) writeFd(2, `${e?.stack ?? ''}\n`, stderr);
  return 125;
}
