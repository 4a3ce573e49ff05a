/** plugin ls, system info / info, version. */
import type { Command } from 'commander';
import { pruneFlags } from './container-ops.js';
import { collect, lazy } from './shared.js';

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
  system
    .command('df')
    .description('Show disk usage (image layers, container writable layers)')
    .option('--format <format>', "Output format: table, json, or a Go template such as '{{.Type}} {{.Size}}'")
    .action(lazy('system-df'));
  pruneFlags(
    system.command('prune'),
    'unused data: stopped containers, unused networks, dangling images (with -a every unused image, with --volumes anonymous volumes)',
    'system-prune',
    (c) =>
      c.option('-a, --all', 'Remove all unused images, not just dangling ones').option('--volumes', 'Prune anonymous volumes'),
  );
  infoFlags(program.command('info'));

  const eventsCmd = (cmd: Command) =>
    cmd
      .description('Get real time events from the daemon')
      .option('--since <time>', 'Show events since a time: Unix timestamp, RFC 3339 date, or duration (10m, 1h30m)')
      .option('--until <time>', 'Stream events until this time (same forms as --since)')
      .option('-f, --filter <key=value>', 'Filter events (type, container, network, image, event, label) (repeatable)', collect)
      .option('--format <format>', "Output format: json, or a Go template such as '{{.Type}} {{.Action}} {{.Actor.ID}}'")
      .action(lazy('events'));
  eventsCmd(program.command('events'));
  eventsCmd(system.command('events'));

  program
    .command('version')
    .description('Show the tsnet version information')
    .option('-f, --format <format>', "Output format: json, or a Go template such as '{{.Server.Version}}'")
    .action(lazy('version'));
}
