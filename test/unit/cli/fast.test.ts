/**
 * The fast path (src/cli/fast/) parses command lines without commander; the commander tree
 * (src/cli/define/) stays the source of help and errors. These tests keep the two in step:
 * the same flags for every command, and the same args/opts for a corpus of command lines.
 */
import test from 'ava';
import type { Command } from 'commander';
import { parseFast, type ArgKind, type Parsed } from '../../../src/cli/fast/argv.js';
import { FAST_COMMANDS } from '../../../src/cli/fast/table.js';
import { buildProgram } from '../../../src/cli/program.js';

interface Leaf {
  key: string;
  cmd: Command;
}

/** Every command that runs something, keyed like FAST_COMMANDS (aliases included). */
function leaves(program: Command = buildProgram()): Leaf[] {
  const out: Leaf[] = [];
  for (const c of program.commands) {
    if (c.commands.length === 0) {
      for (const n of [c.name(), ...c.aliases()]) out.push({ key: n, cmd: c });
      continue;
    }
    for (const s of c.commands) for (const n of [s.name(), ...s.aliases()]) out.push({ key: `${c.name()} ${n}`, cmd: s });
  }
  return out;
}

test('every command of the commander tree is in the fast table with the same flags and arguments', (t) => {
  const all = leaves();
  t.deepEqual(Object.keys(FAST_COMMANDS).sort(), all.map((l) => l.key).sort());
  for (const { key, cmd } of all) {
    const spec = FAST_COMMANDS[key]!;
    const fromCommander = cmd.options
      .filter((o) => !o.long?.includes('='))
      .map((o) => `${o.short ?? ''} ${o.long} ${o.required ? 'value' : o.negate ? 'negated' : 'bool'}`)
      .sort();
    const fromFast = spec.options
      .map((o) => `${o.short ?? ''} ${o.long} ${o.kind === 'bool' || o.kind === 'negated' ? o.kind : 'value'}`)
      .sort();
    t.deepEqual(fromFast, fromCommander, `flags of ${key}: keep src/cli/fast/table.ts in step with src/cli/define/`);
    const exact = cmd.options.filter((o) => o.long?.includes('=')).map((o) => o.long);
    t.deepEqual(Object.keys(spec.exact ?? {}).sort(), exact.sort(), `--flag=value forms of ${key}`);
    const args = cmd.registeredArguments.map(
      (a): ArgKind => (a.required ? (a.variadic ? 'some' : 'one') : a.variadic ? 'any' : 'optional'),
    );
    t.deepEqual(spec.args, args, `arguments of ${key}`);
  }
});

/** What commander makes of a command line: the module the action would load, args, opts, -H. */
function viaCommander(argv: string[]): Promise<Omit<Parsed, 'module'> & { key: string }> {
  const program = buildProgram();
  return new Promise((resolve, reject) => {
    for (const { key, cmd } of leaves(program)) {
      cmd.action((...a: unknown[]) => {
        const c = a[a.length - 1] as Command;
        resolve({
          key,
          host: c.optsWithGlobals<{ host?: string }>().host,
          args: c.processedArgs as unknown[],
          opts: { ...c.opts() },
        });
      });
    }
    program.exitOverride();
    program.configureOutput({ writeOut: () => {}, writeErr: () => {} });
    program.parseAsync(argv, { from: 'user' }).catch(reject);
  });
}

/** Without unset keys, and without commander's own record of `--sig-proxy=false` (no command reads it). */
const clean = (o: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([k, v]) => v !== undefined && !k.includes('=')));

const SAME: string[][] = [
  ['version'],
  ['-H', 'unix:///tmp/x.sock', 'version', '--format', 'json'],
  ['--host=tcp://1.2.3.4:2375', 'ps', '-aq'],
  ['-Hunix:///s', 'ps', '--no-trunc', '-f', 'name=a', '--filter=status=exited', '--format', '{{.ID}}'],
  ['run', '--rm', 'busybox', 'true'],
  ['run', '-dit', '--name', 'web', '-p', '80:80', '-p8443:443', '--network', 'a', '--net=b', '--network', 'c', 'img'],
  ['run', '-e', 'A=1', '--env=B', '-v', '/a:/b:ro', '-m', '64m', '--cpus', '1.5', '--pids-limit', '-1', 'img', 'sh', '-c', 'x'],
  ['run', '-h', 'box', '--entrypoint', '', '--sig-proxy=false', 'img', 'ls', '-la', '--rm'],
  ['run', '--no-sig-proxy', '-P', '--expose', '80', '--cap-add', 'NET_ADMIN', '--read-only', '-l', 'a=b', 'img'],
  ['run', '--device', '/dev/fuse', '--security-opt', 'no-new-privileges', '--cap-add', 'ALL', 'img'],
  ['create', '--device-cgroup-rule', 'c 1:3 rwm', '--device', '/dev/null:/dev/n:r', 'img'],
  ['run', '--ip', '10.0.0.2', '--ip6', 'fd00::2', '--network-alias', 'x', '--mac-address', '02:42:ac:11:00:02', 'img'],
  ['run', '--', 'img', '--not-a-flag'],
  ['create', '--name', 'c1', '-t', 'img'],
  ['start', '-ai', 'c1'],
  ['start', 'a', 'b'],
  ['stop', '-t', '3', 'a', 'b'],
  ['restart', 'a'],
  ['kill', '-s', 'HUP', 'a'],
  ['rm', 'a', '-f', 'b', '-v'],
  ['logs', '-f', '-n', '10', '--since', '1m', 'c'],
  ['exec', '-it', '-e', 'A=1', '-u', '0', 'web', 'sh', '-c', 'echo -n x'],
  ['wait', 'a', 'b'],
  ['inspect', '-f', '{{.Id}}', '--type', 'container', 'a'],
  ['port', 'c', '80/tcp'],
  ['port', 'c'],
  ['info', '-f', 'json'],
  ['stats', '--no-stream', '-a', 'c1', 'c2'],
  ['stats'],
  ['system', 'df', '--format', 'json'],
  ['events', '--since', '10m', '-f', 'type=container'],
  ['system', 'events', '--until', '1h'],
  ['run', '--add-host', 'h:1.2.3.4', '--dns', '9.9.9.9', '--dns-search', 'x', '--dns-option', 'ndots:2', 'img'],
  ['run', '--device-cgroup-rule', 'c 1:3 rwm', 'img'],
  ['system', 'info'],
  ['plugin', 'ls', '--format', 'json'],
  ['images', '-q'],
  ['image', 'list', '--no-trunc'],
  ['rmi', '-f', 'a', 'b'],
  ['image', 'import', 'x.tar', 'name:tag'],
  ['import', '-', '--tag', 'x'],
  ['image', 'inspect', 'busybox'],
  ['network', 'create', 'n1'],
  ['network', 'create', '-d', 'overlay', '--subnet', '10.0.0.0/24', '--gateway', '10.0.0.1', '-o', 'a=b', '--attachable', 'n'],
  [
    'network',
    'create',
    '--ipam-driver',
    'x',
    '--ipam-opt',
    'k=v',
    '--ip-range',
    '10.0.0.0/25',
    '--aux-address',
    'a=10.0.0.5',
    'n',
  ],
  ['network', 'ls', '-q'],
  ['network', 'create', '-d', 'overlay', '--scope', 'swarm', '--attachable', 'n'],
  ['network', 'create', '-d', 'overlay', '--ingress', 'ingress'],
  ['swarm', 'init', '--advertise-addr', '127.0.0.1', '--default-addr-pool', '10.20.0.0/16', '--data-path-port', '4790'],
  ['swarm', 'init'],
  ['swarm', 'leave', '-f'],
  ['swarm', 'leave'],
  ['network', 'list', '-f', 'driver=bridge'],
  ['network', 'inspect', '-f', '{{.Id}}', 'a', 'b'],
  ['network', 'rm', 'a'],
  ['network', 'remove', 'a', 'b'],
  ['network', 'prune', '-f'],
  ['network', 'prune', '-f', '--filter', 'until=24h', '--filter', 'label=a=b'],
  ['update', '-m', '64m', '--memory-swap', '-1', '--cpus', '0.5', '-c', '512', '--pids-limit', '-1', 'a', 'b'],
  ['container', 'update', '--cpuset-cpus', '0', '--restart', 'on-failure:3', '--blkio-weight', '300', 'a'],
  ['diff', 'c'],
  ['run', '-d', '-c', '512', '--cpuset-cpus', '0', '--memory-swap', '-1', '--memory-reservation', '8m', 'img'],
  ['create', '--cpu-period', '50000', '--cpu-quota', '20000', '--cpuset-mems', '0', '--blkio-weight', '20', 'img'],
  ['attach', '--detach-keys', 'ctrl-a,d', '--no-stdin', 'c'],
  ['attach', '--sig-proxy=false', 'c'],
  ['run', '-it', '--detach-keys', 'ctrl-x,x', 'img', 'sh'],
  ['start', '-ai', '--detach-keys', 'a', 'c'],
  ['exec', '-it', '--detach-keys', 'ctrl-p,ctrl-q', 'c', 'sh'],
  ['container', 'diff', 'c'],
  ['cp', 'c:/etc/hostname', '-'],
  ['container', 'cp', '-a', '-L', './x', 'c:/tmp'],
  ['container', 'prune', '-f', '--filter', 'label!=keep'],
  ['image', 'prune', '-a', '-f'],
  ['system', 'prune', '-f', '--volumes', '-a', '--filter', 'until=1h'],
  ['network', 'connect', '--ip', '10.0.0.9', '--alias', 'x', 'n', 'c'],
  ['network', 'disconnect', '-f', 'n', 'c'],
];

for (const argv of SAME) {
  test(`same parse: tsnet ${argv.join(' ')}`, async (t) => {
    const fast = parseFast(argv, FAST_COMMANDS);
    if (!fast) {
      t.fail('the fast path gave up on a valid command line');
      return;
    }
    const slow = await viaCommander(argv);
    t.is(FAST_COMMANDS[slow.key]!.module, fast.module);
    t.is(fast.host, slow.host);
    t.deepEqual(fast.args, slow.args);
    t.deepEqual(clean(fast.opts), clean(slow.opts));
  });
}

const HANDED_OVER: string[][] = [
  [],
  ['--help'],
  ['-v'],
  ['run', '--help'],
  ['run'],
  ['run', '--bogus', 'img'],
  ['run', '-m', 'lots', 'img'],
  ['run', '--rm=yes', 'img'],
  ['ps', 'extra'],
  ['rm'],
  ['network'],
  ['network', 'frobnicate'],
  ['nosuchcommand'],
  ['-H'],
  ['stop', '-t', 'x', 'a'],
];

test('help, the version flag and anything wrong go to the commander tree', (t) => {
  for (const argv of HANDED_OVER) t.is(parseFast(argv, FAST_COMMANDS), undefined, `tsnet ${argv.join(' ')}`);
});
