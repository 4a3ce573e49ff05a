/**
 * Entry point of the `tsnet` command when node runs the bundle (dist/cli-bundle/main.cjs):
 * run, flush, exit. Exports nothing. The launcher (launcher/tsnet.c) starts snapshot/entry.ts's
 * V8 snapshot instead when it fits; both run the same start.ts.
 */
import { runCommandLine } from './start.js';

void runCommandLine(process.argv.slice(2), () => import('./program.js')).then((code) => process.exit(code));
