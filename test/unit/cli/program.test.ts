/** Flag parsing through the real command tree, with the actions replaced (no process, no daemon). */
import test from 'ava';
import type { Command } from 'commander';
import { buildProgram } from '../../../src/cli/program.js';
import { flagsFromOptions } from '../../../src/cli/container-config.js';

function parse(argv: string[], path: string[]): Promise<{ args: unknown[]; opts: Record<string, unknown> }> {
  const program = buildProgram();
  let cmd: Command = program;
  for (const name of path) cmd = cmd.commands.find((c) => c.name() === name)!;
  return new Promise((resolve, reject) => {
    cmd.action((...a: unknown[]) => {
      const c = a[a.length - 1] as Command;
      resolve({ args: c.processedArgs as unknown[], opts: c.opts() });
    });
    program.parseAsync(argv, { from: 'user' }).catch(reject);
  });
}

test('run: combined short flags, -h is the hostname, the command keeps its own flags', async (t) => {
  const { args, opts } = await parse(['run', '-it', '-h', 'box', '--rm', 'alpine', 'ls', '-la', '--rm', '-h'], ['run']);
  t.deepEqual(args, ['alpine', ['ls', '-la', '--rm', '-h']]);
  t.like(opts, { interactive: true, tty: true, hostname: 'box', rm: true });
});

test('run: --sig-proxy defaults to true, docker syntax turns it off', async (t) => {
  t.is((await parse(['run', 'alpine'], ['run'])).opts.sigProxy, true);
  t.is((await parse(['run', '--sig-proxy=false', 'alpine'], ['run'])).opts.sigProxy, false);
  t.is((await parse(['run', '--no-sig-proxy', 'alpine'], ['run'])).opts.sigProxy, false);
  t.is((await parse(['run', '--sig-proxy=true', 'alpine'], ['run'])).opts.sigProxy, true);
});

test('run: repeatable flags collect; --net and --network keep their order; values parsed', async (t) => {
  const { opts } = await parse(
    [
      'run',
      '--network',
      'a',
      '--net',
      'b',
      '--network=c',
      '-e',
      'X=1',
      '-e',
      'Y',
      '-p',
      '80',
      '-p',
      '443',
      '-m',
      '1g',
      '--cpus',
      '0.5',
      '--pids-limit',
      '-1',
      '--entrypoint',
      '',
      'img',
    ],
    ['run'],
  );
  const f = flagsFromOptions(opts);
  t.deepEqual(f.networks, ['a', 'b', 'c']);
  t.deepEqual(f.env, ['X=1', 'Y']);
  t.deepEqual(f.publish, ['80', '443']);
  t.is(f.memory, 1024 ** 3);
  t.is(f.cpus, 500_000_000);
  t.is(f.pidsLimit, -1);
  t.is(f.entrypoint, '');
  t.deepEqual(f.volume, []);
});

test('exec: options before the container, everything after is the command', async (t) => {
  const { args, opts } = await parse(['exec', '-it', '-e', 'A=1', 'web', 'sh', '-c', 'echo -n x'], ['exec']);
  t.deepEqual(args, ['web', ['sh', '-c', 'echo -n x']]);
  t.like(opts, { interactive: true, tty: true, env: ['A=1'] });
});

test('-H is a global option before the command', async (t) => {
  const program = buildProgram();
  const ps = program.commands.find((c) => c.name() === 'ps')!;
  let host: unknown;
  ps.action((_o: unknown, c: Command) => {
    host = c.optsWithGlobals().host;
  });
  await program.parseAsync(['-H', 'unix:///x.sock', 'ps', '-a'], { from: 'user' });
  t.is(host, 'unix:///x.sock');
});

test('network create defaults: driver bridge, ipam driver default', async (t) => {
  const { args, opts } = await parse(['network', 'create', 'n1'], ['network', 'create']);
  t.deepEqual(args, ['n1']);
  t.like(opts, { driver: 'bridge', ipamDriver: 'default' });
});
