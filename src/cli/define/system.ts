/** plugin ls, system info / info, version. */
import type { Command } from 'commander';
import { pruneFlags } from './container-ops.js';
import { collect, formatFlag, lazy } from './shared.js';

function infoFlags(cmd: Command): Command {
  return formatFlag(cmd.description('Display system-wide information'), '{{.ServerVersion}}', {
    short: true,
    table: false,
  }).action(lazy('info'));
}

export function defineSystemCommands(program: Command): void {
  const plugin = program.command('plugin').helpCommand(false).description('Manage plugins');
  formatFlag(
    plugin.command('ls').alias('list').description('List the network and IPAM plugins the daemon discovered'),
    '{{.Name}}',
  ).action(lazy('plugin-ls'));

  const system = program.command('system').helpCommand(false).description('Manage tsnet');
  infoFlags(system.command('info'));
  formatFlag(
    system.command('df').description('Show disk usage (image layers, container writable layers)'),
    '{{.Type}} {{.Size}}',
  ).action(lazy('system-df'));
  pruneFlags(
    system.command('prune'),
    'unused data: stopped containers, unused networks, dangling images (with -a every unused image, with --volumes anonymous volumes)',
    'system-prune',
    (c) =>
      c.option('-a, --all', 'Remove all unused images, not just dangling ones').option('--volumes', 'Prune anonymous volumes'),
  );
  infoFlags(program.command('info'));

  const eventsCmd = (cmd: Command) =>
    formatFlag(
      cmd
        .description('Get real time events from the daemon')
        .option('--since <time>', 'Show events since a time: Unix timestamp, RFC 3339 date, or duration (10m, 1h30m)')
        .option('--until <time>', 'Stream events until this time (same forms as --since)')
        .option(
          '-f, --filter <key=value>',
          'Filter events (type, container, network, image, event, label) (repeatable)',
          collect,
        ),
      '{{.Type}} {{.Action}} {{.Actor.ID}}',
      { table: false },
    ).action(lazy('events'));
  eventsCmd(program.command('events'));
  eventsCmd(system.command('events'));

  formatFlag(program.command('version').description('Show the tsnet version information'), '{{.Server.Version}}', {
    short: true,
    table: false,
  }).action(lazy('version'));
}
