/**
 * Entry of the CLI's V8 start-up snapshot (scripts/bundle-cli.mjs bundles it and runs
 * `node --snapshot-blob dist/cli-bundle/tsnet.blob --build-snapshot` on it). At build time it
 * loads the CLI and warms it up (warm-up.ts); when the launcher starts node from the blob, the
 * main function below runs the command line at once: no module to read or compile.
 * process.argv[1] is main.cjs (the launcher passes its real path): full.cjs, the commander tree
 * for help and errors, sits beside it.
 */
import { startupSnapshot } from 'node:v8';
import { type ProgramModule, runCommandLine } from '../start.js';
import { warmUp } from './warm-up.js';

/**
 * node:module is taken only here, at run time (node warns about it in a snapshot; and a
 * snapshot's main function has no dynamic import()).
 */
async function loadProgram(): Promise<ProgramModule> {
  const { createRequire } = process.getBuiltinModule('node:module');
  return createRequire(process.argv[1] ?? `${process.cwd()}/`)('./full.cjs') as ProgramModule;
}

startupSnapshot.setDeserializeMainFunction(() => {
  void runCommandLine(process.argv.slice(2), loadProgram).then((code) => process.exit(code));
});

warmUp().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
