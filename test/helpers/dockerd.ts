/**
 * A throwaway dockerd (Debian's docker.io 20.10) for cross-compatibility tests.
 *
 * dockerd runs inside a throwaway netns (nsenter --net only) with its own --data-root,
 * --exec-root, --pidfile, -H unix://<tmp>.sock, --iptables=false, --ip-forward=false,
 * --ip-masq=false, --bridge=none, vfs storage, its own --cgroup-parent and trust key path; it
 * starts its own containerd under its exec-root. dockerd only finds legacy plugins in
 * /run/docker/plugins (sockets) and /etc/docker/plugins (specs), so plugins serve uniquely
 * named sockets there (include the world's `id` in their names: teardown removes them).
 * Teardown stops dockerd and its containerd by pid, kills what is left that mentions the test
 * dir, unmounts, removes cgroups, the sockets and the directories dockerd or we created
 * (/run/docker, /etc/docker/key.json) if they did not exist before.
 */
import type { ExecutionContext } from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { cleanEnv, createNsWorld, REPO, sleep, waitForSocket, type NsWorld } from '../conformance/harness.js';
import { requireNeeds } from './preconditions.js';

export const DOCKERD = ['/usr/sbin/dockerd', '/usr/bin/dockerd'].find((p) => fs.existsSync(p));
/** Debian's 20.10 CLI matches the daemon (the newer one on PATH refuses some flags with API 1.41). */
export const DOCKER_CLI = fs.existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
export const BUSYBOX_TAR = path.join(REPO, 'build', 'busybox-rootfs.tar');
export const DOCKER_PLUGIN_DIR = '/run/docker/plugins';

/** Fails (never skips) with what to install when dockerd, its CLI or the busybox tar are missing. */
export function requireDocker(): void {
  requireNeeds({
    root: true,
    commands: [
      [DOCKERD ?? '/usr/sbin/dockerd', 'docker.io'],
      [DOCKER_CLI, 'docker.io'],
    ],
    files: [[BUSYBOX_TAR, 'run npm run build']],
  });
}

export interface Run {
  code: number;
  out: string;
  err: string;
}

export function run(cmd: string, args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<Run> {
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

export function processesMentioning(text: string): number[] {
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

export function mountsUnder(prefixes: string[]): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => prefixes.some((p) => m.startsWith(p)))
    .sort((a, b) => b.length - a.length);
}

export function existsNow(p: string): boolean {
  return fs.existsSync(p);
}

export interface DockerWorld {
  w: NsWorld;
  id: string;
  docker(args: string[], timeoutMs?: number): Promise<Run>;
  log(): string;
}

export async function startDocker(t: ExecutionContext): Promise<DockerWorld> {
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

export function must(t: ExecutionContext, r: Run, what: string, log?: () => string): string {
  if (r.code !== 0)
    t.fail(
      `${what}: exit ${r.code}: ${r.err}${r.out}\n--- dockerd log (tail) ---\n${log?.().split('\n').slice(-40).join('\n') ?? ''}`,
    );
  return r.out.trim();
}
