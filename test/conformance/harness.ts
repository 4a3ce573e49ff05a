/**
 * Test plumbing shared by the plugin integration tests and the conformance runs: a throwaway
 * "daemon" network namespace, sandboxes, and example plugins started inside that namespace
 * (so their veths are made there, never on the machine's own interfaces).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLibc } from '../../src/kernel/libc.js';
import { createNetnsOps, type Netns } from '../../src/kernel/netns.js';
import { Netlink } from '../../src/kernel/netlink/index.js';
import { createNoneFirewall } from '../../src/kernel/firewall/none.js';
import { readSysctl, writeSysctl } from '../../src/kernel/sysctl.js';
import { createBridgeDriver } from '../../src/network/drivers/bridge/index.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const isRoot = process.getuid?.() === 0;

export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: process.env.HOME ?? '/root',
    LANG: 'C.UTF-8',
    ...extra,
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function canConnect(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(socket);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

export async function waitForSocket(
  socket: string,
  timeoutMs = 15_000,
  child?: ChildProcess,
  output?: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`plugin exited with ${child.exitCode}: ${output?.() ?? ''}`);
    if (fs.existsSync(socket) && (await canConnect(socket))) return;
    await sleep(25);
  }
  throw new Error(`no plugin socket ${socket} after ${timeoutMs} ms: ${output?.() ?? ''}`);
}

/** A throwaway world: a tmp dir, a "daemon" netns, sandboxes on demand, cleanup of all of it. */
export interface NsWorld {
  dir: string;
  netns: Netns;
  /** netns file of the fake daemon host. */
  hostNs: string;
  /** rtnetlink socket in hostNs. */
  hostNl: Netlink;
  sandbox(name: string): Promise<string>;
  /** Run a command in a netns. */
  teardown(): Promise<void>;
}

export async function createNsWorld(prefix = 'tsnet-plug-'): Promise<NsWorld> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const netns = createNetnsOps(loadLibc());
  const files: string[] = [];
  const hostNs = path.join(dir, 'hostns');
  netns.create(hostNs);
  files.push(hostNs);
  const hostNl = netns.run(hostNs, () => Netlink.open());
  await hostNl.setUp('lo');
  const children: ChildProcess[] = [];
  const world: NsWorld & { children: ChildProcess[] } = {
    dir,
    netns,
    hostNs,
    hostNl,
    children,
    async sandbox(name) {
      const f = path.join(dir, `sbx-${name}`);
      netns.create(f);
      files.push(f);
      const nl = netns.run(f, () => Netlink.open());
      try {
        await nl.setUp('lo');
      } finally {
        nl.close();
      }
      return f;
    },
    async teardown() {
      for (const c of children) await stopChild(c);
      hostNl.close();
      for (const f of files.reverse()) {
        try {
          netns.remove(f);
        } catch {
          /* best effort */
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return world;
}

/** The built-in bridge driver alone in the world's host netns (no firewall, quiet). */
export function bridgeDriverIn(w: NsWorld): ReturnType<typeof createBridgeDriver> {
  const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  return createBridgeDriver({
    host: w.hostNl,
    inNetns: (file, fn) => w.netns.run(file, fn),
    firewall: createNoneFirewall(),
    // /proc/sys/net is per netns: every sysctl goes to the throwaway host netns, never the machine's.
    sysctl: {
      write: (k, v) => w.netns.run(w.hostNs, () => writeSysctl(k, v)),
      read: (k) => w.netns.run(w.hostNs, () => readSysctl(k)),
    },
    flushConntrack: async () => undefined,
    logger: quiet,
  });
}

export async function stopChild(c: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill(signal);
  await Promise.race([exited, sleep(3_000)]);
  if (c.exitCode === null && c.signalCode === null) {
    c.kill('SIGKILL');
    await Promise.race([exited, sleep(2_000)]);
  }
}

export interface RunningPlugin {
  child: ChildProcess;
  socket: string;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Start an example plugin (`p2p`, `static-ipam`) with `node --import tsx`, inside `netnsFile`
 * when given (nsenter --net), serving <socketDir>/<name>.sock.
 */
export async function startExample(
  example: string,
  opts: { socketDir: string; name?: string; netnsFile?: string; args?: string[]; world?: NsWorld },
): Promise<RunningPlugin> {
  const name = opts.name ?? example;
  const main = path.join(REPO, 'plugins', 'examples', example, 'main.ts');
  const argv = ['node', '--import', 'tsx', main, '--socket-dir', opts.socketDir, '--name', name, ...(opts.args ?? [])];
  const cmd = opts.netnsFile ? ['nsenter', `--net=${opts.netnsFile}`, ...argv] : argv;
  const child = spawn(cmd[0]!, cmd.slice(1), { cwd: REPO, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  (opts.world as (NsWorld & { children?: ChildProcess[] }) | undefined)?.children?.push(child);
  const socket = path.join(opts.socketDir, `${name}.sock`);
  try {
    await waitForSocket(socket, 20_000, child, () => out);
  } catch (err) {
    await stopChild(child, 'SIGKILL');
    throw err;
  }
  return { child, socket, output: () => out, stop: (signal) => stopChild(child, signal) };
}

/** Names of the links in a netns. */
export async function linkNames(netns: Netns, file: string): Promise<string[]> {
  const nl = netns.run(file, () => Netlink.open());
  try {
    return (await nl.listLinks()).map((l) => l.name).sort();
  } finally {
    nl.close();
  }
}
