/**
 * Container commands beyond the lifecycle: update, diff, cp, and the `container` group's prune
 * (also reachable as `container update|diff|cp`).
 */
import type { Command } from 'commander';
import { collect, cpusArg, defaultTrueFlag, eachObject, intArg, lazy, sizeArg } from './shared.js';
import { swapArg } from './values.js';

function updateFlags(cmd: Command): Command {
  return eachObject(
    resourceFlags(
      cmd.description(
        "Update the resource limits and restart policy of one or more containers (a running one's cgroups at once)",
      ),
    ).option('--restart <policy>', 'Restart policy to apply when a container exits (no, always, unless-stopped, on-failure[:N])'),
    'CONTAINER',
    'containers',
    'containers to update',
  ).action(lazy('update'));
}

/** The cgroup limits `run`, `create` and `update` share. */
export function resourceFlags(cmd: Command): Command {
  return cmd
    .option('--blkio-weight <weight>', 'Block IO (relative weight), between 10 and 1000', intArg('--blkio-weight', 0))
    .option('--cpu-period <us>', 'Limit CPU CFS (Completely Fair Scheduler) period', intArg('--cpu-period', 0))
    .option('--cpu-quota <us>', 'Limit CPU CFS (Completely Fair Scheduler) quota (-1: unlimited)', intArg('--cpu-quota', -1))
    .option('-c, --cpu-shares <shares>', 'CPU shares (relative weight)', intArg('-c, --cpu-shares', 0))
    .option('--cpus <number>', 'Number of CPUs (e.g. 0.5, 2)', cpusArg('--cpus'))
    .option('--cpuset-cpus <list>', 'CPUs in which to allow execution (0-3, 0,1)')
    .option('--cpuset-mems <list>', 'MEMs in which to allow execution (0-3, 0,1)')
    .option('-m, --memory <bytes>', 'Memory limit (e.g. 100, 512k, 64m, 1g)', sizeArg('-m, --memory'))
    .option('--memory-reservation <bytes>', 'Memory soft limit', sizeArg('--memory-reservation'))
    .option(
      '--memory-swap <bytes>',
      'Swap limit equal to memory plus swap: -1 to enable unlimited swap',
      swapArg('--memory-swap'),
    )
    .option('--pids-limit <n>', 'Tune the container pids limit (-1 for unlimited)', intArg('--pids-limit', -1));
}

function diffFlags(cmd: Command): Command {
  return cmd
    .description("Inspect changes to files or directories on a container's filesystem (A added, C changed, D deleted)")
    .usage('CONTAINER')
    .argument('<container>', 'container')
    .action(lazy('diff'));
}

function commitFlags(cmd: Command): Command {
  cmd
    .description("Create a new image from a container's changes")
    .usage('[options] CONTAINER [REPOSITORY[:TAG]]')
    .option('-a, --author <string>', 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
    .option(
      '-c, --change <instruction>',
      'Apply a Dockerfile instruction to the created image: CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, STOPSIGNAL, USER, VOLUME or WORKDIR (repeatable)',
      collect,
    )
    .option('-m, --message <string>', 'Commit message');
  defaultTrueFlag(cmd, '--pause', 'pause', 'Pause the container while its files are read');
  return cmd.argument('<container>', 'container').argument('[reference]', 'name (and tag) for the image').action(lazy('commit'));
}

function exportFlags(cmd: Command): Command {
  return cmd
    .description("Export a container's filesystem as a tar archive (to stdout, or -o FILE)")
    .usage('[options] CONTAINER')
    .option('-o, --output <file>', 'Write to a file, instead of STDOUT')
    .argument('<container>', 'container')
    .action(lazy('export'));
}

function cpFlags(cmd: Command): Command {
  return cmd
    .description(
      'Copy files/folders between a container and the local filesystem (use - as the local side to write or read a tar stream)',
    )
    .usage('[options] CONTAINER:SRC_PATH DEST_PATH|-\n       tsnet cp [options] SRC_PATH|- CONTAINER:DEST_PATH')
    .option('-a, --archive', 'Archive mode (copy all uid/gid information)')
    .option('-L, --follow-link', 'Always follow symbol link in SRC_PATH')
    .option('-q, --quiet', 'Suppress progress output (tsnet prints none)')
    .argument('<source>', 'CONTAINER:SRC_PATH, a local path, or -')
    .argument('<destination>', 'CONTAINER:DEST_PATH, a local path, or -')
    .action(lazy('cp'));
}

/** `prune` of one kind of object, with Docker's flags. */
export function pruneFlags(cmd: Command, what: string, module: string, extra?: (c: Command) => Command): Command {
  cmd
    .description(`Remove ${what}`)
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--filter <key=value>', 'Provide filter values (e.g. until=24h, label=k=v, label!=k) (repeatable)', collect);
  return (extra ? extra(cmd) : cmd).action(lazy(module));
}

export function defineContainerOpsCommands(program: Command): void {
  updateFlags(program.command('update'));
  diffFlags(program.command('diff'));
  cpFlags(program.command('cp'));
  commitFlags(program.command('commit'));
  exportFlags(program.command('export'));
  const container = program.command('container').helpCommand(false).description('Manage containers');
  pruneFlags(container.command('prune'), 'all stopped containers', 'container-prune');
  updateFlags(container.command('update'));
  diffFlags(container.command('diff'));
  cpFlags(container.command('cp'));
  commitFlags(container.command('commit'));
  exportFlags(container.command('export'));
}
