/**
 * Create options that are kernel settings of the container: --ulimit, --sysctl, --shm-size, and
 * the cgroup file system at /sys/fs/cgroup — each read back from inside a real container, with
 * the tsnet CLI and with the stock docker CLI.
 */
import test from 'ava';
import fs from 'node:fs';
import { createWorld, type World } from '../helpers/world.js';
import { api } from '../helpers/api.js';
import { stockDocker } from '../helpers/stock-docker.js';

let w: World;
let docker: ReturnType<typeof stockDocker>;
test.before(async () => {
  w = await createWorld();
  docker = stockDocker(w);
});
test.after.always(async () => {
  await w?.teardown();
});

/** A create through the API alone (no CLI in between): `busybox true` with this HostConfig. */
const createWith = (HostConfig: Record<string, unknown>) =>
  api(w.socket, { method: 'POST', path: '/containers/create', body: { Image: 'busybox', Cmd: ['true'], HostConfig } });

const sh = (flags: string[], script: string) => w.cli(['run', '--rm', ...flags, 'busybox', 'sh', '-c', script]);

test('--ulimit sets soft and hard limits of the container and of its exec processes', async (t) => {
  const r = await sh(
    ['--network', 'none', '--ulimit', 'nofile=512:1024', '--ulimit', 'core=-1', '--ulimit', 'nproc=300'],
    'ulimit -Sn; ulimit -Hn; ulimit -Sc; ulimit -Hc; ulimit -Su',
  );
  t.is(r.exitCode, 0, r.stderr);
  t.deepEqual(r.stdout.trim().split('\n'), ['512', '1024', 'unlimited', 'unlimited', '300']);

  const name = `ul-${w.id}`;
  const d = await w.cli([
    'run',
    '-d',
    '--name',
    name,
    '--network',
    'none',
    '--ulimit',
    'nofile=100:200',
    'busybox',
    'sleep',
    '1000',
  ]);
  t.is(d.exitCode, 0, d.stderr);
  const e = await w.cli(['exec', name, 'sh', '-c', 'ulimit -Sn; ulimit -Hn']);
  t.is(e.stdout, '100\n200\n', e.stderr);
  const [c] = JSON.parse((await w.cli(['inspect', name])).stdout);
  t.deepEqual(c.HostConfig.Ulimits, [{ Name: 'nofile', Soft: 100, Hard: 200 }]);
  await w.cli(['rm', '-f', name]);
});

test('--ulimit: an unknown name or soft > hard is refused at create with one line; above the hard limit fails the start', async (t) => {
  const unknown = await sh(['--network', 'none', '--ulimit', 'bogus=1'], 'true');
  t.not(unknown.exitCode, 0);
  t.regex(unknown.stderr, /invalid ulimit type: "bogus"/);
  t.is(unknown.stderr.trim().split('\n').length, 1, unknown.stderr);
  const inverted = await sh(['--network', 'none', '--ulimit', 'nofile=20:10'], 'true');
  t.not(inverted.exitCode, 0);
  t.regex(inverted.stderr, /soft limit must be less than or equal to hard limit/);
  // the API refuses as well (no CLI in between)
  const res = await createWith({ NetworkMode: 'none', Ulimits: [{ Name: 'nofile', Soft: 10, Hard: 5 }] });
  t.is(res.status, 400, res.text);
  // the daemon has no CAP_SYS_RESOURCE here (the machine's hard nofile is its own): the kernel refuses
  const hard = Number(fs.readFileSync('/proc/self/limits', 'utf8').match(/Max open files\s+\d+\s+(\d+)/)?.[1]);
  const over = await sh(['--network', 'none', '--ulimit', `nofile=${hard + 1}:${hard + 1}`], 'true');
  const capEff = BigInt(`0x${fs.readFileSync('/proc/self/status', 'utf8').match(/CapEff:\s+([0-9a-f]+)/)?.[1] ?? '0'}`);
  const CAP_SYS_RESOURCE = 24n;
  if ((capEff >> CAP_SYS_RESOURCE) & 1n) t.is(over.exitCode, 0, over.stderr);
  else {
    t.not(over.exitCode, 0);
    t.regex(over.stderr, /set ulimit nofile=\d+:\d+: Operation not permitted/);
    t.is(over.stderr.trim().split('\n').length, 1, over.stderr);
  }
});

test('--sysctl writes net.* in the container netns and IPC ones in its IPC namespace, read back inside', async (t) => {
  const r = await sh(
    [
      '--sysctl',
      'net.ipv4.ip_unprivileged_port_start=80',
      '--sysctl',
      'net.ipv4.ip_local_port_range=20000 30000',
      '--sysctl',
      'net.ipv4.conf.eth0.route_localnet=1',
      '--sysctl',
      'kernel.shmmax=123456789',
      '--sysctl',
      'fs.mqueue.msg_max=42',
    ],
    'cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/net/ipv4/ip_local_port_range ' +
      '/proc/sys/net/ipv4/conf/eth0/route_localnet /proc/sys/kernel/shmmax /proc/sys/fs/mqueue/msg_max',
  );
  t.is(r.exitCode, 0, r.stderr);
  t.deepEqual(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => l.replace(/\s+/g, ' ')),
    ['80', '20000 30000', '1', '123456789', '42'],
  );
  // the host (the world's netns, the machine's IPC namespace) kept its own values
  t.not(fs.readFileSync('/proc/sys/kernel/shmmax', 'utf8').trim(), '123456789');
  const hostPort = await w.inHost(['cat', '/proc/sys/net/ipv4/ip_unprivileged_port_start']);
  t.is(hostPort.stdout.trim(), '1024', hostPort.stderr);
  // a container without --sysctl has the defaults (no other container's values)
  const plain = await sh([], 'cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shmmax');
  t.deepEqual(plain.stdout.trim().split('\n')[0], '1024', plain.stderr);
  t.not(plain.stdout.trim().split('\n')[1], '123456789');
});

test('--sysctl on a --rm container of a user network (prelaunch) and after a restart', async (t) => {
  t.is((await w.cli(['network', 'create', `sysnet-${w.id}`])).exitCode, 0);
  const r = await sh(
    ['--network', `sysnet-${w.id}`, '--sysctl', 'net.ipv6.conf.all.disable_ipv6=1', '--sysctl', 'net.core.somaxconn=77'],
    'cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6 /proc/sys/net/core/somaxconn',
  );
  t.is(r.exitCode, 0, r.stderr);
  t.deepEqual(r.stdout.trim().split('\n'), ['1', '77']);
  // netns-wide keys only: prelaunched (written while the endpoints are made), the same values
  const pre = await sh(['--network', `sysnet-${w.id}`, '--sysctl', 'net.core.somaxconn=55'], 'cat /proc/sys/net/core/somaxconn');
  t.is(pre.stdout.trim(), '55', pre.stderr);
  const name = `sysr-${w.id}`;
  t.is(
    (
      await w.cli([
        'run',
        '-d',
        '--name',
        name,
        '--network',
        `sysnet-${w.id}`,
        '--sysctl',
        'net.core.somaxconn=99',
        'busybox',
        'sleep',
        '1000',
      ])
    ).exitCode,
    0,
  );
  t.is((await w.cli(['restart', '-t', '0', name])).exitCode, 0);
  const e = await w.cli(['exec', name, 'cat', '/proc/sys/net/core/somaxconn']);
  t.is(e.stdout.trim(), '99', e.stderr);
  await w.cli(['rm', '-f', name]);
  await w.cli(['network', 'rm', `sysnet-${w.id}`]);
});

test('--sysctl: keys outside the container namespaces and hostile input are refused at create with one line', async (t) => {
  const cases: Array<[flags: string[], message: RegExp]> = [
    [['--sysctl', 'kernel.pid_max=100'], /sysctl "kernel.pid_max" is not allowed: only namespaced ones/],
    [['--sysctl', 'vm.swappiness=1'], /is not allowed: only namespaced ones/],
    [['--sysctl', 'kernel.hostname=x'], /not allowed: use --hostname/],
    [['--sysctl', 'kernel.domainname=x'], /not allowed: use --domainname/],
    [['--sysctl', 'net/../../kernel/pid_max=1'], /invalid sysctl key/],
    [['--sysctl', 'net.ipv4..ip_forward=1'], /invalid sysctl key/],
    [['--network', 'host', '--sysctl', 'net.core.somaxconn=1'], /not allowed with --network host/],
  ];
  for (const [flags, message] of cases) {
    const r = await sh(flags, 'true');
    t.not(r.exitCode, 0, flags.join(' '));
    t.regex(r.stderr, message, flags.join(' '));
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  for (const Sysctls of [
    { 'net.ipv4.conf.all.forwarding': '1\nkernel.pid_max=1' },
    { 'net.core.somaxconn': 'x'.repeat(5000) },
    { 'kernel.shmmax': '1', 'net.core.somaxconn\n': '1' },
  ]) {
    const res = await createWith({ NetworkMode: 'none', Sysctls });
    t.is(res.status, 400, res.text);
  }
  const ipcHost = await createWith({ NetworkMode: 'none', IpcMode: 'host', Sysctls: { 'kernel.shmmax': '1' } });
  t.is(ipcHost.status, 400, ipcHost.text);
  // --network container:X of a host-network X shares the host's namespace: refused at its start
  const hostC = `hostc-${w.id}`;
  t.is((await w.cli(['run', '-d', '--name', hostC, '--network', 'host', 'busybox', 'sleep', '1000'])).exitCode, 0);
  const before = (await w.inHost(['cat', '/proc/sys/net/core/somaxconn'])).stdout.trim();
  const shared = await sh(['--network', `container:${hostC}`, '--sysctl', 'net.core.somaxconn=7'], 'true');
  t.not(shared.exitCode, 0);
  t.regex(shared.stderr, /sysctl "net.core.somaxconn" is not allowed in the host's network namespace/);
  t.is((await w.inHost(['cat', '/proc/sys/net/core/somaxconn'])).stdout.trim(), before);
  t.not(before, '7');
  await w.cli(['rm', '-f', hostC]);
  // a huge number is the kernel's to refuse: the start fails with its error, nothing is left
  const huge = await sh(
    ['--name', `huge-${w.id}`, '--network', 'none', '--sysctl', 'net.core.somaxconn=99999999999999999999'],
    'true',
  );
  t.not(huge.exitCode, 0);
  t.regex(huge.stderr, /write sysctl net.core.somaxconn=9+: Invalid argument/);
  t.not((await w.cli(['inspect', `huge-${w.id}`])).exitCode, 0, 'the --rm container is gone');
});

test('--shm-size sizes /dev/shm (default 64 MiB, shown in inspect as Docker does); --tmpfs and --mount tmpfs sizes hold', async (t) => {
  const df = (flags: string[], dir: string) => sh(['--network', 'none', ...flags], `df -k ${dir} | tail -1`);
  const dflt = await df([], '/dev/shm');
  t.regex(dflt.stdout, /^shm\s+65536\s/, dflt.stdout);
  const big = await df(['--shm-size', '256m'], '/dev/shm');
  t.regex(big.stdout, /^shm\s+262144\s/, big.stdout + big.stderr);
  const tmpfs = await df(['--tmpfs', '/scratch:size=10m'], '/scratch');
  t.regex(tmpfs.stdout, /^tmpfs\s+10240\s/, tmpfs.stdout + tmpfs.stderr);
  const mount = await df(['--mount', 'type=tmpfs,target=/m,tmpfs-size=2097152'], '/m');
  t.regex(mount.stdout, /^tmpfs\s+2048\s/, mount.stdout + mount.stderr);

  const name = `shm-${w.id}`;
  t.is((await w.cli(['create', '--name', name, '--network', 'none', 'busybox', 'true'])).exitCode, 0);
  const [c] = JSON.parse((await w.cli(['inspect', name])).stdout);
  t.is(c.HostConfig.ShmSize, 67108864);
  await w.cli(['rm', name]);
  const neg = await createWith({ NetworkMode: 'none', ShmSize: -1 });
  t.is(neg.status, 400, neg.text);
});

test('/sys/fs/cgroup shows the container its own cgroups, read-only; --memory is its memory limit', async (t) => {
  const v2 = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
  const limit = v2 ? '/sys/fs/cgroup/memory.max' : '/sys/fs/cgroup/memory/memory.limit_in_bytes';
  const r = await sh(
    ['--network', 'none', '--memory', '64m', '--pids-limit', '50'],
    `cat ${limit}; cat ${v2 ? '/sys/fs/cgroup/pids.max' : '/sys/fs/cgroup/pids/pids.max'}; ` +
      'grep " /sys/fs/cgroup" /proc/self/mountinfo | cut -d" " -f5,6; ls /sys/fs/cgroup; ' +
      `touch /sys/fs/cgroup/x 2>&1; echo 1 > ${limit} 2>&1; echo done`,
  );
  t.is(r.exitCode, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.is(lines[0], String(64 * 1024 * 1024), r.stdout);
  t.is(lines[1], '50', r.stdout);
  const mounts = lines.filter((l) => l.startsWith('/sys/fs/cgroup'));
  t.true(mounts.length > 0, r.stdout);
  for (const m of mounts) t.regex(m, /\sro,/, r.stdout);
  t.regex(r.stdout, /Read-only file system/);
  if (!v2) t.true(lines.includes('memory') && lines.includes('pids'), r.stdout);
  // the root of each mount is the container's own cgroup: no other container's dirs in it
  const other = await w.cli(['run', '-d', '--network', 'none', '--memory', '32m', 'busybox', 'sleep', '1000']);
  const mine = await sh(['--network', 'none', '--memory', '64m'], `ls ${v2 ? '/sys/fs/cgroup' : '/sys/fs/cgroup/memory'}`);
  t.false(mine.stdout.includes(other.stdout.trim()), mine.stdout);
  t.notRegex(mine.stdout, /^[0-9a-f]{64}$/m, mine.stdout);
  await w.cli(['rm', '-f', other.stdout.trim()]);
  // privileged: read-write, as Docker
  const priv = await sh(
    ['--network', 'none', '--memory', '64m', '--privileged'],
    'grep " /sys/fs/cgroup/memory " /proc/self/mountinfo',
  );
  if (!v2) t.regex(priv.stdout, / rw,/, priv.stdout + priv.stderr);
  else t.is(priv.exitCode, 1);
});

test("--oom-score-adj is the container's and its exec processes' oom_score_adj; lowering it needs CAP_SYS_RESOURCE", async (t) => {
  const name = `oom-${w.id}`;
  const d = await w.cli(['run', '-d', '--name', name, '--network', 'none', '--oom-score-adj', '500', 'busybox', 'sleep', '1000']);
  t.is(d.exitCode, 0, d.stderr);
  t.is((await w.cli(['exec', name, 'cat', '/proc/1/oom_score_adj'])).stdout.trim(), '500');
  t.is((await w.cli(['exec', name, 'cat', '/proc/self/oom_score_adj'])).stdout.trim(), '500');
  await w.cli(['rm', '-f', name]);
  const viaDocker = await docker([
    'run',
    '--rm',
    '--network',
    'none',
    '--oom-score-adj',
    '300',
    'busybox',
    'cat',
    '/proc/self/oom_score_adj',
  ]);
  t.is(viaDocker.stdout.trim(), '300', viaDocker.stderr);
  const over = await createWith({ NetworkMode: 'none', OomScoreAdj: 1001 });
  t.is(over.status, 400, over.text);
  const capEff = BigInt(`0x${fs.readFileSync('/proc/self/status', 'utf8').match(/CapEff:\s+([0-9a-f]+)/)?.[1] ?? '0'}`);
  const low = await sh(['--network', 'none', '--oom-score-adj', '-500'], 'cat /proc/self/oom_score_adj');
  if ((capEff >> 24n) & 1n) t.is(low.stdout.trim(), '-500', low.stderr);
  else {
    t.not(low.exitCode, 0);
    t.regex(low.stderr, /set oom_score_adj -500: Permission denied/);
  }
});

test('--ipc host shares the host IPC namespace and /dev/shm; none has no /dev/shm; container:X is refused, not ignored', async (t) => {
  const hostIpc = fs.readlinkSync('/proc/self/ns/ipc');
  const marker = `tsnet-test-shm-${w.id}`;
  fs.writeFileSync(`/dev/shm/${marker}`, 'x');
  t.teardown(() => fs.rmSync(`/dev/shm/${marker}`, { force: true }));
  const host = await docker([
    'run',
    '--rm',
    '--network',
    'none',
    '--ipc',
    'host',
    'busybox',
    'sh',
    '-c',
    `readlink /proc/self/ns/ipc; ls /dev/shm/${marker}`,
  ]);
  t.is(host.exitCode, 0, host.stderr);
  t.deepEqual(host.stdout.trim().split('\n'), [hostIpc, `/dev/shm/${marker}`]);
  const own = await sh(['--network', 'none'], 'readlink /proc/self/ns/ipc; ls /dev/shm');
  t.not(own.stdout.split('\n')[0], hostIpc);
  t.notRegex(own.stdout, new RegExp(marker));
  const none = await sh(['--network', 'none', '--ipc', 'none'], 'test -e /dev/shm && echo shm; readlink /proc/self/ns/ipc');
  t.is(none.stdout.trim() === hostIpc, false, none.stdout);
  t.notRegex(none.stdout, /^shm$/m);
  const joined = await sh(['--network', 'none', '--ipc', 'container:other'], 'true');
  t.not(joined.exitCode, 0);
  t.regex(joined.stderr, /IPC mode "container:other" is not supported/);
  const bogus = await createWith({ NetworkMode: 'none', IpcMode: 'bogus' });
  t.is(bogus.status, 400, bogus.text);
  // an IPC sysctl would be the host's: refused at create (and by tsnet-init)
  const sys = await sh(['--network', 'none', '--ipc', 'host', '--sysctl', 'kernel.shmmax=1'], 'true');
  t.regex(sys.stderr, /not allowed with --ipc host/);
});

test('the stock docker CLI: docker run --ulimit --sysctl --shm-size against tsnetd', async (t) => {
  const r = await docker([
    'run',
    '--rm',
    '--ulimit',
    'nofile=256:512',
    '--sysctl',
    'net.ipv4.ip_unprivileged_port_start=8',
    '--sysctl',
    'kernel.msgmax=4242',
    '--shm-size',
    '128m',
    'busybox',
    'sh',
    '-c',
    'ulimit -Sn; ulimit -Hn; cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/msgmax; df -k /dev/shm | tail -1',
  ]);
  t.is(r.exitCode, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.deepEqual(lines.slice(0, 4), ['256', '512', '8', '4242']);
  t.regex(lines[4] ?? '', /^shm\s+131072\s/);
  const bad = await docker(['run', '--rm', '--sysctl', 'kernel.pid_max=1', 'busybox', 'true']);
  t.not(bad.exitCode, 0);
  t.regex(bad.stderr, /kernel.pid_max/);
});
