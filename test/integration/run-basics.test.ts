/**
 * `tsnet run` end to end with a real daemon, real tsnet-init and real namespaces: PID 1,
 * hostname, /proc view, mount isolation, exit codes, env, user, workdir, volumes, errors.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { createWorld, eventually, type World } from '../helpers/world.js';

let w: World;
test.before(async () => {
  w = await createWorld();
});
test.after.always(async () => {
  await w?.teardown();
});

test('the command is PID 1 and sees only its own processes', async (t) => {
  const r = await w.cli([
    'run',
    '--rm',
    '--network',
    'none',
    'busybox',
    'sh',
    '-c',
    'echo $$; ls /proc | grep -c "^[0-9]"; cat /proc/1/cmdline | tr "\\0" " "',
  ]);
  t.is(r.exitCode, 0, r.stderr);
  const [pid, count, cmdline] = r.stdout.trim().split('\n');
  t.is(pid, '1');
  t.true(Number(count) <= 4, `container sees ${count} pids`);
  t.is(cmdline?.trim(), 'sh -c echo $$; ls /proc | grep -c "^[0-9]"; cat /proc/1/cmdline | tr "\\0" " "');
});

test('hostname defaults to the short id, --hostname sets it, /etc/hostname agrees', async (t) => {
  const r = await w.cli([
    'run',
    '--rm',
    '--network',
    'none',
    '--hostname',
    'web-1',
    'busybox',
    'sh',
    '-c',
    'hostname; cat /etc/hostname',
  ]);
  t.is(r.exitCode, 0, r.stderr);
  t.deepEqual(r.stdout.trim().split('\n'), ['web-1', 'web-1']);
  const d = await w.cli(['run', '-d', '--network', 'none', 'busybox', 'sleep', '100']);
  t.is(d.exitCode, 0, d.stderr);
  const id = d.stdout.trim();
  t.regex(id, /^[0-9a-f]{64}$/);
  const h = await w.cli(['exec', id, 'hostname']);
  t.is(h.stdout.trim(), id.slice(0, 12));
  await w.cli(['rm', '-f', id]);
});

test('exit codes pass through', async (t) => {
  const r = await w.cli(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'exit 7']);
  t.is(r.exitCode, 7);
  const z = await w.cli(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'exit 255']);
  t.is(z.exitCode, 255);
  // a PID 1 killed by a signal from outside gives 128+signal
  const d = await w.cli(['run', '-d', '--network', 'none', 'busybox', 'sleep', '1000']);
  const id = d.stdout.trim();
  await w.cli(['kill', '-s', 'KILL', id]);
  t.is((await w.cli(['wait', id])).stdout.trim(), '137');
  await w.cli(['rm', id]);
});

test('stdout and stderr are kept apart; stdin is forwarded with -i', async (t) => {
  const r = await w.cli(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'echo out; echo err >&2']);
  t.is(r.stdout, 'out\n');
  t.is(r.stderr, 'err\n');
  const i = await w.cli(['run', '--rm', '-i', '--network', 'none', 'busybox', 'sh', '-c', 'tr a-z A-Z'], { input: 'hello\n' });
  t.is(i.exitCode, 0, i.stderr);
  t.is(i.stdout, 'HELLO\n');
});

test('mounts made in a container stay in it; the rootfs is an overlay of the image', async (t) => {
  const name = `mnt-${w.id}`;
  const r = await w.cli([
    'run',
    '--rm',
    '--network',
    'none',
    '--name',
    name,
    'busybox',
    'sh',
    '-c',
    'mkdir -p /mnt/x && mount -t tmpfs none /mnt/x',
  ]);
  // mount needs CAP_SYS_ADMIN, which Docker's default set does not have
  t.not(r.exitCode, 0);
  const p = await w.cli([
    'run',
    '--rm',
    '--privileged',
    '--network',
    'none',
    'busybox',
    'sh',
    '-c',
    'mkdir -p /mnt/x && mount -t tmpfs none /mnt/x && grep -c " /mnt/x " /proc/self/mountinfo; grep " / " /proc/self/mountinfo | grep -c overlay',
  ]);
  t.is(p.exitCode, 0, p.stderr);
  t.deepEqual(p.stdout.trim().split('\n'), ['1', '1']);
  const host = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  t.false(host.includes('/mnt/x'));
  t.false(host.includes(path.join(w.root, 'containers')), 'the container rootfs is not mounted on the host');
});

test('env, --env-file, workdir and user', async (t) => {
  const envFile = path.join(w.dir, 'env.list');
  fs.writeFileSync(envFile, '# comment\nFROM_FILE=yes\n');
  const r = await w.cli([
    'run',
    '--rm',
    '--network',
    'none',
    '-e',
    'A=1',
    '--env-file',
    envFile,
    '-w',
    '/tmp/work',
    '-u',
    'nobody',
    'busybox',
    'sh',
    '-c',
    'echo $A $FROM_FILE; pwd; id -u; echo $PATH',
  ]);
  t.is(r.exitCode, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.is(lines[0], '1 yes');
  t.is(lines[1], '/tmp/work');
  t.is(lines[2], '65534');
  t.regex(lines[3] ?? '', /\/bin/);
});

test('volumes: read-write and read-only binds', async (t) => {
  const host = path.join(w.dir, `vol-${w.id}`);
  fs.mkdirSync(host);
  fs.writeFileSync(path.join(host, 'in.txt'), 'from host\n');
  const r = await w.cli([
    'run',
    '--rm',
    '--network',
    'none',
    '-v',
    `${host}:/data`,
    'busybox',
    'sh',
    '-c',
    'cat /data/in.txt; echo from container > /data/out.txt',
  ]);
  t.is(r.exitCode, 0, r.stderr);
  t.is(r.stdout, 'from host\n');
  t.is(fs.readFileSync(path.join(host, 'out.txt'), 'utf8'), 'from container\n');
  const ro = await w.cli([
    'run',
    '--rm',
    '--network',
    'none',
    '-v',
    `${host}:/data:ro`,
    'busybox',
    'sh',
    '-c',
    'echo x > /data/nope',
  ]);
  t.not(ro.exitCode, 0);
  t.false(fs.existsSync(path.join(host, 'nope')));
});

test("capabilities are Docker's default set and no_new_privs is on", async (t) => {
  const r = await w.cli([
    'run',
    '--rm',
    '--network',
    'none',
    'busybox',
    'sh',
    '-c',
    'grep -E "^(CapEff|NoNewPrivs)" /proc/self/status',
  ]);
  t.is(r.exitCode, 0, r.stderr);
  t.regex(r.stdout, /CapEff:\s+00000000a80425fb/);
  t.regex(r.stdout, /NoNewPrivs:\s+1/);
});

// serial: it checks that it leaves no container record behind, and the other tests' --rm
// containers are unlinked a moment after their run answers (decision 31)
test.serial('errors: unknown image, duplicate name, bad memory, missing command, not executable', async (t) => {
  const records = () => (fs.existsSync(path.join(w.root, 'containers')) ? fs.readdirSync(path.join(w.root, 'containers')) : []);
  const before = new Set(records());
  // --pull never: without it the CLI would try to pull nosuchimage from Docker Hub, as docker does.
  const img = await w.cli(['run', '--rm', '--pull', 'never', '--network', 'none', 'nosuchimage', 'true']);
  t.is(img.exitCode, 125);
  t.regex(img.stderr, /No such image: nosuchimage/);
  t.is(img.stderr.trim().split('\n').length, 1);

  const name = `dup-${w.id}`;
  t.is((await w.cli(['create', '--network', 'none', '--name', name, 'busybox', 'true'])).exitCode, 0);
  const dup = await w.cli(['create', '--network', 'none', '--name', name, 'busybox', 'true']);
  t.is(dup.exitCode, 125);
  t.regex(dup.stderr, /already in use/);
  await w.cli(['rm', name]);

  const mem = await w.cli(['run', '--rm', '--network', 'none', '--memory', '64x', 'busybox', 'true']);
  t.is(mem.exitCode, 125);
  t.regex(mem.stderr, /64x/);

  const missing = await w.cli(['run', '--rm', '--network', 'none', 'busybox', 'nosuchcommand']);
  t.is(missing.exitCode, 127);
  t.regex(missing.stderr, /nosuchcommand/);

  const notExec = await w.cli(['run', '--rm', '--network', 'none', 'busybox', '/etc/passwd']);
  t.is(notExec.exitCode, 126);
  // nothing half-made is left behind (the --rm containers are gone too)
  const left = () => records().filter((id) => !before.has(id));
  await eventually(() => left().length === 0, 5000);
  t.deepEqual(left(), []);
});

test('the CLI says clearly when the daemon is not running', async (t) => {
  const r = await w.cli(['-H', `unix://${w.dir}/nothing.sock`, 'ps']);
  t.is(r.exitCode, 125);
  t.regex(r.stderr, /cannot reach tsnetd at .*nothing\.sock: is it running\?/);
});
