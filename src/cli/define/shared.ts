/**
 * Helpers for command definitions: lazy actions (a command's module is imported only
 * when it runs, which keeps `--help` and startup fast) and flag value parsers.
 */
import { Option, type Command } from 'commander';
import { ExitCode } from '../errors.js';
import { collect } from './values.js';

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

/**
 * `--format`: `table, json, or a Go template such as '<example>'` (listings), or without `table`
 * (one object: info, events, version); `-f` too when `short`.
 */
export function formatFlag(cmd: Command, example: string, o: { short?: boolean; table?: boolean } = {}): Command {
  const kinds = o.table === false ? 'json' : 'table, json';
  return cmd.option(
    `${o.short ? '-f, ' : ''}--format <format>`,
    `Output format: ${kinds}, or a Go template such as '${example}'`,
  );
}

/** `-f, --filter <key=value>` of a listing, repeatable; `examples` go in the help text. */
export function filterFlag(cmd: Command, examples: string): Command {
  return cmd.option('-f, --filter <key=value>', `Filter output (${examples}) (repeatable)`, collect);
}

/** The `-q` and `--no-trunc` of a listing (`what`: "container IDs", "network IDs"…). */
export function quietNoTrunc(cmd: Command, quiet: string): Command {
  return cmd.option('-q, --quiet', quiet).option('--no-trunc', "Don't truncate output");
}

/**
 * A command that acts on each of its objects: usage `[options] NAME [NAME...]` (no `[options]`
 * unless `withOptions`) and the variadic argument `<name...>`.
 */
export function eachObject(cmd: Command, usage: string, arg: string, what: string, withOptions = true): Command {
  return cmd.usage(`${withOptions ? '[options] ' : ''}${usage} [${usage}...]`).argument(`<${arg}...>`, what);
}

/** `<group> inspect`: JSON of one or more objects, or a Go template with -f. */
export function inspectCommand(group: Command, usage: string, plural: string, module: string): Command {
  return eachObject(
    group
      .command('inspect')
      .description(`Display detailed information on one or more ${plural} (JSON)`)
      .option('-f, --format <format>', 'Format the output with a Go template; default: JSON array'),
    usage,
    plural,
    `${plural} to inspect`,
  ).action(lazy(module));
}
