/**
 * The peers the benchmark measures tsnet against, started by the benchmark itself:
 *
 * - Docker (Debian docker.io 20.10): dockerd inside a throwaway network namespace with its own
 *   --data-root, --exec-root, --pidfile, unix socket, cgroup parent and key path; it starts its
 *   own containerd under its exec-root. Its iptables rules live in that namespace. The busybox
 *   rootfs tarball is `docker import`ed.
 * - Podman (Debian podman 4.3, daemonless): every command runs as `nsenter --net=<its own netns>
 *   podman --root … --runroot … --network-config-dir …` (CNI backend, runc, cgroupfs), so its
 *   storage, CNI configs and iptables rules stay in temp dirs and that namespace.
 *
 * Everything is torn down by pid and by path (processes, mounts, cgroups, dirs), also after a
 * failure. Nothing touches the machine's own interfaces or firewall.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BUSYBOX_TAR, cleanEnv, run, type RunResult } from '../test/helpers/world.js';
import { sleep } from './lib.js';

export interface Peer {
  name: string;
  version: string;
  /** The image name to run (busybox, imported). */
  image: string;
  /** Flags `run` needs on this machine (Podman: rlimits it may set). */
  runFlags: string[];
  /** The network namespace its daemon (Docker) or every command (Podman) runs in: its "host". */
  netns: string;
  cli(args: string[], timeoutMs?: number): Promise<RunResult>;
  teardown(): Promise<void>;
}

const DOCKERD = ['/usr/sbin/dockerd', '/usr/bin/dockerd'].find((p) => fs.existsSync(p));
/** Debian's 20.10 CLI matches its daemon (a newer docker on PATH may refuse API 1.41 flags). */
const DOCKER_CLI = ['/usr/bin/docker', '/usr/local/bin/docker'].find((p) => fs.existsSync(p));
const PODMAN = ['/usr/bin/podman'].find((p) => fs.existsSync(p));
const RUNC = '/usr/sbin/runc';

export const missingPeers = (): string[] => [
  ...(DOCKERD && DOCKER_CLI ? [] : ['Docker: install docker.io (dockerd and docker)']),
  ...(PODMAN ? [] : ['Podman: install podman']),
];

function makeNetns(file: string): void {
  fs.writeFileSync(file, '');
  const r = spawnSync('unshare', [`--net=${file}`, 'true']);
  if (r.status !== 0) throw new Error(`unshare --net: ${r.stderr.toString()}`);
  spawnSync('nsenter', [`--net=${file}`, 'ip', 'link', 'set', 'lo', 'up']);
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

/**
 * A peer's runtime state dir (dockerd's --exec-root, podman's --runroot) on a tmpfs, as their
 * defaults /run/docker and /run/containers are, and as tsnet's bench world has its exec-root
 * (benchWorld): no peer pays for the disk's file system where a user's would not. The sweep
 * unmounts it with everything under the peer's dir.
 */
function tmpfsDir(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'mode=0711,size=256m', 'tsnet-bench-peer', dir]);
  if (m.status !== 0) throw new Error(`mount a tmpfs on ${dir}: ${m.stderr.toString().trim()}`);
  return dir;
}

/** Kill what mentions `dir`, unmount what is under it (deepest first), remove cgroups and the dir. */
async function sweep(dir: string, cgroupParent: string, netns: string): Promise<void> {
  for (let round = 0; round < 3; round++) {
    const pids = processesMentioning(dir);
    if (pids.length === 0) break;
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await sleep(200);
  }
  for (let round = 0; round < 3; round++) {
    const mounts = fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((m) => m.startsWith(dir))
      .sort((a, b) => b.length - a.length);
    if (mounts.length === 0) break;
    for (const m of mounts) spawnSync('umount', ['-l', m]);
  }
  spawnSync('umount', ['-l', netns]);
  const root = '/sys/fs/cgroup';
  const bases = fs.existsSync(path.join(root, 'cgroup.controllers'))
    ? [root]
    : fs.readdirSync(root).map((c) => path.join(root, c));
  for (const base of bases) {
    const parent = path.join(base, cgroupParent);
    if (fs.existsSync(parent)) rmdirTree(parent);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

/** rmdir a cgroup and the cgroups below it, deepest first (their tasks are gone by now). */
function rmdirTree(dir: string): void {
  for (const c of fs.readdirSync(dir, { withFileTypes: true })) if (c.isDirectory()) rmdirTree(path.join(dir, c.name));
  spawnSync('rmdir', [dir]);
}

function canConnect(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(socket);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** dockerd in its own netns; resolves once `docker version` answers and busybox is imported. */
export async function startDocker(log: (m: string) => void): Promise<Peer> {
  if (!DOCKERD || !DOCKER_CLI) throw new Error('dockerd/docker not found: install docker.io');
  const id = crypto.randomBytes(3).toString('hex');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-bench-docker-'));
  const netns = path.join(dir, 'netns');
  const sock = path.join(dir, 'docker.sock');
  const cgroupParent = `tsnet-bench-docker-${id}`;
  const pre = { runDocker: fs.existsSync('/run/docker'), etcDocker: fs.existsSync('/etc/docker') };
  const env = cleanEnv({ DOCKER_CONFIG: path.join(dir, 'cli') });
  let dockerd: ChildProcess | undefined;
  const docker = (args: string[], timeoutMs = 60_000): Promise<RunResult> =>
    run(DOCKER_CLI, ['-H', `unix://${sock}`, ...args], { env, timeoutMs });
  const teardown = async (): Promise<void> => {
    if (dockerd && dockerd.exitCode === null) {
      const ps = await docker(['ps', '-aq'], 20_000);
      if (ps.exitCode === 0 && ps.stdout.trim()) await docker(['rm', '-f', ...ps.stdout.trim().split('\n')], 30_000);
      dockerd.kill('SIGTERM');
      await Promise.race([new Promise((r) => dockerd!.once('exit', r)), sleep(15_000)]);
    }
    await sweep(dir, cgroupParent, netns);
    // what dockerd makes outside its roots when they did not exist before (empty dirs only)
    if (!pre.runDocker) {
      spawnSync('rmdir', ['/run/docker/netns', '/run/docker/plugins', '/run/docker']);
    }
    if (!pre.etcDocker) spawnSync('rmdir', ['/etc/docker']);
  };
  try {
    makeNetns(netns);
    fs.writeFileSync(path.join(dir, 'daemon.json'), JSON.stringify({ 'deprecated-key-path': path.join(dir, 'key.json') }));
    const logFd = fs.openSync(path.join(dir, 'dockerd.log'), 'a');
    dockerd = spawn(
      'nsenter',
      [
        `--net=${netns}`,
        DOCKERD,
        '--config-file',
        path.join(dir, 'daemon.json'),
        '--data-root',
        path.join(dir, 'data'),
        '--exec-root',
        tmpfsDir(path.join(dir, 'exec')),
        '--pidfile',
        path.join(dir, 'docker.pid'),
        '-H',
        `unix://${sock}`,
        '--bridge=none',
        '--storage-driver=overlay2',
        `--cgroup-parent=${cgroupParent}`,
        // this machine forbids raising RLIMIT_NOFILE above its hard limit (20000)
        '--default-ulimit',
        'nofile=1024:20000',
        '--log-level=warn',
      ],
      { env: cleanEnv(), stdio: ['ignore', logFd, logFd] },
    );
    fs.closeSync(logFd);
    const deadline = Date.now() + 60_000;
    while (!(await canConnect(sock))) {
      if (dockerd.exitCode !== null || Date.now() > deadline) {
        const tail = fs.readFileSync(path.join(dir, 'dockerd.log'), 'utf8').split('\n').slice(-15).join('\n');
        throw new Error(`dockerd did not come up:\n${tail}`);
      }
      await sleep(100);
    }
    const v = await docker(['version', '--format', '{{.Server.Version}}']);
    if (v.exitCode !== 0) throw new Error(`docker version: ${v.stderr.trim()}`);
    const imp = await docker(['import', BUSYBOX_TAR, 'busybox:latest'], 120_000);
    if (imp.exitCode !== 0) throw new Error(`docker import: ${imp.stderr.trim()}`);
    log(`docker ${v.stdout.trim()} up in ${netns}`);
    return { name: 'docker', version: v.stdout.trim(), image: 'busybox', runFlags: [], netns, cli: docker, teardown };
  } catch (err) {
    await teardown();
    throw err;
  }
}

/** Podman with all its state in a temp dir, each command in its own netns. */
export async function startPodman(log: (m: string) => void): Promise<Peer> {
  if (!PODMAN) throw new Error('podman not found: install podman');
  const id = crypto.randomBytes(3).toString('hex');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-bench-podman-'));
  const netns = path.join(dir, 'netns');
  const cgroupParent = `tsnet-bench-podman-${id}`;
  const base = [
    `--net=${netns}`,
    PODMAN,
    '--root',
    path.join(dir, 'root'),
    '--runroot',
    tmpfsDir(path.join(dir, 'run')),
    '--tmpdir',
    path.join(dir, 'tmp'),
    '--network-config-dir',
    path.join(dir, 'cni'),
    '--cgroup-manager',
    'cgroupfs',
    '--events-backend',
    'file',
    '--storage-driver',
    'overlay',
    '--runtime',
    RUNC,
  ];
  const podman = (args: string[], timeoutMs = 60_000): Promise<RunResult> =>
    run('nsenter', [...base, ...args], { env: cleanEnv({ CONTAINERS_CONF: path.join(dir, 'containers.conf') }), timeoutMs });
  const teardown = async (): Promise<void> => {
    await podman(['rm', '-af', '-t', '0'], 30_000);
    await podman(['network', 'prune', '-f'], 30_000);
    await sweep(dir, cgroupParent, netns);
  };
  try {
    makeNetns(netns);
    // cgroup_parent keeps its cgroups apart; the logs and events stay in the temp dir.
    fs.writeFileSync(
      path.join(dir, 'containers.conf'),
      `[containers]\ncgroupns = "host"\nlog_driver = "k8s-file"\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nevents_logfile_path = "${path.join(dir, 'events.log')}"\n`,
    );
    const v = await podman(['version', '--format', '{{.Client.Version}}']);
    if (v.exitCode !== 0) throw new Error(`podman version: ${v.stderr.trim()}`);
    const imp = await podman(['import', BUSYBOX_TAR, 'busybox:latest'], 120_000);
    if (imp.exitCode !== 0) throw new Error(`podman import: ${imp.stderr.trim()}`);
    log(`podman ${v.stdout.trim()} ready (netns ${netns})`);
    return {
      name: 'podman',
      version: v.stdout.trim(),
      image: 'localhost/busybox:latest',
      // Podman raises RLIMIT_NOFILE and RLIMIT_NPROC in the container by default; this machine
      // forbids raising them above its hard limits, so runc fails without these.
      runFlags: ['--ulimit', 'nofile=1024:20000', '--ulimit', 'nproc=1024:1024', '--cgroup-parent', cgroupParent],
      netns,
      cli: podman,
      teardown,
    };
  } catch (err) {
    await teardown();
    throw err;
  }
}
