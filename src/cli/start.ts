/**
 * One command line, start to exit code, for both entries (main.ts, the bundle; snapshot/entry.ts,
 * the V8 start-up snapshot): a valid command line of a known command takes the fast path (fast/:
 * no commander); help, the version flag and anything wrong go to the commander tree
 * (program.ts, its own bundle file full.cjs, loaded only then by `loadProgram`).
 */
import { parseFast } from './fast/argv.js';
import { runParsed } from './fast/run.js';
import { FAST_COMMANDS } from './fast/table.js';
import { flush, stdoutStream } from './output.js';

export type ProgramModule = typeof import('./program.js');

export async function runCommandLine(argv: string[], loadProgram: () => Promise<ProgramModule>): Promise<number> {
  const parsed = parseFast(argv, FAST_COMMANDS);
  if (parsed) return runParsed(parsed);
  const { runCli } = await loadProgram();
  stdoutStream();
  const code = await runCli(argv);
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  return code;
}
