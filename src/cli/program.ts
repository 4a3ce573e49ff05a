/**
 * The command tree and the one place where failures become output and exit codes:
 *   usage errors, daemon errors, unreachable daemon → `tsnet: <message>`, exit 125;
 *   a command's own exit code (run's container status, 1 for partial failures) as is.
 */
import { Command, CommanderError } from 'commander';
import { defineContainerCommands } from './define/containers.js';
import { defineImageCommands } from './define/images.js';
import { defineNetworkCommands } from './define/networks.js';
import { defineSystemCommands } from './define/system.js';
import { CliError } from './errors.js';
import { clientVersion } from './version.js';

export function buildProgram(): Command {
  const program = new Command('tsnet')
    .description('A networking-focused Linux container runtime (talks to tsnetd)')
    .usage('[options] COMMAND')
    .option('-H, --host <address>', 'Daemon socket to connect to (unix:///path or tcp://host:port; env TSNET_HOST)')
    .version(clientVersion(), '-v, --version', 'Print the client version and quit')
    .helpOption('-h, --help', 'Show help')
    .helpCommand(false)
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => process.stdout.write(s),
      writeErr: (s) => process.stderr.write(s),
      // Errors are printed by runCli, as one line.
      outputError: () => {},
    });
  defineContainerCommands(program);
  defineImageCommands(program);
  defineNetworkCommands(program);
  defineSystemCommands(program);
  return program;
}

function oneLine(message: string): string {
  return message
    .replace(/^error: /, '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' ');
}

/** Run the CLI; resolves with the exit code (never rejects). */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
        return 0;
      }
      process.stderr.write(`tsnet: ${oneLine(err.message)}\n`);
      return 125;
    }
    if (err instanceof CliError) {
      if (err.message !== '') process.stderr.write(`tsnet: ${oneLine(err.message)}\n`);
      return err.exitCode;
    }
    const e = err as Error;
    process.stderr.write(`tsnet: ${oneLine(e?.message ?? String(err))}\n`);
    if (process.env.TSNET_DEBUG) process.stderr.write(`${e?.stack ?? ''}\n`);
    return 125;
  }
}
