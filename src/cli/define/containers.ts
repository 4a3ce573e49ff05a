/**
 * Container commands: run, create, start, ps, stop, restart, kill, pause, unpause, top, rm, logs,
 * exec, wait, inspect, port.
 */
import { type Command, Option } from 'commander';
import {
  collect,
  defaultTrueFlag,
  eachObject,
  filterFlag,
  formatFlag,
  intArg,
  lazy,
  orderedAlias,
  quietNoTrunc,
  sizeArg,
} from './shared.js';
import { resourceFlags } from './container-ops.js';

const DETACH_KEYS =
  'Override the key sequence for detaching from a tty session (default ctrl-p,ctrl-q; e.g. ctrl-a,d): the container keeps running';

/** The flags `run` and `create` share. */
function containerFlags(cmd: Command): Command {
  cmd
    .helpOption('--help', 'Show help for the command')
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('--rm', 'Automatically remove the container when it exits')
    .option('--name <name>', 'Assign a name to the container')
    .option('-h, --hostname <name>', 'Container host name')
    .option(
      '-e, --env <KEY[=VALUE]>',
      'Set an environment variable; KEY alone takes it from this environment (repeatable)',
      collect,
    )
    .option('--env-file <file>', 'Read environment variables from a file (repeatable)', collect)
    .option('-w, --workdir <dir>', 'Working directory inside the container')
    .option('-u, --user <user>', 'Username or UID (format: <name|uid>[:<group|gid>])')
    .option(
      '-v, --volume <SOURCE:CONTAINER[:OPTS]>',
      'Bind mount a host path, mount a named volume (made on demand), or /PATH for an anonymous volume (repeatable)',
      collect,
    )
    .option(
      '--mount <type=…,source=…,target=…>',
      "Attach a mount: type=bind|volume|tmpfs, docker's CSV syntax (repeatable)",
      collect,
    )
    .option('--tmpfs <PATH[:OPTIONS]>', 'Mount a tmpfs (e.g. /run:size=64m,mode=1777) (repeatable)', collect)
    .option('--restart <policy>', 'Restart policy: no, always, unless-stopped, on-failure[:max-retries] (default no)')
    .option('--health-cmd <command>', 'Command to run to check health (run with /bin/sh -c in the container)')
    .option('--health-interval <duration>', 'Time between running the check (ms|s|m|h) (default 30s)')
    .option('--health-timeout <duration>', 'Maximum time to allow one check to run (ms|s|m|h) (default 30s)')
    .option('--health-retries <n>', 'Consecutive failures needed to report unhealthy (default 3)', intArg('--health-retries', 0))
    .option('--health-start-period <duration>', 'Start period during which failures do not count (ms|s|m|h) (default 0s)')
    .option('--health-start-interval <duration>', 'Time between checks during the start period (ms|s|m|h) (default 5s)')
    .option('--no-healthcheck', "Disable any container-specified HEALTHCHECK (also the image's)");
  resourceFlags(cmd);
  orderedAlias(
    cmd,
    '--network',
    '--net',
    'network',
    'Connect the container to a network (repeatable; the first one is the network mode; ' +
      'also name=NET[,alias=A][,ip=IPv4][,ip6=IPv6][,link-local-ip=IP][,driver-opt=K=V][,mac-address=MAC]); alias: --net',
  );
  cmd
    .option('--network-alias <alias>', 'Network-scoped alias on the first network (repeatable)', collect)
    .option('--ip <ipv4>', 'IPv4 address on the first network (e.g. 172.30.100.104)')
    .option('--ip6 <ipv6>', 'IPv6 address on the first network (e.g. 2001:db8::33)')
    .option(
      '--link <name[:alias]>',
      'Link to another container (repeatable; default bridge: /etc/hosts + env, user network: DNS alias for this container)',
      collect,
    )
    .option('--link-local-ip <ip>', 'Link-local address on the first network (repeatable)', collect)
    .option(
      '-p, --publish <[ip:][hostPort:]containerPort[/proto]>',
      "Publish a container's port(s) to the host (repeatable; ranges: 8000-8010:80-90)",
      collect,
    )
    .option('-P, --publish-all', 'Publish all exposed ports to random host ports')
    .option('--expose <port[-end][/proto]>', 'Expose a port or a range of ports (repeatable)', collect)
    .option('--entrypoint <command>', 'Overwrite the default ENTRYPOINT of the image ("" clears it)')
    .option('--privileged', 'Give extended privileges to this container (all capabilities, all devices, no seccomp)')
    .option('--cap-add <capability>', 'Add a Linux capability (repeatable; ALL adds every one)', collect)
    .option('--cap-drop <capability>', 'Drop a Linux capability (repeatable; ALL drops every one)', collect)
    .option(
      '--device <HOST[:CONTAINER][:rwm]>',
      'Add a host device to the container, with cgroup permissions (default rwm) (repeatable)',
      collect,
    )
    .option(
      '--device-cgroup-rule <rule>',
      "Add a rule to the container's device allow-list, e.g. 'c 1:3 rwm' or 'b 7:* rw' (repeatable)",
      collect,
    )
    .option(
      '--security-opt <option>',
      'Security option: seccomp=unconfined, seccomp=<profile.json>, no-new-privileges (repeatable)',
      collect,
    )
    .option('--read-only', "Mount the container's root filesystem as read only")
    .addOption(
      new Option('--pull <policy>', 'Pull the image before creating: missing (when not stored), always, never')
        .choices(['missing', 'always', 'never'])
        .default('missing'),
    )
    .option('-l, --label <key[=value]>', 'Set metadata on the container (repeatable)', collect)
    .option('--log-driver <driver>', 'Logging driver: json-file (default), local or none')
    .option('--log-opt <key=value>', 'Log driver option: max-size=10m, max-file=3 (repeatable)', collect)
    .option('--mac-address <mac>', 'Container MAC address (e.g. 92:d0:c6:0a:29:33)')
    .option('--add-host <host:ip>', 'Add a custom host-to-IP mapping (host:ip, or host:host-gateway) (repeatable)', collect)
    .option('--dns <ip>', 'Set custom DNS servers (also the upstreams of the embedded DNS) (repeatable)', collect)
    .option('--dns-search <domain>', 'Set custom DNS search domains (repeatable)', collect)
    .option('--dns-option <option>', 'Set DNS options, e.g. ndots:2 (repeatable)', collect)
    .option('--ulimit <name=soft[:hard]>', 'Set a ulimit, e.g. nofile=1024:2048, core=-1 (unlimited) (repeatable)', collect)
    .option(
      '--sysctl <key=value>',
      'Set a namespaced kernel parameter: net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.* (repeatable)',
      collect,
    )
    .option('--shm-size <bytes>', 'Size of /dev/shm, e.g. 256m (default 64m)', sizeArg('--shm-size'))
    .option(
      '--ipc <mode>',
      "IPC mode: private (default), shareable, host (the host's namespace and /dev/shm), none (no /dev/shm)",
    )
    .option('--oom-score-adj <n>', "Tune the container's OOM preferences (-1000 to 1000)", intArg('--oom-score-adj', -1000))
    .option(
      '--group-add <group>',
      "Add an additional group: a name from the container's /etc/group or a gid (repeatable)",
      collect,
    )
    .argument('<image>', 'image to create the container from')
    .argument('[command...]', "command and arguments (default: the image's)")
    .passThroughOptions();
  return cmd;
}

export function defineContainerCommands(program: Command): void {
  const run = program
    .command('run')
    .summary('Create and run a new container from an image')
    .description('Create and run a new container from an image')
    .usage('[options] IMAGE [COMMAND] [ARG...]')
    .option('-d, --detach', 'Run the container in the background and print its ID');
  containerFlags(run);
  defaultTrueFlag(run, '--sig-proxy', 'sigProxy', 'Proxy received signals to the process (without -t)');
  run.option('--detach-keys <keys>', DETACH_KEYS);
  run.action(lazy('run'));

  containerFlags(
    program
      .command('create')
      .summary('Create a new container')
      .description('Create a new container (without starting it) and print its ID')
      .usage('[options] IMAGE [COMMAND] [ARG...]'),
  ).action(lazy('create'));

  eachObject(
    program
      .command('start')
      .description('Start one or more stopped containers')
      .option('-a, --attach', "Attach STDOUT/STDERR and forward signals; exit with the container's status")
      .option('-i, --interactive', "Attach the container's STDIN")
      .option('--detach-keys <keys>', DETACH_KEYS),
    'CONTAINER',
    'containers',
    'containers to start',
  ).action(lazy('start'));

  const stats = program
    .command('stats')
    .description('Display a live stream of container resource usage statistics')
    .usage('[options] [CONTAINER...]')
    .argument('[containers...]', 'containers to show (default: all running)')
    .option('-a, --all', 'Show all containers (default shows just running)')
    .option('--no-stream', 'Disable streaming stats and only pull the first result')
    .option('--no-trunc', "Don't truncate output");
  formatFlag(stats, '{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.NetIO}}').action(lazy('stats'));

  const ps = quietNoTrunc(
    program.command('ps').description('List containers').option('-a, --all', 'Show all containers (default shows just running)'),
    'Only display container IDs',
  );
  filterFlag(ps, 'e.g. name=web, status=exited, label=k=v, network=n');
  formatFlag(ps, '{{.Names}}').action(lazy('ps'));

  /** A command on each of its containers: `verb` them, with the options `flags` adds. */
  const onEach = (name: string, description: string, verb: string, flags?: (c: Command) => Command): void => {
    const cmd = program.command(name).description(description);
    eachObject(flags ? flags(cmd) : cmd, 'CONTAINER', 'containers', `containers to ${verb}`, flags !== undefined).action(
      lazy(name),
    );
  };
  const time = (c: Command) =>
    c.option('-t, --time <seconds>', 'Seconds to wait before killing the container', intArg('-t, --time', -1));
  onEach('stop', 'Stop one or more running containers', 'stop', time);
  onEach('restart', 'Restart one or more containers', 'restart', time);
  onEach('kill', 'Kill one or more running containers', 'kill', (c) =>
    c.option('-s, --signal <signal>', 'Signal to send (name or number; default SIGKILL)'),
  );
  onEach('pause', 'Pause all processes within one or more containers (freeze their cgroup)', 'pause');
  onEach('unpause', 'Unpause all processes within one or more containers', 'unpause');

  program
    .command('top')
    .description("Display the running processes of a container (the host's ps, default options -ef)")
    .usage('CONTAINER [ps OPTIONS]')
    .argument('<container>', 'container')
    .argument('[ps-options...]', 'options for ps')
    .passThroughOptions()
    .action(lazy('top'));

  onEach('rm', 'Remove one or more containers', 'remove', (c) =>
    c
      .option('-f, --force', 'Force the removal of a running container (kills it first)')
      .option('-v, --volumes', 'Remove anonymous volumes associated with the container')
      .option('-l, --link', 'Remove the specified link (PARENT/ALIAS), not the container'),
  );

  program
    .command('logs')
    .description('Fetch the logs of a container')
    .usage('[options] CONTAINER')
    .option('-f, --follow', 'Follow log output')
    .option('-n, --tail <lines>', 'Number of lines to show from the end of the logs (or "all")')
    .option('-t, --timestamps', 'Show timestamps')
    .option('--details', 'Show the attributes given by --log-opt labels/env before each line')
    .option('--since <time>', 'Show logs since a time (e.g. 2024-01-02T13:23:37Z) or for a duration (e.g. 42m)')
    .option('--until <time>', 'Show logs before a time (e.g. 2024-01-02T13:23:37Z) or a duration ago (e.g. 42m)')
    .argument('<container>', 'container whose logs to show')
    .action(lazy('logs'));

  program
    .command('exec')
    .description('Run a command in a running container')
    .usage('[options] CONTAINER COMMAND [ARG...]')
    .option('-d, --detach', 'Detached mode: run the command in the background')
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('-e, --env <KEY[=VALUE]>', 'Set an environment variable (repeatable)', collect)
    .option('--env-file <file>', 'Read environment variables from a file (repeatable)', collect)
    .option('-u, --user <user>', 'Username or UID (format: <name|uid>[:<group|gid>])')
    .option('-w, --workdir <dir>', 'Working directory inside the container')
    .option('--privileged', 'Give extended privileges to the command')
    .option('--detach-keys <keys>', DETACH_KEYS)
    .argument('<container>', 'container to run the command in')
    .argument('<command...>', 'command and arguments')
    .passThroughOptions()
    .action(lazy('exec'));

  const attach = program
    .command('attach')
    .description('Attach local standard input, output, and error streams to a running container')
    .usage('[options] CONTAINER')
    .option('--no-stdin', 'Do not attach STDIN')
    .option('--detach-keys <keys>', DETACH_KEYS);
  defaultTrueFlag(attach, '--sig-proxy', 'sigProxy', 'Proxy all received signals to the process (without a tty)');
  attach.argument('<container>', 'container to attach to').action(lazy('attach'));

  onEach('wait', 'Block until one or more containers stop, then print their exit codes', 'wait for');

  program
    .command('inspect')
    .description('Return low-level information on containers, images or networks (JSON)')
    .usage('[options] NAME|ID [NAME|ID...]')
    .option('-f, --format <format>', "Format the output with a Go template (e.g. '{{.State.Status}}'); default: JSON array")
    .option('--type <type>', 'Only look for this type of object: container, image, network or volume')
    .argument('<names...>', 'objects to inspect')
    .action(lazy('inspect'));

  program
    .command('port')
    .description('List port mappings or a specific mapping for the container')
    .usage('CONTAINER [PRIVATE_PORT[/PROTO]]')
    .argument('<container>', 'container')
    .argument('[port]', 'private port (and protocol) to show')
    .action(lazy('port'));
}
