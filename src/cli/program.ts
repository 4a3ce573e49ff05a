/**
 * The command tree and the one place where failures become output and exit codes:
 *   usage errors, daemon errors, unreachable daemon → `tsnet: <message>`, exit 125;
 *   a command's own exit code (run's container status, 1 for partial failures) as is.
 */
import { Command, CommanderError } from 'commander';
import { defineContainerOpsCommands } from './define/container-ops.js';
import { defineContainerCommands } from './define/containers.js';
import { defineImageCommands, defineRegistryCommands } from './define/images.js';
import { defineNetworkCommands } from './define/networks.js';
import { defineSystemCommands } from './define/system.js';
import { defineSwarmCommands } from './define/swarm.js';
import { defineVolumeCommands } from './define/volumes.js';
import { oneLine, reportFailure } from './report.js';
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
  defineContainerOpsCommands(program);
  defineImageCommands(program);
  defineRegistryCommands(program);
  defineNetworkCommands(program);
  defineVolumeCommands(program);
  defineSystemCommands(program);
  defineSwarmCommands(program);
  return program;
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
    return reportFailure(err);
  }
}
