/**
 * How a failure becomes output and an exit code, for both paths (the fast one and the commander
 * tree): `tsnet: <message>` on one line and 125, or a command's own exit code as is.
 */
import type { ContextIo } from './context.js';
import { CliError } from './errors.js';
import { writeFd } from './output.js';

const stderr = (): NodeJS.WriteStream => process.stderr;

/** To the process's fd 2, or to the stream of `io` (the daemon's CLI host). */
function write(text: string, io: ContextIo | undefined): void {
  if (io) io.stderr.write(text);
  else writeFd(2, text, stderr);
}

export function oneLine(message: string): string {
  return message
    .replace(/^error: /, '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' ');
}

/** Print the failure (if it has anything to say) and return the exit code. */
export function reportFailure(err: unknown, io?: ContextIo): number {
  if (err instanceof CliError) {
    if (err.message !== '') write(`tsnet: ${oneLine(err.message)}\n`, io);
    return err.exitCode;
  }
  const e = err as Error;
  write(`tsnet: ${oneLine(e?.message ?? String(err))}\n`, io);
  if ((io?.env ?? process.env).TSNET_DEBUG) write(`${e?.stack ?? ''}\n`, io);
  return 125;
}
