/**
 * The tsnet CLI's issue-12 flags end to end: --restart, --health-*, --no-healthcheck, -v with a
 * named and an anonymous volume, --mount, --tmpfs, rm -v and the volume commands.
 */
import test from 'ava';
import { createWorld, eventually, type World } from '../helpers/world.js';

let w: World;
test.before(async () => {
  w = await createWorld();
});
test.after.always(async () => {
  await w?.teardown();
});

test.serial('run flags reach the daemon and take effect; volume commands; rm -v', async (t) => {
  const vol = `clivol-${w.id}`;
  const id = await w.ok([
    'run',
    '-d',
    '--network',
    'none',
    '--restart',
    'on-failure:3',
    '--health-cmd',
    'test -e /tmp/ok',
    '--health-interval',
    '200ms',
    '--health-retries',
    '1',
    '-v',
    `${vol}:/data`,
    '-v',
    '/anon',
    '--mount',
    'type=tmpfs,target=/t,tmpfs-size=1m',
    '--tmpfs',
    '/u:size=64k',
    'busybox',
    'sh',
    '-c',
    'echo hi > /data/f; exec sleep 1000',
  ]);
  const fmt = '{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}} {{json .Config.Healthcheck}}';
  t.is(
    await w.ok(['inspect', '-f', fmt, id]),
    'on-failure:3 {"Test":["CMD-SHELL","test -e /tmp/ok"],"Interval":200000000,"Retries":1}',
  );
  const mounts = await w.ok(['inspect', '-f', '{{range .Mounts}}{{.Type}}:{{.Destination}} {{end}}', id]);
  t.is(mounts, 'volume:/data tmpfs:/t tmpfs:/u volume:/anon');
  t.regex(
    await w.ok(['exec', id, 'sh', '-c', 'grep -E " /(t|u) " /proc/mounts | cut -d" " -f2,3 | sort']),
    /^\/t tmpfs\n\/u tmpfs$/,
  );
  // unhealthy, then healthy once the file exists; ps shows it
  t.truthy(await eventually(async () => /\(unhealthy\)/.test(await w.ok(['ps', '--filter', `id=${id}`])), 20_000));
  await w.ok(['exec', id, 'touch', '/tmp/ok']);
  t.truthy(await eventually(async () => /\(healthy\)/.test(await w.ok(['ps', '--filter', `id=${id}`])), 20_000));
  t.regex(await w.ok(['ps', '-q', '--filter', 'health=healthy']), new RegExp(id.slice(0, 12)));

  // volume commands
  t.regex(await w.ok(['volume', 'ls']), new RegExp(`local\\s+${vol}`));
  t.is(await w.ok(['volume', 'inspect', '-f', '{{.Driver}} {{.Name}}', vol]), `local ${vol}`);
  const list = JSON.parse(await w.ok(['inspect', '-f', '{{json .Mounts}}', id])) as Array<{ Destination: string; Name?: string }>;
  const anon = list.find((m) => m.Destination === '/anon')!.Name!;
  t.regex(anon, /^[0-9a-f]{64}$/);
  const busy = await w.cli(['volume', 'rm', vol]);
  t.is(busy.exitCode, 1);
  t.regex(busy.stderr, /volume is in use/);
  await w.ok(['rm', '-f', '-v', id]);
  t.not((await w.cli(['volume', 'inspect', anon])).exitCode, 0, 'rm -v removed the anonymous volume');
  t.is(await w.ok(['volume', 'inspect', '-f', '{{.Name}}', vol]), vol, 'rm -v keeps named volumes');
  const made = await w.ok(['volume', 'create', '--label', 'k=v', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=1m']);
  t.regex(made, /^[0-9a-f]{64}$/);
  t.is(await w.ok(['volume', 'ls', '-q', '-f', 'label=k=v']), made);
  t.regex(await w.ok(['system', 'df']), /Local Volumes\s+2\s+0\s+3B\s+3B \(100%\)/);
  const pruned = await w.ok(['volume', 'prune', '-f', '-a']);
  t.regex(pruned, new RegExp(`Deleted Volumes:\\n(.*\\n)*${vol}`));
  t.regex(pruned, /Total reclaimed space: \d/);
  t.is(await w.ok(['volume', 'ls', '-q']), '');
});

test.serial('bad flags are refused before any request, in one line', async (t) => {
  for (const [args, re] of [
    [['--restart', 'sometimes'], /invalid argument "sometimes" for "--restart"/],
    [['--no-healthcheck', '--health-cmd', 'true'], /--no-healthcheck conflicts with --health-\* options/],
    [['--health-interval', '10'], /invalid argument "10" for "--health-interval": invalid duration/],
    [['--mount', 'type=bind,source=/tmp'], /target is required/],
    [['-v', 'rel'], /not absolute/],
  ] as const) {
    const r = await w.cli(['run', '--network', 'none', ...args, 'busybox', 'true']);
    t.is(r.exitCode, 125, r.stderr);
    t.regex(r.stderr, re);
    t.is(r.stderr.trim().split('\n').length, 1);
  }
  // --no-healthcheck turns off a healthcheck: Test NONE, no State.Health
  const id = await w.ok(['run', '-d', '--network', 'none', '--no-healthcheck', 'busybox', 'sleep', '100']);
  t.is(await w.ok(['inspect', '-f', '{{json .Config.Healthcheck.Test}} {{.State.Health}}', id]), '["NONE"] <no value>');
  await w.ok(['rm', '-f', id]);
});
