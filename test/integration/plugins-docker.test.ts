/**
 * Docker cross-compatibility (issue 4): the example plugins, written with tsnet's SDK, driving a
 * real dockerd (Debian's docker.io 20.10) — `docker network create -d <plugin>` and
 * `--ipam-driver <plugin>`, containers get their addresses and ping each other.
 *
 * dockerd runs inside a throwaway netns (nsenter --net only) with its own --data-root,
 * --exec-root, --pidfile, -H unix://<tmp>.sock, --iptables=false, --ip-forward=false,
 * --ip-masq=false, --bridge=none, vfs storage, its own --cgroup-parent and trust key path; it
 * starts its own containerd under its exec-root. dockerd only finds legacy plugins in
 * /run/docker/plugins (sockets) and /etc/docker/plugins (specs), so the plugins serve uniquely
 * named sockets there. Teardown stops dockerd and its containerd by pid, kills what is left
 * that mentions the test dir, unmounts, removes cgroups, the sockets and the directories
 * dockerd or we created (/run/docker, /etc/docker/key.json) if they did not exist before.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  cleanEnv,
  createNsWorld,
  linkNames,
  REPO,
  sleep,
  startExample,
  stopChild,
  waitForSocket,
  type NsWorld,
} from '../conformance/harness.js';
import { requireNeeds } from '../helpers/preconditions.js';

const DOCKERD = ['/usr/sbin/dockerd', '/usr/bin/dockerd'].find((p) => fs.existsSync(p));
/** Debian's 20.10 CLI matches the daemon (the newer one on PATH refuses some flags with API 1.41). */
const DOCKER_CLI = fs.existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
const BUSYBOX_TAR = path.join(REPO, 'build', 'busybox-rootfs.tar');
const DOCKER_PLUGIN_DIR = '/run/docker/plugins';
const serial = test.serial;
test.before(() =>
  requireNeeds({
    root: true,
    commands: [
      [DOCKERD ?? '/usr/sbin/dockerd', 'docker.io'],
      [DOCKER_CLI, 'docker.io'],
    ],
    files: [[BUSYBOX_TAR, 'run npm run build']],
  }),
);

interface Run {
  code: number;
  out: string;
  err: string;
}

function run(cmd: string, args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, out, err });
    });
  });
}

function processesMentioning(text: string): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(text)) out.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return out;
}

function mountsUnder(prefixes: string[]): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => prefixes.some((p) => m.startsWith(p)))
    .sort((a, b) => b.length - a.length);
}

function existsNow(p: string): boolean {
  return fs.existsSync(p);
}

interface DockerWorld {
  w: NsWorld;
  id: string;
  docker(args: string[], timeoutMs?: number): Promise<Run>;
  log(): string;
}

async function startDocker(t: ExecutionContext): Promise<DockerWorld> {
  const id = crypto.randomBytes(3).toString('hex');
  const pre = {
    key: existsNow('/etc/docker/key.json'),
    etcDocker: existsNow('/etc/docker'),
    runDocker: existsNow('/run/docker'),
    runPlugins: existsNow(DOCKER_PLUGIN_DIR),
  };
  const w = await createNsWorld('tsnet-dk-');
  const sock = path.join(w.dir, 'docker.sock');
  const cgroupParent = `tsnet-dockertest-${id}`;
  const env = cleanEnv({ DOCKER_CONFIG: path.join(w.dir, 'cli') });
  fs.writeFileSync(path.join(w.dir, 'daemon.json'), JSON.stringify({ 'deprecated-key-path': path.join(w.dir, 'key.json') }));
  let dockerd: ChildProcess | undefined;
  const logFile = path.join(w.dir, 'dockerd.log');

  t.teardown(async () => {
    const docker = (args: string[]) => run(DOCKER_CLI, ['-H', `unix://${sock}`, ...args], env, 20_000);
    if (dockerd && dockerd.exitCode === null) {
      const ps = await docker(['ps', '-aq']);
      if (ps.code === 0 && ps.out.trim()) await docker(['rm', '-f', ...ps.out.trim().split('\n')]);
      const pid = Number(fs.readFileSync(path.join(w.dir, 'docker.pid'), 'utf8').trim() || dockerd.pid);
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      await Promise.race([new Promise((r) => dockerd!.once('exit', r)), sleep(20_000)]);
    }
    // dockerd's containerd, shims and containers all mention the test dir.
    for (let round = 0; round < 3; round++) {
      const pids = processesMentioning(w.dir);
      if (dockerd?.pid && dockerd.exitCode === null) pids.push(dockerd.pid);
      if (pids.length === 0) break;
      for (const p of pids) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await sleep(300);
    }
    for (const m of mountsUnder([path.join(w.dir, 'data'), path.join(w.dir, 'exec'), '/run/docker/netns']))
      spawnSync('umount', ['-l', m]);
    for (const base of fs.readdirSync('/sys/fs/cgroup').map((c) => path.join('/sys/fs/cgroup', c))) {
      const dir = path.join(base, cgroupParent);
      if (!fs.existsSync(dir)) continue;
      for (const c of fs.readdirSync(dir, { withFileTypes: true }))
        if (c.isDirectory()) spawnSync('rmdir', [path.join(dir, c.name)]);
      spawnSync('rmdir', [dir]);
    }
    await w.teardown();
    for (const f of fs.existsSync(DOCKER_PLUGIN_DIR) ? fs.readdirSync(DOCKER_PLUGIN_DIR) : []) {
      if (f.includes(id)) fs.rmSync(path.join(DOCKER_PLUGIN_DIR, f), { force: true, recursive: true });
    }
    if (!pre.key) fs.rmSync('/etc/docker/key.json', { force: true });
    if (!pre.runPlugins) spawnSync('rmdir', [DOCKER_PLUGIN_DIR]);
    if (!pre.runDocker) {
      spawnSync('rmdir', ['/run/docker/netns']);
      spawnSync('rmdir', ['/run/docker']);
    }
    if (!pre.etcDocker) spawnSync('rmdir', ['/etc/docker']);
  });

  const log = fs.openSync(logFile, 'a');
  dockerd = spawn(
    'nsenter',
    [
      `--net=${w.hostNs}`,
      DOCKERD!,
      '--config-file',
      path.join(w.dir, 'daemon.json'),
      '--data-root',
      path.join(w.dir, 'data'),
      '--exec-root',
      path.join(w.dir, 'exec'),
      '--pidfile',
      path.join(w.dir, 'docker.pid'),
      '-H',
      `unix://${sock}`,
      '--iptables=false',
      '--ip-forward=false',
      '--ip-masq=false',
      '--bridge=none',
      '--userland-proxy=false',
      '--storage-driver=vfs',
      `--cgroup-parent=${cgroupParent}`,
      '--log-level=debug',
    ],
    { env: cleanEnv(), stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  const readLog = () => {
    try {
      return fs.readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  await waitForSocket(sock, 40_000, dockerd, () => readLog().split('\n').slice(-20).join('\n'));
  const docker = (args: string[], timeoutMs = 60_000) => run(DOCKER_CLI, ['-H', `unix://${sock}`, ...args], env, timeoutMs);
  const v = await docker(['version', '--format', '{{.Server.Version}}']);
  if (v.code !== 0) throw new Error(`docker version: ${v.err}`);
  t.log(`dockerd ${v.out.trim()} in ${w.hostNs}`);
  return { w, id, docker, log: readLog };
}

function must(t: ExecutionContext, r: Run, what: string, log?: () => string): string {
  if (r.code !== 0)
    t.fail(
      `${what}: exit ${r.code}: ${r.err}${r.out}\n--- dockerd log (tail) ---\n${log?.().split('\n').slice(-40).join('\n') ?? ''}`,
    );
  return r.out.trim();
}

serial(
  'dockerd uses the SDK example plugins: network create -d p2p, --ipam-driver static-ipam, containers get addresses and ping',
  async (t) => {
    const dw = await startDocker(t);
    const { w, id, docker } = dw;
    const p2p = `tsnet-p2p-${id}`;
    const sipam = `tsnet-sipam-${id}`;
    const cfg = path.join(w.dir, 'static.json');
    // Docker 20.10 sends no endpoint name to IPAM plugins (newer Docker does), so assign by MAC:
    // with RequiresMACAddress the daemon sends the endpoint's MAC in RequestAddress.
    fs.writeFileSync(
      cfg,
      JSON.stringify({
        requiresMacAddress: true,
        pools: [
          {
            subnet: '10.232.0.0/24',
            gateway: '10.232.0.1',
            range: '10.232.0.128/25',
            hosts: { '02:42:0a:e8:00:0a': '10.232.0.10' },
          },
        ],
      }),
    );
    await startExample('p2p', { name: p2p, socketDir: DOCKER_PLUGIN_DIR, netnsFile: w.hostNs, world: w, args: ['--verbose'] });
    await startExample('static-ipam', {
      name: sipam,
      socketDir: DOCKER_PLUGIN_DIR,
      netnsFile: w.hostNs,
      world: w,
      args: ['--config', cfg],
    });

    must(t, await docker(['import', BUSYBOX_TAR, 'tsnet-busybox:test']), 'docker import', dw.log);

    // 1. A network of the p2p plugin with Docker's own IPAM.
    must(
      t,
      await docker(['network', 'create', '-d', p2p, '--subnet', '10.231.0.0/24', '--gateway', '10.231.0.1', 'pnet']),
      'network create -d p2p',
      dw.log,
    );
    const ls = must(t, await docker(['network', 'ls', '--format', '{{.Name}} {{.Driver}}']), 'network ls');
    t.true(ls.split('\n').includes(`pnet ${p2p}`), ls);
    must(
      t,
      await docker(['run', '-d', '--name', 'c1', '--network', 'pnet', 'tsnet-busybox:test', 'sleep', '300']),
      'run c1',
      dw.log,
    );
    const ip1 = must(t, await docker(['inspect', '-f', '{{.NetworkSettings.Networks.pnet.IPAddress}}', 'c1']), 'inspect c1');
    t.is(ip1, '10.231.0.2');
    const r2 = await docker([
      'run',
      '--rm',
      '--network',
      'pnet',
      'tsnet-busybox:test',
      'sh',
      '-c',
      `ip -4 -o addr show eth0; ip route; ping -c 2 -W 2 ${ip1}`,
    ]);
    must(t, r2, 'run c2: address and ping c1', dw.log);
    t.regex(r2.out, /eth0\s+inet 10\.231\.0\.3\/24/);
    t.regex(r2.out, /default via 10\.231\.0\.1 dev eth0/);
    t.regex(r2.out, /2 packets transmitted, 2 packets received/);
    t.true(
      (await linkNames(w.netns, w.hostNs)).some((n) => n.startsWith('p2h')),
      'the host end of c1 is in the daemon netns',
    );

    // 2. The same driver with the static IPAM plugin.
    // --subnet names a pool of the file (Docker allows --ip only on networks with a user subnet).
    must(
      t,
      await docker(['network', 'create', '-d', p2p, '--ipam-driver', sipam, '--subnet', '10.232.0.0/24', 'snet']),
      'network create --ipam-driver static-ipam',
      dw.log,
    );
    const ipam = JSON.parse(
      must(t, await docker(['network', 'inspect', '-f', '{{json .IPAM}}', 'snet']), 'network inspect snet'),
    ) as { Driver: string; Config: Array<{ Subnet: string; Gateway: string }> };
    t.is(ipam.Driver, sipam);
    t.is(ipam.Config[0]?.Subnet, '10.232.0.0/24');
    const web = await docker([
      'run',
      '--rm',
      '--mac-address',
      '02:42:0a:e8:00:0a',
      '--network',
      'snet',
      'tsnet-busybox:test',
      'sh',
      '-c',
      'ip -4 -o addr show eth0; ip -o link show eth0; ip route',
    ]);
    const webOut = must(t, web, 'run web on snet', dw.log);
    t.regex(webOut, /inet 10\.232\.0\.10\/24/, 'the static assignment for MAC 02:42:0a:e8:00:0a');
    t.regex(webOut, /link\/ether 02:42:0a:e8:00:0a/);
    t.regex(webOut, /default via 10\.232\.0\.1 dev eth0/, 'the gateway the IPAM plugin gave for RequestAddressType=gateway');
    const other = await docker([
      'run',
      '--rm',
      '--network',
      'snet',
      'tsnet-busybox:test',
      'ip',
      '-4',
      '-o',
      'addr',
      'show',
      'eth0',
    ]);
    t.regex(must(t, other, 'run another on snet', dw.log), /inet 10\.232\.0\.128\/24/, 'the first address of the range');
    const fixed = await docker([
      'run',
      '--rm',
      '--network',
      'snet',
      '--ip',
      '10.232.0.77',
      'tsnet-busybox:test',
      'ip',
      '-4',
      '-o',
      'addr',
      'show',
      'eth0',
    ]);
    t.regex(must(t, fixed, 'run --ip on snet', dw.log), /inet 10\.232\.0\.77\/24/);

    // 3. Teardown through Docker: the plugin cleans up after itself.
    must(t, await docker(['rm', '-f', 'c1']), 'rm c1');
    must(t, await docker(['network', 'rm', 'pnet', 'snet']), 'network rm', dw.log);
    t.deepEqual(await linkNames(w.netns, w.hostNs), ['lo'], 'no veth left in the daemon netns');
  },
);

void stopChild;
