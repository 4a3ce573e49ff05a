/**
 * Entry point of the `tsnet` command: run, flush, exit. Exports nothing.
 * A valid command line of a known command takes the fast path (fast/: no commander); help,
 * the version flag and anything wrong go to the commander tree (program.ts, its own bundle
 * file, loaded only then).
 */
import { parseFast } from './fast/argv.js';
import { runParsed } from './fast/run.js';
import { FAST_COMMANDS } from './fast/table.js';
import { flush, stdoutStream } from './output.js';

async function main(argv: string[]): Promise<number> {
  const parsed = parseFast(argv, FAST_COMMANDS);
  if (parsed) return runParsed(parsed);
  const { runCli } = await import('./program.js');
  stdoutStream();
  const code = await runCli(argv);
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  return code;
}

void main(process.argv.slice(2)).then((code) => process.exit(code));
