/**
 * Every command of the CLI as data for the fast path (fast/argv.ts): its flags, arguments and
 * module. It mirrors the commander tree in define/*.ts, which stays the source of help and
 * error messages; test/unit/cli/fast.test.ts fails when the two disagree on any flag.
 */
import { cpusArg, intArg, sizeArg, swapArg } from '../define/values.js';
import { opt, type FastCommand, type FastOption } from './argv.js';

const list = (flags: string): FastOption => opt(flags, 'list');

const containerFlags: FastOption[] = [
  opt('-i, --interactive'),
  opt('-t, --tty'),
  opt('--rm'),
  opt('--name <name>'),
  opt('-h, --hostname <name>'),
  list('-e, --env <v>'),
  list('--env-file <file>'),
  opt('-w, --workdir <dir>'),
  opt('-u, --user <user>'),
  list('-v, --volume <v>'),
  list('--mount <v>'),
  list('--tmpfs <v>'),
  opt('--restart <policy>'),
  opt('--health-cmd <command>'),
  opt('--health-interval <d>'),
  opt('--health-timeout <d>'),
  opt('--health-retries <n>', 'value', intArg('--health-retries', 0)),
  opt('--health-start-period <d>'),
  opt('--health-start-interval <d>'),
  opt('--no-healthcheck'),
  opt('-m, --memory <bytes>', 'value', sizeArg('-m, --memory')),
  opt('--cpus <number>', 'value', cpusArg('--cpus')),
  opt('--pids-limit <n>', 'value', intArg('--pids-limit', -1)),
  opt('--memory-swap <bytes>', 'value', swapArg('--memory-swap')),
  opt('--memory-reservation <bytes>', 'value', sizeArg('--memory-reservation')),
  opt('-c, --cpu-shares <shares>', 'value', intArg('-c, --cpu-shares', 0)),
  opt('--cpu-period <us>', 'value', intArg('--cpu-period', 0)),
  opt('--cpu-quota <us>', 'value', intArg('--cpu-quota', -1)),
  opt('--cpuset-cpus <list>'),
  opt('--cpuset-mems <list>'),
  opt('--blkio-weight <weight>', 'value', intArg('--blkio-weight', 0)),
  opt('--network <network>', 'ordered'),
  opt('--net <network>', 'ordered'),
  list('--network-alias <alias>'),
  opt('--ip <ipv4>'),
  opt('--ip6 <ipv6>'),
  list('--link <name[:alias]>'),
  list('--link-local-ip <ip>'),
  list('-p, --publish <v>'),
  opt('-P, --publish-all'),
  list('--expose <v>'),
  opt('--entrypoint <command>'),
  opt('--privileged'),
  list('--cap-add <capability>'),
  list('--cap-drop <capability>'),
  list('--device <v>'),
  list('--device-cgroup-rule <rule>'),
  list('--security-opt <option>'),
  opt('--read-only'),
  opt('--pull <policy>', 'value', (v) => {
    if (v !== 'missing' && v !== 'always' && v !== 'never') throw new Error('not a choice'); // commander says it
    return v;
  }),
  list('-l, --label <v>'),
  opt('--log-driver <driver>'),
  list('--log-opt <key=value>'),
  opt('--mac-address <mac>'),
  list('--add-host <v>'),
  list('--dns <ip>'),
  list('--dns-search <domain>'),
  list('--dns-option <option>'),
  list('--group-add <group>'),
  list('--ulimit <v>'),
  list('--sysctl <v>'),
  opt('--shm-size <bytes>', 'value', sizeArg('--shm-size')),
  opt('--oom-score-adj <n>', 'value', intArg('--oom-score-adj', -1000)),
  opt('--ipc <mode>'),
];

const sigProxy: Record<string, [string, unknown]> = {
  '--sig-proxy=false': ['sigProxy', false],
  '--sig-proxy=0': ['sigProxy', false],
  '--sig-proxy=true': ['sigProxy', true],
  '--sig-proxy=1': ['sigProxy', true],
};

const format = (short: boolean): FastOption => opt(short ? '-f, --format <format>' : '--format <format>');
const time = opt('-t, --time <seconds>', 'value', intArg('-t, --time', -1));
const imageHistory: FastCommand = {
  module: 'image-history',
  options: [opt('-q, --quiet'), opt('--no-trunc'), format(false), opt('--human'), opt('--no-human')],
  args: ['one'],
  defaults: { trunc: true, human: true },
  exact: {
    '--human=false': ['human', false],
    '--human=0': ['human', false],
    '--human=true': ['human', true],
    '--human=1': ['human', true],
  },
};
const imageLs: FastCommand = {
  module: 'image-ls',
  options: [opt('-q, --quiet'), opt('--no-trunc'), format(false)],
  args: [],
  defaults: { trunc: true },
};
const imageRm: FastCommand = { module: 'image-rm', options: [opt('-f, --force')], args: ['some'] };
const imageImport: FastCommand = {
  module: 'image-import',
  options: [opt('-t, --tag <name>'), list('-c, --change <v>'), opt('-m, --message <s>')],
  args: ['one', 'optional'],
};
const imageTag: FastCommand = { module: 'image-tag', options: [], args: ['one', 'one'] };
const imageLoad: FastCommand = { module: 'image-load', options: [opt('-i, --input <file>'), opt('-q, --quiet')], args: [] };
const info: FastCommand = { module: 'info', options: [format(true)], args: [] };
const events: FastCommand = {
  module: 'events',
  options: [opt('--since <time>'), opt('--until <time>'), list('-f, --filter <v>'), format(false)],
  args: [],
};
const pluginLs: FastCommand = { module: 'plugin-ls', options: [format(false)], args: [] };

const update: FastCommand = {
  module: 'update',
  options: [
    opt('--blkio-weight <weight>', 'value', intArg('--blkio-weight', 0)),
    opt('--cpu-period <us>', 'value', intArg('--cpu-period', 0)),
    opt('--cpu-quota <us>', 'value', intArg('--cpu-quota', -1)),
    opt('-c, --cpu-shares <shares>', 'value', intArg('-c, --cpu-shares', 0)),
    opt('--cpus <number>', 'value', cpusArg('--cpus')),
    opt('--cpuset-cpus <list>'),
    opt('--cpuset-mems <list>'),
    opt('-m, --memory <bytes>', 'value', sizeArg('-m, --memory')),
    opt('--memory-reservation <bytes>', 'value', sizeArg('--memory-reservation')),
    opt('--memory-swap <bytes>', 'value', swapArg('--memory-swap')),
    opt('--pids-limit <n>', 'value', intArg('--pids-limit', -1)),
    opt('--restart <policy>'),
  ],
  args: ['some'],
};
const diff: FastCommand = { module: 'diff', options: [], args: ['one'] };
const exportCmd: FastCommand = { module: 'export', options: [opt('-o, --output <file>')], args: ['one'] };
const commit: FastCommand = {
  module: 'commit',
  options: [opt('-a, --author <s>'), list('-c, --change <v>'), opt('-m, --message <s>'), opt('--pause'), opt('--no-pause')],
  args: ['one', 'optional'],
  defaults: { pause: true },
  exact: {
    '--pause=false': ['pause', false],
    '--pause=0': ['pause', false],
    '--pause=true': ['pause', true],
    '--pause=1': ['pause', true],
  },
};
const cp: FastCommand = {
  module: 'cp',
  options: [opt('-a, --archive'), opt('-L, --follow-link'), opt('-q, --quiet')],
  args: ['one', 'one'],
};
const prune = (module: string, extra: FastOption[] = []): FastCommand => ({
  module,
  options: [opt('-f, --force'), list('--filter <v>'), ...extra],
  args: [],
});

/** Keyed by the command's name, or `group sub` for the commands of a group (aliases included). */
const pull: FastCommand = { module: 'pull', options: [opt('-q, --quiet'), opt('--platform <os/arch>')], args: ['one'] };

export const FAST_COMMANDS: Record<string, FastCommand> = {
  pull,
  'image pull': pull,
  update,
  'container update': update,
  diff,
  'container diff': diff,
  commit,
  'container commit': commit,
  export: exportCmd,
  'container export': exportCmd,
  cp,
  'container cp': cp,
  'container prune': prune('container-prune'),
  'image prune': prune('image-prune', [opt('-a, --all')]),
  'system prune': prune('system-prune', [opt('-a, --all'), opt('--volumes')]),
  login: {
    module: 'login',
    options: [opt('-u, --username <username>'), opt('-p, --password <password>'), opt('--password-stdin')],
    args: ['optional'],
  },
  logout: { module: 'logout', options: [], args: ['optional'] },
  run: {
    module: 'run',
    options: [opt('-d, --detach'), ...containerFlags, opt('--sig-proxy'), opt('--no-sig-proxy'), opt('--detach-keys <keys>')],
    args: ['one', 'any'],
    passThrough: true,
    defaults: { sigProxy: true, pull: 'missing', healthcheck: true },
    exact: sigProxy,
  },
  create: {
    module: 'create',
    options: containerFlags,
    args: ['one', 'any'],
    passThrough: true,
    defaults: { pull: 'missing', healthcheck: true },
  },
  start: {
    module: 'start',
    options: [opt('-a, --attach'), opt('-i, --interactive'), opt('--detach-keys <keys>')],
    args: ['some'],
  },
  attach: {
    module: 'attach',
    options: [opt('--no-stdin'), opt('--detach-keys <keys>'), opt('--sig-proxy'), opt('--no-sig-proxy')],
    args: ['one'],
    defaults: { stdin: true, sigProxy: true },
    exact: sigProxy,
  },
  ps: {
    module: 'ps',
    options: [opt('-a, --all'), opt('-q, --quiet'), opt('--no-trunc'), list('-f, --filter <v>'), format(false)],
    args: [],
    defaults: { trunc: true },
  },
  stop: { module: 'stop', options: [time], args: ['some'] },
  restart: { module: 'restart', options: [time], args: ['some'] },
  kill: { module: 'kill', options: [opt('-s, --signal <signal>')], args: ['some'] },
  pause: { module: 'pause', options: [], args: ['some'] },
  unpause: { module: 'unpause', options: [], args: ['some'] },
  top: { module: 'top', options: [], args: ['one', 'any'], passThrough: true },
  rm: { module: 'rm', options: [opt('-f, --force'), opt('-v, --volumes'), opt('-l, --link')], args: ['some'] },
  logs: {
    module: 'logs',
    options: [
      opt('-f, --follow'),
      opt('-n, --tail <lines>'),
      opt('-t, --timestamps'),
      opt('--details'),
      opt('--since <t>'),
      opt('--until <t>'),
    ],
    args: ['one'],
  },
  exec: {
    module: 'exec',
    options: [
      opt('-d, --detach'),
      opt('-i, --interactive'),
      opt('-t, --tty'),
      list('-e, --env <v>'),
      list('--env-file <file>'),
      opt('-u, --user <user>'),
      opt('-w, --workdir <dir>'),
      opt('--privileged'),
      opt('--detach-keys <keys>'),
    ],
    args: ['one', 'some'],
    passThrough: true,
  },
  wait: { module: 'wait', options: [], args: ['some'] },
  inspect: { module: 'inspect', options: [format(true), opt('--type <type>')], args: ['some'] },
  port: { module: 'port', options: [], args: ['one', 'optional'] },
  version: { module: 'version', options: [format(true)], args: [] },
  info,
  'system info': info,
  'system df': { module: 'system-df', options: [format(false)], args: [] },
  events,
  'system events': events,
  stats: {
    module: 'stats',
    options: [opt('-a, --all'), opt('--no-stream'), opt('--no-trunc'), format(false)],
    args: ['any'],
    defaults: { stream: true, trunc: true },
  },
  'plugin ls': pluginLs,
  'plugin list': pluginLs,
  'image history': imageHistory,
  history: imageHistory,
  'image ls': imageLs,
  'image list': imageLs,
  images: imageLs,
  'image rm': imageRm,
  'image remove': imageRm,
  rmi: imageRm,
  'image import': imageImport,
  import: imageImport,
  'image tag': imageTag,
  tag: imageTag,
  'image load': imageLoad,
  load: imageLoad,
  'image inspect': { module: 'image-inspect', options: [format(true)], args: ['some'] },
  'network create': {
    module: 'network-create',
    options: [
      opt('-d, --driver <driver>'),
      list('--subnet <cidr>'),
      list('--gateway <ip>'),
      list('--ip-range <cidr>'),
      list('--aux-address <v>'),
      opt('--ipv6'),
      opt('--internal'),
      opt('--attachable'),
      opt('--scope <scope>'),
      opt('--ingress'),
      list('-o, --opt <v>'),
      opt('--ipam-driver <driver>'),
      list('--ipam-opt <v>'),
      list('--label <v>'),
    ],
    args: ['one'],
    defaults: { driver: 'bridge', ipamDriver: 'default' },
  },
  'network ls': {
    module: 'network-ls',
    options: [opt('-q, --quiet'), opt('--no-trunc'), list('-f, --filter <v>'), format(false)],
    args: [],
    defaults: { trunc: true },
  },
  'network inspect': { module: 'network-inspect', options: [format(true)], args: ['some'] },
  'network rm': { module: 'network-rm', options: [], args: ['some'] },
  'network prune': prune('network-prune'),
  'network connect': {
    module: 'network-connect',
    options: [
      opt('--ip <ipv4>'),
      opt('--ip6 <ipv6>'),
      list('--alias <alias>'),
      list('--link <name[:alias]>'),
      list('--link-local-ip <ip>'),
      list('--driver-opt <key=value>'),
    ],
    args: ['one', 'one'],
  },
  'network disconnect': { module: 'network-disconnect', options: [opt('-f, --force')], args: ['one', 'one'] },
};
FAST_COMMANDS['volume create'] = {
  module: 'volume-create',
  options: [opt('-d, --driver <driver>'), list('-o, --opt <v>'), list('--label <v>')],
  args: ['optional'],
  defaults: { driver: 'local' },
};
FAST_COMMANDS['volume ls'] = {
  module: 'volume-ls',
  options: [opt('-q, --quiet'), list('-f, --filter <v>'), format(false)],
  args: [],
};
FAST_COMMANDS['volume list'] = FAST_COMMANDS['volume ls']!;
FAST_COMMANDS['volume inspect'] = { module: 'volume-inspect', options: [format(true)], args: ['some'] };
FAST_COMMANDS['volume rm'] = { module: 'volume-rm', options: [opt('-f, --force')], args: ['some'] };
FAST_COMMANDS['volume remove'] = FAST_COMMANDS['volume rm']!;
FAST_COMMANDS['volume prune'] = {
  module: 'volume-prune',
  options: [opt('-a, --all'), list('--filter <v>'), opt('-f, --force')],
  args: [],
};
FAST_COMMANDS['swarm init'] = {
  module: 'swarm-init',
  options: [
    opt('--advertise-addr <addr>'),
    opt('--listen-addr <addr>'),
    opt('--data-path-addr <addr>'),
    opt('--data-path-port <port>'),
    list('--default-addr-pool <cidr>'),
    opt('--default-addr-pool-mask-length <n>'),
  ],
  args: [],
  defaults: { listenAddr: '0.0.0.0:2377' },
};
FAST_COMMANDS['swarm leave'] = { module: 'swarm-leave', options: [opt('-f, --force')], args: [] };
FAST_COMMANDS['network list'] = FAST_COMMANDS['network ls']!;
FAST_COMMANDS['network remove'] = FAST_COMMANDS['network rm']!;
