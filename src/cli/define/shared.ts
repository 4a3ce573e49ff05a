/**
 * Helpers for command definitions: lazy actions (a command's module is imported only
 * when it runs, which keeps `--help` and startup fast) and flag value parsers.
 */
import { Option, type Command } from 'commander';
import { ExitCode } from '../errors.js';

export { collect, cpusArg, intArg, sizeArg } from './values.js';

/** What a command module exports as default. */
export type CommandRunner = (ctx: unknown, args: unknown[], opts: Record<string, unknown>) => Promise<number | void>;

/**
 * The action of a command: import `../commands/<name>.js`, build the context (API client
 * for -H / TSNET_HOST), run, and turn a non-zero result into the process exit code.
 */
export function lazy(name: string): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const { COMMANDS } = await import('../commands/index.js');
    const load = COMMANDS[name];
    if (!load) throw new Error(`internal: no command module ${name}`);
    const [mod, context] = await Promise.all([load() as Promise<{ default: CommandRunner }>, import('../context.js')]);
    const ctx = context.createContext(cmd.optsWithGlobals<{ host?: string }>().host);
    const code = await mod.default(ctx, cmd.processedArgs as unknown[], cmd.opts());
    if (typeof code === 'number' && code !== 0) throw new ExitCode(code);
  };
}

/**
 * A boolean flag that is true by default and is turned off docker's way,
 * `--flag=false` (also accepted: `--flag=true`, `--no-flag`).
 */
export function defaultTrueFlag(cmd: Command, long: string, attribute: string, description: string): void {
  cmd.option(long, `${description} (default true; ${long}=false to disable)`);
  cmd.setOptionValueWithSource(attribute, true, 'default');
  cmd.addOption(new Option(`--no-${long.slice(2)}`).hideHelp());
  for (const v of ['false', 'true', '0', '1']) {
    cmd.addOption(new Option(`${long}=${v}`).hideHelp());
    cmd.on(`option:${long.slice(2)}=${v}`, () => {
      cmd.setOptionValueWithSource(attribute, v === 'true' || v === '1', 'cli');
    });
  }
}

/**
 * Two long names feeding one ordered list (`--network` and its alias `--net`): each
 * value is recorded with a sequence number so their order on the command line is kept.
 */
export function orderedAlias(cmd: Command, primary: string, alias: string, valueName: string, description: string): void {
  let seq = 0;
  const record = (value: string, previous: Array<[number, string]> | undefined): Array<[number, string]> => [
    ...(previous ?? []),
    [seq++, value],
  ];
  cmd.addOption(new Option(`${primary} <${valueName}>`, description).argParser(record));
  cmd.addOption(new Option(`${alias} <${valueName}>`).hideHelp().argParser(record));
}
