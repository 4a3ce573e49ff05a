/**
 * Shared helpers of the benchmark suite: statistics (median, min, max), a small table printer,
 * a raw HTTP client for the daemon's unix socket (node:http with socketPath, one connection per
 * request, so the timing is what a client sees without the CLI's start-up), and the section
 * result type main.ts collects.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createWorld, run, type RunResult, type World } from '../test/helpers/world.js';
import type { FirewallNetwork, FirewallPorts } from '../src/kernel/firewall/index.js';

/** Docker 20.10 / Podman 4.3 on this machine kind, from shared/reference/machine-facts.md. */
export const DOCKER_EARLIER = {
  none: 247,
  host: 156,
  defaultBridge: 316,
  userBridge: 362,
  publish: 377,
  networkCreate: 92,
  runcBundle: 26,
  cniBridgeAdd: 23,
  cniBridgeDel: 68,
} as const;

export interface BenchOptions {
  quick: boolean;
  /** Print progress lines (to stderr) while a section runs. */
  log: (msg: string) => void;
}

/** One headline number for the summary table at the end. */
export interface Headline {
  what: string;
  value: string;
  /** The peer (or target) it is compared with, and the ratio. */
  against: string;
}

/** One line of the generated docs/benchmarks.md table: tsnet's median and each peer's, same run. */
export interface ReportRow {
  group: string;
  key: string;
  what: string;
  tsnet: number;
  peers: Record<string, number>;
  /**
   * The target ratio tsnet ÷ peer, when the issue sets one: `docker 0.20` (at most, for times),
   * `raw veth+bridge pair ≥0.95` (at least, for throughput).
   */
  target?: string;
  /** Unit of tsnet and the peers (default ms). */
  unit?: string;
}

/** A curve for the chart: y (ms) at x (e.g. container number). */
export interface Curve {
  name: string;
  points: Array<[number, number]>;
}

export interface SectionResult {
  text: string;
  headlines: Headline[];
  /** Rows for docs/benchmarks.md. */
  report?: ReportRow[];
  /** Curves for the chart in docs/benchmarks.md. */
  curves?: Curve[];
}

export interface Stats {
  n: number;
  median: number;
  min: number;
  max: number;
}

export function stats(xs: number[]): Stats {
  if (xs.length === 0) return { n: 0, median: NaN, min: NaN, max: NaN };
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { n: s.length, median, min: s[0]!, max: s[s.length - 1]! };
}

export const median = (xs: number[]): number => stats(xs).median;

/** "12.3" with one decimal below 100, none above. */
export function ms(x: number): string {
  if (!Number.isFinite(x)) return '–';
  return Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(1);
}

export function ratio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '–';
  return `${(a / b).toFixed(2)}×`;
}

/** A plain-text table: first row is the header; columns after the first are right-aligned. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) {
    for (const [i, c] of r.entries()) widths[i] = Math.max(widths[i] ?? 0, c.length);
  }
  const line = (r: string[]): string =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of rows.slice(1)) out.push(line(r));
  return out.join('\n');
}

/** A row of a timing table: label, n, median, min, max (ms), then extra cells. */
export function timingRow(label: string, xs: number[], ...extra: string[]): string[] {
  const s = stats(xs);
  return [label, String(s.n), ms(s.median), ms(s.min), ms(s.max), ...extra];
}

export const TIMING_HEADER = ['', 'n', 'median ms', 'min', 'max'];

/** Run a command, throw with its output when it fails. */
export async function must(cmd: string, args: string[], what = `${cmd} ${args.join(' ')}`, input?: string): Promise<RunResult> {
  const r = await run(cmd, args, input === undefined ? {} : { input });
  if (r.exitCode !== 0) throw new Error(`${what}: exit ${r.exitCode}: ${(r.stderr || r.stdout).trim().slice(0, 500)}`);
  return r;
}

/** A CLI result that must have succeeded. */
export function ok(r: RunResult, what: string): RunResult {
  if (r.exitCode !== 0) throw new Error(`${what}: exit ${r.exitCode}: ${(r.stderr || r.stdout).trim().slice(0, 500)}`);
  return r;
}

export interface ApiReply {
  status: number;
  body: string;
  ms: number;
}

/** One request on the daemon socket; `ms` is from the request's start to the reply's last byte. */
export function api(socketPath: string, method: string, urlPath: string, body?: unknown): Promise<ApiReply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const t0 = performance.now();
    const req = http.request(
      {
        socketPath,
        method,
        path: `/v1.41${urlPath}`,
        agent: false,
        headers: payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - t0 }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** api() that must answer 2xx. */
export async function apiOk(socketPath: string, method: string, urlPath: string, body?: unknown): Promise<ApiReply> {
  const r = await api(socketPath, method, urlPath, body);
  if (r.status < 200 || r.status >= 300) throw new Error(`${method} ${urlPath}: ${r.status} ${r.body.trim().slice(0, 300)}`);
  return r;
}

/** The body of POST /containers/create for `busybox <cmd>` on one network (what `tsnet create` sends, minus defaults). */
export function createBody(
  network: string,
  cmd: string[] = ['sleep', '1000'],
  ports: Record<string, Array<{ HostIp: string; HostPort: string }>> = {},
): unknown {
  const exposed: Record<string, Record<string, never>> = {};
  for (const k of Object.keys(ports)) exposed[k] = {};
  return {
    Image: 'busybox',
    Cmd: cmd,
    AttachStdout: false,
    AttachStderr: false,
    ExposedPorts: exposed,
    HostConfig: { NetworkMode: network, PortBindings: ports },
    NetworkingConfig: { EndpointsConfig: network === 'none' || network === 'host' ? {} : { [network]: {} } },
  };
}

/** GET /containers/{id}/json → the fields the benchmarks need. */
export async function inspectContainer(
  socketPath: string,
  id: string,
): Promise<{ sandboxKey: string; ip: (net: string) => string }> {
  const r = await apiOk(socketPath, 'GET', `/containers/${id}/json`);
  const j = JSON.parse(r.body) as { NetworkSettings: { SandboxKey: string; Networks: Record<string, { IPAddress: string }> } };
  return {
    sandboxKey: j.NetworkSettings.SandboxKey,
    ip: (net) => {
      const ip = j.NetworkSettings.Networks[net]?.IPAddress;
      if (!ip) throw new Error(`container ${id.slice(0, 12)} has no address on ${net}`);
      return ip;
    },
  };
}

/** Make a network namespace file (bind mount of a new netns) with `lo` up. */
export async function makeNetns(file: string): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, '');
  await must('unshare', [`--net=${file}`, 'true']);
  await must('nsenter', [`--net=${file}`, 'ip', 'link', 'set', 'lo', 'up']);
}

/**
 * A routed /30 link from `hostNs` (end `name`, address `hostIp`) into `ns` (end eth0, address
 * `nsIp`), `ns` routing everything through it: how a client namespace reaches a host's address.
 */
export async function routedVeth(hostNs: string, name: string, ns: string, hostIp: string, nsIp: string): Promise<void> {
  const inNs = (file: string, ...args: string[]): Promise<unknown> => must('nsenter', [`--net=${file}`, ...args]);
  await inNs(hostNs, 'ip', 'link', 'add', name, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
  await inNs(hostNs, 'ip', 'addr', 'add', `${hostIp}/30`, 'dev', name);
  await inNs(hostNs, 'ip', 'link', 'set', name, 'up');
  await inNs(ns, 'ip', 'addr', 'add', `${nsIp}/30`, 'dev', 'eth0');
  await inNs(ns, 'ip', 'link', 'set', 'eth0', 'up');
  await inNs(ns, 'ip', 'route', 'add', 'default', 'via', hostIp);
}

/** Unmount and delete a netns file made by makeNetns (ignores errors). */
export async function removeNetns(file: string): Promise<void> {
  await run('umount', ['-l', file]);
  try {
    fs.rmSync(file, { force: true });
  } catch {
    /* still mounted (a teardown racing with us after Ctrl-C): the world's teardown removes it */
  }
}

export function sleep(msec: number): Promise<void> {
  return new Promise((r) => setTimeout(r, msec));
}

/** Read a process's resident set size in kB (VmRSS), or NaN. */
export function vmRssKb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** A process's CPU time so far in ms: every thread's run time from /proc/<pid>/task/<tid>/schedstat (ns). */
export function threadsCpuMs(pid: number): number {
  let ns = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      /* the thread ended meanwhile */
    }
  }
  return ns / 1e6;
}

/** The value after `--name` on the command line, or undefined. */
export function argOption(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/**
 * The wrapper the world runs in place of `node --enable-source-maps DAEMON`: the daemon of `repo`
 * (optionally profiled; `nodeFlags`: more options for node, e.g. V8 flags to try).
 */
export function daemonWrapper(label: string, repo: string, profDir?: string, nodeFlags = ''): string {
  const name = label.replace(/[^A-Za-z0-9]+/g, '-');
  const interval = process.env.TSNET_CPU_PROF_INTERVAL; // µs between samples (V8's default: 1000)
  const profFlags = profDir
    ? `--cpu-prof --cpu-prof-dir=${path.resolve(profDir, name)} ${interval ? `--cpu-prof-interval=${interval} ` : ''}`
    : '';
  const script = path.join(os.tmpdir(), `tsnet-daemon-${process.pid}-${name}.sh`);
  const main = path.join(path.resolve(repo), 'dist', 'daemon', 'main.js');
  if (!fs.existsSync(main)) throw new Error(`${main} is missing: run npm run build in ${repo}`);
  // TSNET_DAEMON_PREFIX: a command the daemon runs under (e.g. `chrt -f 50`); TSNET_NODE_FLAGS:
  // node options for every daemon (e.g. `--perf-basic-prof` for perf); profiling aids
  const prefix = process.env.TSNET_DAEMON_PREFIX ? `${process.env.TSNET_DAEMON_PREFIX} ` : '';
  const flags = [nodeFlags, process.env.TSNET_NODE_FLAGS ?? ''].filter(Boolean).join(' ');
  fs.writeFileSync(
    script,
    `#!/bin/sh\nshift 3\nexec ${prefix}node ${profFlags}${flags ? `${flags} ` : ''}--enable-source-maps ${main} "$@"\n`,
    { mode: 0o755 },
  );
  // the script outlives no run (they were left in /tmp, one or two per profile run)
  process.once('exit', () => fs.rmSync(script, { force: true }));
  return script;
}

/** Worlds alive right now, so an interrupted run (Ctrl-C) can still tear them down. */
export const liveWorlds = new Set<World>();

/** Long-running helpers (iperf3 servers) to kill on Ctrl-C; their command lines do not name a world dir. */
export const liveChildren = new Set<ChildProcess>();

/**
 * createWorld with the daemon at its production log level and its exec-root on a tmpfs (as
 * tsnetd's default /run/tsnet is; the peers' runtime dirs too, see peers.ts), registered for
 * SIGINT cleanup.
 */
export async function benchWorld(daemonArgs: string[] = []): Promise<World> {
  const w = await createWorld({ execRootTmpfs: true, daemonArgs: ['--log-level', 'info', ...daemonArgs] });
  liveWorlds.add(w);
  const teardown = w.teardown;
  w.teardown = async () => {
    liveWorlds.delete(w);
    await teardown();
  };
  return w;
}

/**
 * The firewall workers' network (one /16 named by `id`, `bridge`, `subnet16` like "10.160") and
 * its i-th endpoint publishing one TCP port (250 addresses per /24).
 */
export function benchFirewallNet(
  id: string,
  bridge: string,
  subnet16: string,
): { net: FirewallNetwork; ep: (i: number, port: number) => FirewallPorts } {
  const net: FirewallNetwork = { id, bridge, subnets: [`${subnet16}.0.0/16`], internal: false, icc: true, masquerade: true };
  const ep = (i: number, port: number): FirewallPorts => ({
    networkId: net.id,
    endpointId: `e${String(i).padStart(11, '0')}`,
    bridge: net.bridge,
    containerIp: `${subnet16}.${Math.floor(i / 250)}.${(i % 250) + 2}`,
    mappings: [{ proto: 'tcp', hostPort: port, containerPort: 80 }],
  });
  return { net, ep };
}
