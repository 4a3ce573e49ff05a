/**
 * The multi-host test world: N "hosts" as network namespaces joined by an underlay bridge that
 * lives in a namespace of its own (the "switch"), one etcd (Debian etcd-server) on the underlay
 * in a namespace of its own, and — when asked — one tsnetd per host (a test/helpers/world.ts
 * World whose host netns is wired to the underlay).
 *
 *   switch netns:  bridge ul0 ── veth ──▶ host i netns: eth0 10.99.0.(10+i)/24
 *                              ── veth ──▶ etcd netns:   eth0 10.99.0.2/24  (etcd :2379)
 *                              ── veth ──▶ client netns: eth0 10.99.0.3/24  (this test process)
 *
 * The test process itself cannot reach the underlay (tests never touch the machine's own
 * interfaces), so in-process etcd clients are made after `enterClientNetns()`: the process's
 * main thread moves into the client namespace for the rest of the test file (ava runs each
 * file in its own process) and `leave()` moves it back. Sockets (gRPC to etcd) are opened on
 * the main thread, so they live in the client namespace.
 *
 * Teardown kills every process it started, by pid, unmounts every namespace file, removes the
 * temp dir — also after a failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import koffi from 'koffi';
import { cleanEnv, createWorld, eventually, run, type RunOptions, type RunResult, type World } from './world.js';

export const UNDERLAY_PREFIX = '10.99.0';
export const UNDERLAY_LEN = 24;
export const ETCD_IP = `${UNDERLAY_PREFIX}.2`;
export const CLIENT_IP = `${UNDERLAY_PREFIX}.3`;
export const hostIp = (i: number): string => `${UNDERLAY_PREFIX}.${10 + i}`;

const CLONE_NEWNET = 0x40000000;

export interface UnderlayHost {
  index: number;
  /** Underlay address of the host (its advertise address). */
  ip: string;
  /** The host's netns file. */
  netns: string;
  /** Its tsnetd world, when daemons were asked for. */
  world?: World;
  /** Run a command inside the host's netns. */
  exec(args: string[], opts?: RunOptions): Promise<RunResult>;
}

/** Host i's (1-based) tsnetd world; throws when daemons were not started. */
export function hostWorld(mh: MultiHost, i: number): World {
  const w = mh.hosts[i - 1]?.world;
  if (!w) throw new Error(`host ${i} has no tsnetd: call startDaemons() first`);
  return w;
}

/** `tsnet ARGS` on host i; its trimmed stdout, or an error naming the host, command and stderr. */
export async function hostOk(mh: MultiHost, i: number, args: string[]): Promise<string> {
  const r = await hostWorld(mh, i).cli(args, { timeoutMs: 60_000 });
  if (r.exitCode !== 0) throw new Error(`host ${i}: tsnet ${args.join(' ')} failed (${r.exitCode}): ${r.stderr}`);
  return r.stdout.trim();
}

export interface EtcdServer {
  url: string;
  ip: string;
  netns: string;
  dataDir: string;
  readonly pid: number | undefined;
  running(): boolean;
  start(): Promise<void>;
  /** Stop etcd (SIGTERM, or SIGKILL) and wait for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  log(): string;
}

export interface MultiHost {
  id: string;
  dir: string;
  switchNetns: string;
  clientNetns: string;
  hosts: UnderlayHost[];
  etcd: EtcdServer;
  /** `etcd://10.99.0.2:2379` */
  clusterStore: string;
  /** Move this process's main thread into the client netns; returns the way back. */
  enterClientNetns(): () => void;
  /** Run a command inside any netns file. */
  execIn(netns: string, args: string[], opts?: RunOptions): Promise<RunResult>;
  /** Make an extra netns file (a "container" sandbox for in-process driver tests). */
  makeNetns(name: string): string;
  /** Start one tsnetd per host (World per host, wired to the underlay, with the cluster flags). */
  startDaemons(extraArgs?: string[]): Promise<void>;
  teardown(): Promise<void>;
}

export interface MultiHostOptions {
  hosts: number;
  /** Start etcd right away (default true). */
  etcd?: boolean;
  /** Underlay MTU (default 1500). */
  mtu?: number;
}

function sh(args: string[], what: string): string {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`${what}: ${args.join(' ')}: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
  return r.stdout;
}

function newNetnsFile(file: string): void {
  fs.writeFileSync(file, '');
  sh(['unshare', `--net=${file}`, 'true'], `make netns ${file}`);
  sh(['nsenter', `--net=${file}`, 'ip', 'link', 'set', 'lo', 'up'], `lo up in ${file}`);
}

/** Wire `netns` to the switch bridge with a veth (eth0 inside, `port` in the switch). */
function plug(switchNs: string, port: string, netns: string, cidr: string | undefined, mtu: number): void {
  sh(
    [
      'nsenter',
      `--net=${switchNs}`,
      'ip',
      'link',
      'add',
      port,
      'mtu',
      String(mtu),
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'mtu',
      String(mtu),
      'netns',
      netns,
    ],
    'veth to the underlay',
  );
  sh(['nsenter', `--net=${switchNs}`, 'ip', 'link', 'set', port, 'master', 'ul0', 'up'], 'switch port up');
  if (cidr) sh(['nsenter', `--net=${netns}`, 'ip', 'addr', 'add', cidr, 'dev', 'eth0'], 'underlay address');
  sh(['nsenter', `--net=${netns}`, 'ip', 'link', 'set', 'eth0', 'up'], 'underlay link up');
}

export async function createMultiHost(opts: MultiHostOptions): Promise<MultiHost> {
  const id = crypto.randomBytes(4).toString('hex');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tsnet-mh${id}-`));
  const mtu = opts.mtu ?? 1500;
  const procs = new Set<ChildProcess>();
  const netnsFiles: string[] = [];
  const worlds: World[] = [];
  let left: (() => void) | undefined;

  const nsFile = (name: string): string => {
    const f = path.join(dir, `ns-${name}`);
    newNetnsFile(f);
    netnsFiles.push(f);
    return f;
  };
  const execIn = (netns: string, args: string[], o: RunOptions = {}): Promise<RunResult> =>
    run('nsenter', [`--net=${netns}`, ...args], o);

  const teardown = async (): Promise<void> => {
    if (left) {
      left();
      left = undefined;
    }
    for (const w of worlds) {
      try {
        await w.teardown();
      } catch {
        /* keep going */
      }
    }
    for (const p of procs) await killAndWait(p);
    for (const f of netnsFiles.reverse()) {
      spawnSync('umount', ['-l', f]);
      fs.rmSync(f, { force: true });
    }
    // any other mount left under the dir (etcd never mounts; defensive)
    for (const m of mountsUnder(dir)) spawnSync('umount', ['-l', m]);
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    const switchNetns = nsFile('switch');
    sh(['nsenter', `--net=${switchNetns}`, 'ip', 'link', 'add', 'ul0', 'mtu', String(mtu), 'type', 'bridge'], 'underlay bridge');
    sh(['nsenter', `--net=${switchNetns}`, 'ip', 'link', 'set', 'ul0', 'up'], 'underlay bridge up');

    const etcdNetns = nsFile('etcd');
    plug(switchNetns, 'p-etcd', etcdNetns, `${ETCD_IP}/${UNDERLAY_LEN}`, mtu);
    const clientNetns = nsFile('client');
    plug(switchNetns, 'p-client', clientNetns, `${CLIENT_IP}/${UNDERLAY_LEN}`, mtu);

    const hosts: UnderlayHost[] = [];
    for (let i = 1; i <= opts.hosts; i++) {
      const netns = nsFile(`host${i}`);
      plug(switchNetns, `p-h${i}`, netns, `${hostIp(i)}/${UNDERLAY_LEN}`, mtu);
      hosts.push({ index: i, ip: hostIp(i), netns, exec: (args, o) => execIn(netns, args, o) });
    }

    const etcd = makeEtcd(dir, etcdNetns, procs);
    const mh: MultiHost = {
      id,
      dir,
      switchNetns,
      clientNetns,
      hosts,
      etcd,
      clusterStore: `etcd://${ETCD_IP}:2379`,
      enterClientNetns() {
        if (left) return left;
        const back = enterNetns(clientNetns);
        left = back;
        return () => {
          if (left === back) {
            back();
            left = undefined;
          }
        };
      },
      execIn,
      makeNetns: (name) => nsFile(name),
      async startDaemons(extraArgs = []) {
        for (const h of hosts) {
          const w = await createWorld({ busybox: true });
          worlds.push(w);
          h.world = w;
          // the world's host netns takes the host's place on the underlay (same address);
          // its tsnetd restarts with the cluster flags
          sh(['nsenter', `--net=${switchNetns}`, 'ip', 'link', 'del', `p-h${h.index}`], 'unplug the bare host');
          plug(switchNetns, `p-w${h.index}`, w.hostNetns, `${h.ip}/${UNDERLAY_LEN}`, mtu);
          await w.killDaemon('SIGTERM');
          await w.startDaemon(['--cluster-store', mh.clusterStore, '--advertise-addr', h.ip, ...extraArgs]);
          h.netns = w.hostNetns;
          h.exec = (args, o) => execIn(w.hostNetns, args, o);
        }
      },
      teardown,
    };
    if (opts.etcd !== false) await etcd.start();
    return mh;
  } catch (err) {
    await teardown();
    throw err;
  }
}

function makeEtcd(dir: string, netns: string, procs: Set<ChildProcess>): EtcdServer {
  const dataDir = path.join(dir, 'etcd-data');
  const logFile = path.join(dir, 'etcd.log');
  let child: ChildProcess | undefined;
  const server: EtcdServer = {
    url: `http://${ETCD_IP}:2379`,
    ip: ETCD_IP,
    netns,
    dataDir,
    get pid() {
      return child?.pid;
    },
    running: () => !!child && child.exitCode === null && child.signalCode === null,
    async start() {
      if (server.running()) return;
      fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      const log = fs.openSync(logFile, 'a');
      // setpriv and nsenter (without --fork) exec: the child's pid is etcd's. The parent-death
      // signal kills etcd even when this process is killed before its teardown runs.
      child = spawn(
        'setpriv',
        [
          '--pdeathsig',
          'SIGKILL',
          'nsenter',
          `--net=${netns}`,
          '/usr/bin/etcd',
          '--name',
          'tsnet-test',
          '--data-dir',
          dataDir,
          '--listen-client-urls',
          `http://${ETCD_IP}:2379`,
          '--advertise-client-urls',
          `http://${ETCD_IP}:2379`,
          '--listen-peer-urls',
          `http://${ETCD_IP}:2380`,
          '--initial-advertise-peer-urls',
          `http://${ETCD_IP}:2380`,
          '--initial-cluster',
          `tsnet-test=http://${ETCD_IP}:2380`,
          '--initial-cluster-state',
          'new',
          '--heartbeat-interval',
          '50',
          '--election-timeout',
          '300',
          '--log-level',
          'warn',
        ],
        { env: cleanEnv(), stdio: ['ignore', log, log] },
      );
      fs.closeSync(log);
      procs.add(child);
      const c = child;
      const ok = await eventually(
        async () => {
          if (c.exitCode !== null) return true;
          const r = await run(
            'nsenter',
            [
              `--net=${netns}`,
              'bash',
              '-c',
              `exec 3<>/dev/tcp/${ETCD_IP}/2379 && printf 'GET /health HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3`,
            ],
            { timeoutMs: 2000 },
          );
          return /"health":\s*"true"/.test(r.stdout);
        },
        20_000,
        100,
      );
      if (!ok || c.exitCode !== null) throw new Error(`etcd did not come up:\n${server.log()}`);
    },
    async stop(signal = 'SIGTERM') {
      if (!child) return;
      await killAndWait(child, signal);
      procs.delete(child);
      child = undefined;
    },
    log: () => {
      try {
        return fs.readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
  };
  return server;
}

async function killAndWait(p: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null || p.pid === undefined) return;
  const exited = (ms: number): Promise<boolean> =>
    new Promise<boolean>((resolve) => {
      if (p.exitCode !== null || p.signalCode !== null) return resolve(true);
      const timer = setTimeout(() => {
        p.off('exit', onExit);
        resolve(false);
      }, ms);
      const onExit = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      p.once('exit', onExit);
    });
  try {
    process.kill(p.pid, signal);
  } catch {
    return;
  }
  if (await exited(5000)) return;
  if (signal !== 'SIGKILL') {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      return;
    }
    await exited(5000);
  }
}

function mountsUnder(dir: string): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/**
 * Move the calling process's main thread into `file`'s netns (synchronously) and return the
 * function that moves it back. For test processes only: the whole file then runs its
 * in-process clients from that namespace.
 */
export function enterNetns(file: string): () => void {
  const libc = koffi.load('libc.so.6');
  const setns = libc.func('int setns(int fd, int nstype)') as (fd: number, nstype: number) => number;
  const back = fs.openSync('/proc/thread-self/ns/net', 'r');
  const target = fs.openSync(file, 'r');
  try {
    if (setns(target, CLONE_NEWNET) !== 0) throw new Error(`setns into ${file}: errno ${koffi.errno()}`);
  } finally {
    fs.closeSync(target);
  }
  let done = false;
  return () => {
    if (done) return;
    done = true;
    try {
      if (setns(back, CLONE_NEWNET) !== 0) {
        process.stderr.write(`FATAL: setns back failed: errno ${koffi.errno()}\n`);
        process.exit(99);
      }
    } finally {
      fs.closeSync(back);
    }
  };
}

/** busybox ping from a netns: true when one echo got through. */
export async function canPing(netns: string, ip: string, opts: { count?: number; timeoutS?: number } = {}): Promise<boolean> {
  const r = await run(
    'nsenter',
    [`--net=${netns}`, '/bin/busybox', 'ping', '-c', String(opts.count ?? 1), '-W', String(opts.timeoutS ?? 1), ip],
    { timeoutMs: 10_000 },
  );
  return r.exitCode === 0;
}

/**
 * A TCP round trip with busybox nc: a one-shot server in `serverNs` on `port` that answers
 * `reply`, and a client in `clientNs`. Returns what the client read.
 */
export async function tcpExchange(
  serverNs: string,
  serverIp: string,
  clientNs: string,
  port: number,
  reply: string,
): Promise<string> {
  const server = spawn('nsenter', [`--net=${serverNs}`, '/bin/busybox', 'nc', '-l', '-p', String(port)], {
    env: cleanEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  try {
    server.stdin.end(reply);
    // wait until it listens
    await eventually(
      async () => {
        const r = await run('nsenter', [`--net=${serverNs}`, 'ss', '-ltn', `sport = :${port}`]);
        return r.stdout.includes(`:${port}`);
      },
      5000,
      20,
    );
    const r = await run('nsenter', [`--net=${clientNs}`, '/bin/busybox', 'nc', '-w', '3', serverIp, String(port)], {
      input: 'hello\n',
      timeoutMs: 10_000,
    });
    return r.stdout;
  } finally {
    if (server.exitCode === null) server.kill('SIGKILL');
  }
}
