/**
 * V8 settings of the daemon's process, made before it serves (decision 50). A request runs
 * hundreds of functions once or twice each: under V8's default tiering most of them run in the
 * interpreter for the first several calls and never reach the optimizing compiler (its budget
 * counts calls), so a run's JavaScript is mostly interpreted or at best Sparkplug code.
 * `--always-sparkplug` compiles every function to baseline machine code at its first call
 * (Sparkplug compiles in one pass over the bytecode, far cheaper than running it interpreted
 * more than a few times). Set at run time rather than on the command line, so every way the
 * daemon is started (bin/tsnetd, the test and bench worlds, a user's own `node dist/daemon/main.js`)
 * gets it; worker threads share the process's flags.
 */
import v8 from 'node:v8';

export const DAEMON_V8_FLAGS = ['--always-sparkplug'] as const;

export function tuneV8(): void {
  for (const f of DAEMON_V8_FLAGS) v8.setFlagsFromString(f);
}
