/** Volume commands: volume create|ls|inspect|rm|prune. */
import type { Command } from 'commander';
import { collect, eachObject, filterFlag, formatFlag, inspectCommand, lazy } from './shared.js';

export function defineVolumeCommands(program: Command): void {
  const volume = program.command('volume').helpCommand(false).description('Manage volumes');

  volume
    .command('create')
    .description('Create a volume (a random name when none is given)')
    .usage('[options] [VOLUME]')
    .option('-d, --driver <driver>', 'Volume driver name', 'local')
    .option(
      '-o, --opt <key=value>',
      'Driver option: type=tmpfs, device=tmpfs, o=size=64m; or type=none, o=bind, device=/path (repeatable)',
      collect,
    )
    .option('--label <key[=value]>', 'Set metadata on the volume (repeatable)', collect)
    .argument('[name]', 'volume name')
    .action(lazy('volume-create'));

  const ls = volume.command('ls').alias('list').description('List volumes').option('-q, --quiet', 'Only display volume names');
  filterFlag(ls, 'dangling=true, driver=local, label=k=v, name=x');
  formatFlag(ls, '{{.Name}}').action(lazy('volume-ls'));

  inspectCommand(volume, 'VOLUME', 'volumes', 'volume-inspect');

  eachObject(
    volume
      .command('rm')
      .alias('remove')
      .description('Remove one or more volumes (a volume a container uses is refused)')
      .option('-f, --force', 'Do not fail when a volume does not exist'),
    'VOLUME',
    'volumes',
    'volumes to remove',
  ).action(lazy('volume-rm'));

  volume
    .command('prune')
    .description('Remove unused anonymous volumes (all unused volumes with -a)')
    .option('-a, --all', 'Remove all unused volumes, not just anonymous ones')
    .option('--filter <key=value>', 'Filter: label=k[=v], label!=k[=v] (repeatable)', collect)
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(lazy('volume-prune'));
}
