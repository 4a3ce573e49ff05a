/** plugin ls, system info / info, version. */
import type { Command } from 'commander';
import { lazy } from './shared.js';

function infoFlags(cmd: Command): Command {
  return cmd
    .description('Display system-wide information')
    .option('-f, --format <format>', "Output format: json, or a Go template such as '{{.ServerVersion}}'")
    .action(lazy('info'));
}

export function defineSystemCommands(program: Command): void {
  const plugin = program.command('plugin').helpCommand(false).description('Manage plugins');
  plugin
    .command('ls')
    .alias('list')
    .description('List the network and IPAM plugins the daemon discovered')
    .option('--format <format>', "Output format: table, json, or a Go template such as '{{.Name}}'")
    .action(lazy('plugin-ls'));

  const system = program.command('system').helpCommand(false).description('Manage tsnet');
  infoFlags(system.command('info'));
  infoFlags(program.command('info'));

  program
    .command('version')
    .description('Show the tsnet version information')
    .option('-f, --format <format>', "Output format: json, or a Go template such as '{{.Server.Version}}'")
    .action(lazy('version'));
}
