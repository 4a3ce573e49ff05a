/** The stock docker CLI drives tsnetd through the Docker Engine API (version, ps, inspect…). */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { cleanEnv, createWorld, run, type World } from '../helpers/world.js';
import { API_VERSION } from '../../src/daemon/http/version.js';
import { api } from '../helpers/api.js';

let w: World;
const DOCKER = ['/usr/local/bin/docker', '/usr/bin/docker'].find((p) => fs.existsSync(p)) ?? 'docker';
test.before(async () => {
  w = await createWorld();
});
test.after.always(async () => {
  await w?.teardown();
});

const docker = (args: string[]) =>
  run(DOCKER, ['-H', `unix://${w.socket}`, ...args], { env: cleanEnv({ DOCKER_CONFIG: path.join(w.dir, 'docker-config') }) });

test('docker version, ps, inspect, images, logs, rm work against tsnetd', async (t) => {
  const v = await docker(['version', '--format', '{{.Server.Version}} {{.Server.APIVersion}}']);
  t.is(v.exitCode, 0, v.stderr);
  // the API version tsnetd serves (src/daemon/http/version.ts), as the stock CLI reads it
  const [server, api] = v.stdout.trim().split(' ');
  t.regex(server ?? '', /^0\.\d+\.\d+$/);
  t.is(api, API_VERSION);

  const id = (
    await w.cli(['run', '-d', '--network', 'none', '--name', 'dockerseen', 'busybox', 'sh', '-c', 'echo hi; sleep 1000'])
  ).stdout.trim();
  const ps = await docker(['ps']);
  t.is(ps.exitCode, 0, ps.stderr);
  t.regex(ps.stdout, /dockerseen/);
  t.regex(ps.stdout, new RegExp(id.slice(0, 12)));

  const insp = await docker(['inspect', '--format', '{{.State.Status}} {{.Name}} {{.State.Pid}}', 'dockerseen']);
  t.is(insp.exitCode, 0, insp.stderr);
  t.regex(insp.stdout.trim(), /^running \/dockerseen \d+$/);

  const img = await docker(['images']);
  t.is(img.exitCode, 0, img.stderr);
  t.regex(img.stdout, /busybox\s+latest/);

  const logs = await docker(['logs', 'dockerseen']);
  t.is(logs.stdout, 'hi\n', logs.stderr);

  const rm = await docker(['rm', '-f', 'dockerseen']);
  t.is(rm.exitCode, 0, rm.stderr);
  t.notRegex((await docker(['ps', '-a'])).stdout, /dockerseen/);
});

test('docker run against tsnetd (create, attach, wait, start)', async (t) => {
  const r = await docker(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'echo from-docker; exit 6']);
  t.is(r.stdout, 'from-docker\n', r.stderr);
  t.is(r.exitCode, 6);
});

test('docker network commands and docker run --network against tsnetd', async (t) => {
  const c = await docker(['network', 'create', '--subnet', '10.66.0.0/24', 'dnet']);
  t.is(c.exitCode, 0, c.stderr);
  t.regex((await docker(['network', 'ls'])).stdout, /dnet\s+bridge\s+local/);
  const insp = await docker(['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Subnet}}{{end}}', 'dnet']);
  t.is(insp.stdout.trim(), '10.66.0.0/24', insp.stderr);
  const run = await docker(['run', '-d', '--name', 'dweb', '--network', 'dnet', 'busybox', 'sleep', '1000']);
  t.is(run.exitCode, 0, run.stderr);
  await docker(['network', 'create', 'dnet2']);
  const conn = await docker(['network', 'connect', 'dnet2', 'dweb']);
  t.is(conn.exitCode, 0, conn.stderr);
  const addrs = await w.cli(['exec', 'dweb', 'ip', '-o', 'addr']);
  t.regex(addrs.stdout, /eth0.*10\.66\.0\./);
  t.regex(addrs.stdout, /eth1/);
  t.is((await docker(['network', 'disconnect', 'dnet2', 'dweb'])).exitCode, 0);
  const busy = await docker(['network', 'rm', 'dnet']);
  t.not(busy.exitCode, 0);
  t.regex(busy.stderr, /dweb/);
  await docker(['rm', '-f', 'dweb']);
  t.is((await docker(['network', 'rm', 'dnet', 'dnet2'])).exitCode, 0);
});

// serial: runs alone, before the others (which do not expect swarm networks in their lists)
test.serial('docker swarm init, node ls, overlay network create/ls, swarm leave against tsnetd', async (t) => {
  const init = await docker(['swarm', 'init', '--advertise-addr', '127.0.0.1']);
  t.is(init.exitCode, 0, init.stderr);
  t.regex(init.stdout, /^Swarm initialized: current node \([0-9a-z]{25}\) is now a manager\./);
  t.regex((await docker(['node', 'ls'])).stdout, /\*\s+\S+\s+Ready\s+Active\s+Leader/);
  const c = await docker(['network', 'create', '-d', 'overlay', '--attachable', 'swnet']);
  t.is(c.exitCode, 0, c.stderr);
  const ls = await docker(['network', 'ls', '--filter', 'scope=swarm', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']);
  t.deepEqual(ls.stdout.trim().split('\n').sort(), ['ingress overlay swarm', 'swnet overlay swarm']);
  const svc = await docker(['service', 'create', 'busybox']);
  t.regex(svc.stderr, /tsnet does not run swarm services/);
  const leave = await docker(['swarm', 'leave', '--force']);
  t.is(leave.stdout.trim(), 'Node left the swarm.', leave.stderr);
  t.is((await docker(['info', '--format', '{{.Swarm.LocalNodeState}}'])).stdout.trim(), 'inactive');
});

test('a failed start: docker run says the daemon error once; a next-exit wait stays pending, as with dockerd', async (t) => {
  const held = await docker([
    'run',
    '-d',
    '--name',
    'holds18500',
    '--network',
    'bridge',
    '-p',
    '18500:80',
    'busybox',
    'sleep',
    '1000',
  ]);
  t.is(held.exitCode, 0, held.stderr);
  t.teardown(() => docker(['rm', '-f', 'holds18500', 'wants18500']));
  const refused = await docker(['run', '-d', '--name', 'wants18500', '--network', 'bridge', '-p', '18500:80', 'busybox', 'true']);
  t.is(refused.exitCode, 125);
  t.regex(refused.stderr, /^docker: Error response from daemon: [^\n]*18500[^\n]*\n/);
  t.notRegex(
    refused.stderr,
    /rror waiting for container/,
    'the wait the CLI started before the start is not answered with the error',
  );
  const missing = await docker(['run', '--rm', '--network', 'none', 'busybox', 'nosuchcmd']);
  t.is(missing.exitCode, 127);
  t.regex(missing.stderr, /executable file not found/);
  // the API: the container never ran, so a next-exit wait is still waiting a second later
  const wait = await api(w.socket, {
    method: 'POST',
    path: '/containers/wants18500/wait?condition=next-exit',
    timeoutMs: 1000,
  }).then(
    () => 'answered',
    () => 'pending',
  );
  t.is(wait, 'pending');
  t.is((await docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'wants18500'])).stdout.trim(), 'created 128');
});

test('namespace modes tsnet does not give are refused in one line, --init is warned about (they were accepted and ignored)', async (t) => {
  for (const flags of [
    ['--pid', 'host'],
    ['--pid', 'container:x'],
    ['--uts', 'host'],
  ]) {
    const r = await docker(['run', '--rm', '--network', 'none', ...flags, 'busybox', 'true']);
    t.is(r.exitCode, 125, flags.join(' '));
    t.regex(r.stderr, new RegExp(`^docker: Error response from daemon: ${flags.join(' ')} is not supported by tsnet`), r.stderr);
  }
  // what tsnet does give: the host's UTS with the host's network
  const hostUts = await docker(['run', '--rm', '--network', 'host', '--uts', 'host', 'busybox', 'hostname']);
  t.is(hostUts.exitCode, 0, hostUts.stderr);
  const init = await docker(['run', '--rm', '--network', 'none', '--init', 'busybox', 'echo', 'ran']);
  t.is(init.stdout, 'ran\n');
  t.regex(init.stderr, /WARNING: tsnet runs no init process \(--init\)/);
  const cgns = await docker(['run', '--rm', '--network', 'none', '--cgroupns', 'host', 'busybox', 'true']);
  t.regex(cgns.stderr, /--cgroupns host is not supported by tsnet/);
  const more = await docker(['run', '--rm', '--network', 'none', '--cgroup-parent', 'mine', 'busybox', 'true']);
  t.is(more.exitCode, 0, more.stderr);
  t.regex(more.stderr, /WARNING: tsnet places every container under the daemon's --cgroup-parent/);
  // dockerd's warning for ports a host-network container cannot publish (they were dropped in silence)
  const hostPorts = await docker(['run', '--rm', '--network', 'host', '-p', '18777:80', 'busybox', 'true']);
  t.is(hostPorts.exitCode, 0, hostPorts.stderr);
  t.regex(hostPorts.stderr, /WARNING: Published ports are discarded when using host network mode/);
});

test('docker info: the distribution, and no warning for what tsnet applies (cpu shares, cpuset, oom-kill-disable on v1)', async (t) => {
  const r = await docker(['info']);
  t.is(r.exitCode, 0, r.stderr);
  t.notRegex(r.stderr, /No cpu shares support|No cpuset support/);
  if (!fs.existsSync('/sys/fs/cgroup/cgroup.controllers')) t.notRegex(r.stderr, /No oom kill disable support/);
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1];
  t.is((await docker(['info', '--format', '{{.OperatingSystem}}'])).stdout.trim(), pretty ?? 'Linux');
});

test('network create --config-only / --config-from are refused in one line, nothing made (they made a plain bridge)', async (t) => {
  const only = await docker(['network', 'create', '--config-only', '--subnet', '10.67.0.0/24', 'cfgonly']);
  t.not(only.exitCode, 0);
  t.regex(only.stderr, /^Error response from daemon: tsnet has no config-only networks[^\n]*\n$/);
  const from = await docker(['network', 'create', '-d', 'macvlan', '--config-from', 'cfgonly', 'cfgfrom']);
  t.regex(from.stderr, /tsnet has no config-only networks/);
  t.notRegex((await docker(['network', 'ls', '--format', '{{.Name}}'])).stdout, /cfgonly|cfgfrom/);
});

test('inspect shows the paths tsnet-init masks and makes read-only (null when privileged); systempaths=unconfined is refused', async (t) => {
  const started = await docker(['run', '-d', '--network', 'none', '--name', 'masked', 'busybox', 'sleep', '1000']);
  t.is(started.exitCode, 0, started.stderr);
  const [masked, readonly] = JSON.parse(
    `[${(await docker(['inspect', '-f', '{{json .HostConfig.MaskedPaths}},{{json .HostConfig.ReadonlyPaths}}', 'masked'])).stdout.trim()}]`,
  ) as [string[], string[]];
  t.true(masked.includes('/proc/kcore') && readonly.includes('/proc/sys'), `${masked} | ${readonly}`);
  // every listed path the container has is a mount point there: masked ones tmpfs or /dev/null, the others read-only
  const mountinfo = (await docker(['exec', 'masked', 'cat', '/proc/self/mountinfo'])).stdout.split('\n');
  const exists = async (p: string) => (await docker(['exec', 'masked', 'test', '-e', p])).exitCode === 0;
  const mountAt = (p: string) => mountinfo.filter((l) => l.split(' ')[4] === p).at(-1);
  for (const p of masked) {
    if (!(await exists(p))) continue;
    t.truthy(mountAt(p), `${p} is masked`);
  }
  for (const p of readonly) {
    if (!(await exists(p))) continue;
    t.regex(mountAt(p)?.split(' ')[5] ?? '', /(^|,)ro(,|$)/, `${p} is read-only`);
  }
  t.is((await docker(['exec', 'masked', 'test', '-s', '/proc/kcore'])).exitCode, 1, '/proc/kcore reads as empty');
  await docker(['rm', '-f', 'masked']);
  const priv = await docker(['create', '--network', 'none', '--privileged', '--name', 'unmasked', 'busybox', 'true']);
  t.is(priv.exitCode, 0, priv.stderr);
  t.is(
    (
      await docker(['inspect', '-f', '{{json .HostConfig.MaskedPaths}} {{json .HostConfig.ReadonlyPaths}}', 'unmasked'])
    ).stdout.trim(),
    'null null',
  );
  await docker(['rm', '-f', 'unmasked']);
  // the docker CLI sends MaskedPaths [] and ReadonlyPaths []: tsnet-init masks anyway, so it is refused, not ignored
  const unconfined = await docker([
    'run',
    '--rm',
    '--network',
    'none',
    '--security-opt',
    'systempaths=unconfined',
    'busybox',
    'true',
  ]);
  t.is(unconfined.exitCode, 125);
  t.regex(unconfined.stderr, /^docker: Error response from daemon: HostConfig\.MaskedPaths cannot be changed in tsnet[^\n]*\n/);
});
