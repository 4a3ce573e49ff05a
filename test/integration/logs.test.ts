/**
 * Logs as Docker clients expect them: json-file reported as the driver (the Python SDK's
 * containers.run returns output only for json-file/journald), `--log-opt max-size/max-file`
 * rotation by the supervisor with every client reading the rotated files, and `until`.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { cleanEnv, createWorld, run, type World } from '../helpers/world.js';

let w: World;
test.before(async () => {
  w = await createWorld();
});
test.after.always(async () => {
  await w?.teardown();
});

const logFiles = async (name: string) => {
  const id = await w.ok(['inspect', '-f', '{{.Id}}', name]);
  const dir = path.join(w.root, 'containers', id);
  const all = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  return { dir, files: all.filter((f) => f.startsWith('container.log')).sort() };
};

test('json-file is the reported log driver; the Python SDK containers.run returns the output', async (t) => {
  await w.ok(['create', '--name', 'lc1', '--network', 'none', 'busybox', 'true']);
  t.is(await w.ok(['inspect', '-f', '{{.HostConfig.LogConfig.Type}}', 'lc1']), 'json-file');
  const probe = await run('/usr/bin/python3', ['-c', 'import docker']);
  t.is(probe.exitCode, 0, 'the Python Docker SDK is missing: install it (apt-get install python3-docker; npm run setup does)');
  const py = [
    'import docker, sys',
    `c = docker.DockerClient(base_url="unix://${w.socket}")`,
    'print(c.info()["LoggingDriver"])',
    'sys.stdout.write(c.containers.run("busybox", "echo hello world", network_mode="none", remove=True).decode())',
  ].join('\n');
  const r = await run('/usr/bin/python3', ['-c', py]);
  t.is(r.stdout, 'json-file\nhello world\n', r.stderr);
});

test('--log-opt max-size/max-file: the supervisor rotates; logs reads the kept files in order', async (t) => {
  // 400 lines of 40 bytes (about 24 kB in the log with CRI headers), 4 kB per file, 3 files.
  const script = 'for i in $(seq 1 400); do printf "line-%04d-%029d\\n" $i 0; done';
  const r = await w.cli([
    'run',
    '--name',
    'rot',
    '--network',
    'none',
    '--log-opt',
    'max-size=4k',
    '--log-opt',
    'max-file=3',
    'busybox',
    'sh',
    '-c',
    script,
  ]);
  t.is(r.exitCode, 0, r.stderr);
  t.is(r.stdout.split('\n').length, 401, 'the attached client saw everything');
  const { dir, files } = await logFiles('rot');
  t.deepEqual(files, ['container.log', 'container.log.1', 'container.log.2']);
  for (const f of files) t.true(fs.statSync(path.join(dir, f)).size <= 4096, `${f} is within max-size`);
  const logs = (await w.ok(['logs', 'rot'])).split('\n');
  const nums = logs.map((l) => Number(/^line-(\d{4})-/.exec(l)?.[1]));
  t.true(nums.every(Number.isInteger), logs.slice(0, 3).join('|'));
  t.is(nums.at(-1), 400, 'ends with the last line');
  const kept = files.reduce((n, f) => n + fs.readFileSync(path.join(dir, f), 'utf8').split('\n').length - 1, 0);
  t.is(logs.length, kept, 'every line of every kept file');
  t.true(nums[0]! > 1, 'the oldest lines were rotated away');
  t.deepEqual(
    nums,
    nums.map((_, i) => nums[0]! + i),
    'a contiguous run, oldest first',
  );
  t.is(await w.ok(['inspect', '-f', '{{index .HostConfig.LogConfig.Config "max-file"}}', 'rot']), '3');

  // One file: truncated in place.
  await w.ok([
    'run',
    '--name',
    'rot1',
    '--network',
    'none',
    '--log-opt',
    'max-size=2k',
    '--log-opt',
    'max-file=1',
    'busybox',
    'sh',
    '-c',
    script,
  ]);
  const one = await logFiles('rot1');
  t.deepEqual(one.files, ['container.log']);
  t.true(fs.statSync(path.join(one.dir, 'container.log')).size <= 2048);
});

test('log driver and option errors are one line, before anything is made', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [
      ['--log-driver', 'syslog'],
      /log driver "syslog" is not supported: tsnet keeps container logs in files \(use json-file, local or none\)/,
    ],
    [['--log-driver', 'asdf'], /logger: no log driver named 'asdf' is registered/],
    [['--log-opt', 'mode=fast'], /logger: logging mode not supported: fast/],
    [['--log-opt', 'max-size=lots'], /invalid log opt max-size "lots"/],
    [['--log-opt', 'colour=red'], /unknown log opt 'colour' for json-file log driver/],
  ];
  for (const [flags, re] of cases) {
    const r = await w.cli(['create', '--name', 'badlog', '--network', 'none', ...flags, 'busybox', 'true']);
    t.is(r.exitCode, 125, flags.join(' '));
    t.regex(r.stderr, re);
    t.is(r.stderr.split('\n').length, 2, 'one line');
  }
  t.is((await w.cli(['inspect', 'badlog'])).exitCode, 1, 'no container was made');
  await w.ok(['create', '--name', 'local1', '--network', 'none', '--log-driver', 'local', 'busybox', 'true']);
  t.is(
    await w.ok(['inspect', '-f', '{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config "max-size"}}', 'local1']),
    'local 20m',
  );
});

test('json-file takes max-file without max-size (no rotation, as Docker); none keeps no log and logs says so', async (t) => {
  await w.ok(['run', '--name', 'mf1', '--network', 'none', '--log-opt', 'max-file=100', 'busybox', 'echo', 'kept']);
  t.is(
    await w.ok(['inspect', '-f', '{{json .HostConfig.LogConfig}}', 'mf1']),
    '{"Type":"json-file","Config":{"max-file":"100"}}',
  );
  t.is(await w.ok(['logs', 'mf1']), 'kept');
  t.deepEqual((await logFiles('mf1')).files, ['container.log']);

  const out = await w.cli(['run', '--name', 'none1', '--network', 'none', '--log-driver', 'none', 'busybox', 'echo', 'gone']);
  t.is(out.exitCode, 0, out.stderr);
  t.is(out.stdout, 'gone\n', 'an attached client still gets the output');
  t.is(await w.ok(['inspect', '-f', '{{.HostConfig.LogConfig.Type}}|{{.LogPath}}', 'none1']), 'none|');
  const { dir } = await logFiles('none1');
  t.is(fs.readFileSync(path.join(dir, 'container.log'), 'utf8'), '', 'the supervisor wrote nothing');
  const logs = await w.cli(['logs', 'none1']);
  t.not(logs.exitCode, 0);
  t.regex(logs.stderr, /configured logging driver does not support reading/);
  t.is(logs.stderr.split('\n').length, 2, 'one line');
});

test('logs --details puts the attributes named by --log-opt labels/env before each line, as dockerd', async (t) => {
  const DOCKER = ['/usr/local/bin/docker', '/usr/bin/docker'].find((p) => fs.existsSync(p)) ?? 'docker';
  const docker = (args: string[]) =>
    run(DOCKER, ['-H', `unix://${w.socket}`, ...args], { env: cleanEnv({ DOCKER_CONFIG: path.join(w.dir, 'docker-config') }) });
  await w.ok([
    'run',
    '--name',
    'det1',
    '--network',
    'none',
    '--label',
    'app=web',
    '--label',
    'other=x',
    '-e',
    'TIER=front',
    '-e',
    'SECRET=s',
    '-e',
    'X_A=a b&c',
    '--log-opt',
    'labels=app,nosuch',
    '--log-opt',
    'env=TIER',
    '--log-opt',
    'env-regex=^X_',
    'busybox',
    'sh',
    '-c',
    'echo out1; echo err1 >&2',
  ]);
  // sorted by key (bytes: upper case first), query-escaped, then a space
  const prefix = 'TIER=front,X_A=a+b%26c,app=web ';
  for (const cli of [(a: string[]) => w.cli(a), docker]) {
    const r = await cli(['logs', '--details', 'det1']);
    t.is(r.exitCode, 0, r.stderr);
    t.is(r.stdout, `${prefix}out1\n`);
    t.is(r.stderr, `${prefix}err1\n`);
  }
  // after the timestamp, as dockerd
  t.regex((await w.cli(['logs', '--details', '-t', 'det1'])).stdout, /^\S+Z TIER=front,X_A=a\+b%26c,app=web out1\n$/);
  t.is(await w.ok(['logs', 'det1']), 'out1', 'without --details: the lines alone');
  // no attributes: a space alone (what dockerd prints)
  await w.ok(['run', '--name', 'det2', '--network', 'none', '--label', 'app=web', 'busybox', 'echo', 'plain']);
  t.is((await w.cli(['logs', '--details', 'det2'])).stdout, ' plain\n');
  // a regex outside what the linear matcher takes: one line, nothing streamed
  await w.ok(['create', '--name', 'det3', '--network', 'none', '--log-opt', 'env-regex=(a+)+$', 'busybox', 'true']);
  const bad = await w.cli(['logs', '--details', 'det3']);
  t.is(bad.exitCode, 125);
  t.is(bad.stderr.trim().split('\n').length, 1, bad.stderr);
});

test('logs --until shows only what came before', async (t) => {
  await w.ok(['run', '--name', 'until1', '--network', 'none', 'busybox', 'sh', '-c', 'echo first; sleep 1; echo second']);
  const stamped = (await w.ok(['logs', '-t', 'until1'])).split('\n');
  t.is(stamped.length, 2);
  const firstTime = stamped[0]!.split(' ')[0]!;
  t.is(await w.ok(['logs', '--until', firstTime, 'until1']), 'first');
  t.is(await w.ok(['logs', '--since', stamped[1]!.split(' ')[0]!, 'until1']), 'second');
  const bad = await w.cli(['logs', '--until', 'yesterday', 'until1']);
  t.is(bad.exitCode, 125);
});

test.serial(
  'logs of a 60 MB log stream it: the daemon does not hold the log (its peak RSS grows by < 200 MB), the bytes all arrive',
  async (t) => {
    const peak = (): number =>
      Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${w.daemon!.pid}/status`, 'utf8'))?.[1]) / 1024;
    const id = await w.ok(['run', '-d', '--network', 'none', 'busybox', 'sh', '-c', 'head -c 45000000 /dev/zero | base64']);
    t.teardown(() => w.cli(['rm', '-f', id]));
    await w.ok(['wait', id]);
    const before = peak();
    // through node (TSNET_CLI_DIRECT=0): the daemon serves the route only, not the command too.
    // Holding the log took +400 MB for these 60 MB (+900 MB for 135); streamed, the peak grows by
    // what the garbage collector lets pile up between major collections: 12 MB on a quiet
    // machine, up to ~90 MB with the whole suite running beside it.
    const r = await run('sh', ['-c', `${path.resolve('bin/tsnet')} -H unix://${w.socket} logs ${id} | wc -c`], {
      timeoutMs: 120_000,
      env: cleanEnv({ TSNET_CLI_DIRECT: '0' }),
    });
    t.is(r.stdout.trim(), String(60_000_000 + Math.ceil(60_000_000 / 76)), 'every line (76 characters and a newline)');
    const grew = peak() - before;
    t.log(`peak RSS grew by ${grew.toFixed(1)} MB`);
    t.true(grew < 200, `the daemon's peak RSS grew by ${grew.toFixed(0)} MB`);
  },
);
