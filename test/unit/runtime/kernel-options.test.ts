/** --ulimit, --sysctl, --shm-size: the checks at create, the CLI's parsing, and tsnet-init's spec records. */
import test from 'ava';
import { buildRecord, type ImageInfo } from '../../../src/runtime/container/create-request.js';
import { checkIpcMode } from '../../../src/runtime/container/ipc-mode.js';
import { prelaunchable } from '../../../src/runtime/container/prelaunch.js';
import { runSpec, execSpec } from '../../../src/runtime/container/spec-builder.js';
import { checkSysctls } from '../../../src/runtime/container/sysctls.js';
import { checkUlimits, rlimitRecord } from '../../../src/runtime/container/ulimits.js';
import type { ContainerRecord, HostConfig } from '../../../src/runtime/container/types.js';
import { parseSysctls } from '../../../src/cli/parse/kv.js';
import { parseUlimit } from '../../../src/cli/parse/ulimit.js';

const image: ImageInfo = { id: `sha256:${'a'.repeat(64)}`, config: { Cmd: ['true'] } };
const record = (hc: HostConfig): ContainerRecord => buildRecord({ HostConfig: hc }, 'x', image);

function spec(hc: HostConfig): Array<[string, string]> {
  return runSpec({
    rec: record(hc),
    rootfs: '/r',
    lowerDirs: ['/l'],
    upperDir: '/u',
    workDir: '/w',
    netnsPath: '/n',
    shareHostUts: false,
    etcFiles: { hosts: '/h', hostname: '/hn', resolvConf: '/rc' },
    placement: { join: [], devices: 'none' },
    files: {},
    devices: [],
    logPath: '/log',
    mounts: [],
  });
}
const keysOf = (records: Array<[string, string]>, key: string) => records.filter(([k]) => k === key).map(([, v]) => v);

test('ulimits: Docker names, soft <= hard, -1 and int64 max are unlimited, the last of a name wins', (t) => {
  t.deepEqual(
    checkUlimits([
      { Name: 'nofile', Soft: 10, Hard: 20 },
      { Name: 'core', Soft: -1, Hard: -1 },
      { Name: 'nofile', Soft: 30, Hard: 40 },
      { Name: 'memlock', Soft: 2 ** 63, Hard: 2 ** 63 },
    ]).map(rlimitRecord),
    ['core unlimited unlimited', 'nofile 30 40', 'memlock unlimited unlimited'],
  );
  t.deepEqual(checkUlimits([{ Name: 'nproc', Soft: 5, Hard: -1 }]).map(rlimitRecord), ['nproc 5 unlimited']);
  t.throws(() => checkUlimits([{ Name: 'bogus', Soft: 1, Hard: 1 }]), { message: /invalid ulimit type: "bogus"/ });
  t.throws(() => checkUlimits([{ Name: 'nofile', Soft: 2, Hard: 1 }]), { message: /soft limit must be less than or equal/ });
  t.throws(() => checkUlimits([{ Name: 'nofile', Soft: -1, Hard: 1 }]), { message: /soft limit must be less than or equal/ });
  t.throws(() => checkUlimits([{ Name: 'nofile', Soft: -2, Hard: 1 }]), { message: /not a number >= 0/ });
  t.throws(() => checkUlimits([{ Name: 'nofile', Soft: 1.5, Hard: 2 }]), { message: /not a number >= 0/ });
  t.throws(() => checkUlimits('nofile'), { message: /must be a list/ });
  t.throws(() => checkUlimits([null]), { message: /invalid ulimit type/ });
});

test('sysctls: only namespaced keys, not into the host network or IPC namespace, one-line values', (t) => {
  t.deepEqual(
    checkSysctls({ Sysctls: { 'net.core.somaxconn': '1024', 'kernel.sem': '250 32000\t32 128', 'fs.mqueue.msg_max': '20' } }),
    [
      ['net.core.somaxconn', '1024'],
      ['kernel.sem', '250 32000\t32 128'],
      ['fs.mqueue.msg_max', '20'],
    ],
  );
  t.deepEqual(checkSysctls({ NetworkMode: 'none', Sysctls: { 'net.ipv4.conf.eth0-x_1.rp_filter': '0' } }).length, 1);
  const bad: Array<[HostConfig, RegExp]> = [
    [{ Sysctls: { 'kernel.pid_max': '1' } }, /not allowed: only namespaced/],
    [{ Sysctls: { 'kernel.shmmaxx': '1' } }, /not allowed: only namespaced/],
    [{ Sysctls: { 'kernel.hostname': 'a' } }, /use --hostname/],
    [{ Sysctls: { 'kernel.domainname': 'a' } }, /use --domainname/],
    [{ Sysctls: { 'net/ipv4/ip_forward': '1' } }, /invalid sysctl key/],
    [{ Sysctls: { 'net.ipv4..ip_forward': '1' } }, /invalid sysctl key/],
    [{ Sysctls: { 'net.ipv4.ip_forward.': '1' } }, /invalid sysctl key/],
    [{ Sysctls: { net: '1' } }, /invalid sysctl key/],
    [{ Sysctls: { 'net.core.somaxconn\n': '1' } }, /invalid sysctl key/],
    [{ Sysctls: { 'net.core.somaxconn': '1\nkernel.pid_max=1' } }, /one line/],
    [{ Sysctls: { 'net.core.somaxconn': 'x'.repeat(4097) } }, /one line/],
    [{ Sysctls: { 'net.core.somaxconn': 5 as unknown as string } }, /one line/],
    [{ NetworkMode: 'host', Sysctls: { 'net.core.somaxconn': '1' } }, /with --network host/],
    [{ IpcMode: 'host', Sysctls: { 'kernel.shmmax': '1' } }, /with --ipc host/],
    [{ Sysctls: ['net.core.somaxconn=1'] as unknown as Record<string, string> }, /must be a map/],
  ];
  for (const [hc, message] of bad) t.throws(() => checkSysctls(hc), { message }, JSON.stringify(hc));
  t.notThrows(() => checkSysctls({ NetworkMode: 'host', Sysctls: { 'kernel.shmmax': '1' } }));
});

test('create: ShmSize 0 or none is stored as 64 MiB, a negative one is refused; the checks run at create', (t) => {
  t.is(record({}).hostConfig.ShmSize, 67108864);
  t.is(record({ ShmSize: 0 }).hostConfig.ShmSize, 67108864);
  t.is(record({ ShmSize: 1 << 28 }).hostConfig.ShmSize, 1 << 28);
  t.throws(() => record({ ShmSize: -1 }), { message: /can not be less than 0/ });
  t.throws(() => record({ Ulimits: [{ Name: 'x', Soft: 1, Hard: 1 }] }), { message: /invalid ulimit type/ });
  t.throws(() => record({ Sysctls: { 'vm.swappiness': '1' } }), { message: /not allowed/ });
});

test('spec: rlimit for run and exec, sysctl and shm_size for run; nothing for a container that sets none', (t) => {
  const plain = spec({});
  for (const k of ['rlimit', 'sysctl', 'shm_size']) t.deepEqual(keysOf(plain, k), [], k);
  const s = spec({
    Ulimits: [{ Name: 'nofile', Soft: 1, Hard: 2 }],
    Sysctls: { 'net.core.somaxconn': '7', 'kernel.shmmax': '8' },
    ShmSize: 1 << 27,
  });
  t.deepEqual(keysOf(s, 'rlimit'), ['nofile 1 2']);
  t.deepEqual(keysOf(s, 'sysctl'), ['net.core.somaxconn\t7', 'kernel.shmmax\t8']);
  t.deepEqual(keysOf(s, 'shm_size'), [String(1 << 27)]);
  const e = execSpec({
    rec: record({ Ulimits: [{ Name: 'nproc', Soft: 3, Hard: 3 }], Sysctls: { 'net.core.somaxconn': '7' }, OomScoreAdj: -5 }),
    targetPid: 5,
    argv: ['sh'],
    env: [],
    user: '',
    cwd: '/',
    tty: false,
    stdin: false,
    privileged: false,
    placement: { join: [], devices: 'none' },
    files: {},
  });
  t.deepEqual(keysOf(e, 'rlimit'), ['nproc 3 3']);
  t.deepEqual(keysOf(spec({ OomScoreAdj: 500 }), 'oom_score_adj'), ['500']);
  t.deepEqual(keysOf(spec({ OomScoreAdj: 0 }), 'oom_score_adj'), []);
  t.deepEqual(keysOf(spec({ OomScoreAdj: 5000 }), 'oom_score_adj'), [], 'out of range: never reaches tsnet-init');
  t.deepEqual(keysOf(e, 'sysctl'), [], 'exec joins the namespaces the run wrote them in');
  t.deepEqual(keysOf(e, 'oom_score_adj'), ['-5']);
});

test('a --rm container with sysctls of its interfaces is not prelaunched (they are written after its network is made)', (t) => {
  const pre = (Sysctls: Record<string, string>) => prelaunchable(record({ AutoRemove: true, NetworkMode: 'bridge', Sysctls }));
  t.true(prelaunchable(record({ AutoRemove: true, NetworkMode: 'bridge' })));
  t.true(pre({ 'kernel.shmmax': '1' }));
  t.true(pre({ 'net.core.somaxconn': '1', 'net.ipv4.ip_unprivileged_port_start': '80', 'net.ipv4.tcp_syncookies': '1' }));
  t.false(pre({ 'net.ipv4.conf.eth0.route_localnet': '1' }));
  t.false(pre({ 'net.core.somaxconn': '1', 'net.ipv6.conf.all.disable_ipv6': '1' }));
  t.false(pre({ 'net.ipv4.conf.default.rp_filter': '2' }));
  t.false(pre({ 'net.ipv6.neigh.eth0.gc_stale_time': '10' }));
});

test('CLI: --ulimit name=soft[:hard] as the docker CLI, --sysctl key=value', (t) => {
  t.deepEqual(parseUlimit('nofile=1024:2048'), { Name: 'nofile', Soft: 1024, Hard: 2048 });
  t.deepEqual(parseUlimit('nproc=512'), { Name: 'nproc', Soft: 512, Hard: 512 });
  t.deepEqual(parseUlimit('core=-1'), { Name: 'core', Soft: -1, Hard: -1 });
  t.deepEqual(parseUlimit('core=unlimited:unlimited'), { Name: 'core', Soft: -1, Hard: -1 });
  t.deepEqual(parseUlimit('stack=8192:-1'), { Name: 'stack', Soft: 8192, Hard: -1 });
  t.throws(() => parseUlimit('nofile'), { message: /name=soft\[:hard\]/ });
  t.throws(() => parseUlimit('nofile=1:2:3'), { message: /too many/ });
  t.throws(() => parseUlimit('nofile=a'), { message: /invalid ulimit value/ });
  t.throws(() => parseUlimit('nofile=20:10'), { message: /soft limit must be less than or equal to hard limit: 20 > 10/ });
  t.throws(() => parseUlimit('nofile=-1:10'), { message: /soft limit must be less than or equal/ });
  t.deepEqual(parseSysctls(['net.core.somaxconn=1', 'kernel.sem=1 2 3 4', 'a.b=x=y', 'net.core.somaxconn=2']), {
    'net.core.somaxconn': '2',
    'kernel.sem': '1 2 3 4',
    'a.b': 'x=y',
  });
  t.throws(() => parseSysctls(['=1']), { message: /use key=value/ });
  t.throws(() => parseSysctls(['net.core.somaxconn']), { message: /use key=value/ });
});

test('IpcMode: private/shareable/empty are the default, host and none reach tsnet-init, container:X and others are refused', (t) => {
  for (const m of [undefined, null, '', 'private', 'shareable']) t.is(checkIpcMode(m), undefined);
  t.is(checkIpcMode('host'), 'host');
  t.is(checkIpcMode('none'), 'none');
  t.throws(() => checkIpcMode('container:abc'), { message: /IPC mode "container:abc" is not supported/ });
  t.throws(() => checkIpcMode('Host'), { message: /invalid IPC mode/ });
  t.deepEqual(keysOf(spec({ IpcMode: 'host' }), 'ipc'), ['host']);
  t.deepEqual(keysOf(spec({ IpcMode: 'private' }), 'ipc'), []);
  t.throws(() => record({ IpcMode: 'container:x' }), { message: /not supported/ });
});
