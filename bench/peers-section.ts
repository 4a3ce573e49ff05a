/**
 * Section "peers": the commands a user types, side by side with Docker and Podman started by the
 * benchmark (bench/peers.ts), interleaved round by round in the same run:
 *   - the CLI floor: `node -e ""`, `tsnet version`, `docker version`, `podman version`;
 *   - `run --rm` of busybox `true` on a user bridge, without and with `-p 127.0.0.1:PORT:80`;
 *   - `network create` (bridge) and `network rm`.
 * Whole commands, wall clock from spawn to exit. A peer that cannot start is reported with the
 * reason and the others still run. tsnet's commands run as users get them (the launcher's thin
 * client: the daemon runs the command) and, as a reference in the same rounds, through node
 * (TSNET_CLI_DIRECT=0).
 */
import fs from 'node:fs';
import { CLI_ENTRY, cleanEnv, run } from '../test/helpers/world.js';
import {
  apiOk,
  benchWorld,
  ms,
  ok,
  ratio,
  stats,
  table,
  timingRow,
  type BenchOptions,
  type ReportRow,
  type SectionResult,
} from './lib.js';
import { missingPeers, startDocker, startPodman, type Peer } from './peers.js';

interface Case {
  key: string;
  label: string;
  /** The issue's bound on tsnet ÷ peer, e.g. `docker 0.20`. */
  target?: string;
  /** One timed sample of tsnet, and of a peer. */
  tsnet: () => Promise<number>;
  /** The same command through node (TSNET_CLI_DIRECT=0): the reference row. */
  tsnetNode?: () => Promise<number>;
  peer: (p: Peer) => Promise<number>;
}

const NODE_PATH = { TSNET_CLI_DIRECT: '0' };

/** CPU time (user + sys, ms) a process has used so far, from /proc (clock ticks: 10 ms steps). */
function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

/**
 * CPU time (user + sys, ms) of one command, from bash's `time` keyword (getrusage of the child,
 * millisecond precision; GNU time only gives centiseconds): unlike wall time it barely moves with
 * the machine's load, so it shows what the CLI itself costs when the box is shared.
 */
async function cpuMs(cmd: string, args: string[], env: Record<string, string> = {}): Promise<number> {
  const script = 'TIMEFORMAT="%3U %3S"; time "$@" >/dev/null 2>&1';
  const r = await run('bash', ['-c', script, 'cpu', cmd, ...args], { env: cleanEnv(env) });
  const m = /([0-9.]+) ([0-9.]+)\s*$/.exec(r.stderr);
  if (!m) throw new Error(`${cmd} ${args.join(' ')}: no timing from bash: ${r.stderr.trim().slice(0, 200)}`);
  return (Number(m[1]) + Number(m[2])) * 1000;
}

function must(r: { exitCode: number; stderr: string; stdout: string; ms: number }, what: string): number {
  if (r.exitCode !== 0) throw new Error(`${what}: exit ${r.exitCode}: ${(r.stderr || r.stdout).trim().slice(0, 300)}`);
  return r.ms;
}

export async function benchPeers(o: BenchOptions): Promise<SectionResult> {
  const N = o.quick ? 5 : 11;
  const notes: string[] = [...missingPeers().map((m) => `not measured: ${m}`)];
  const peers: Peer[] = [];
  const w = await benchWorld();
  try {
    for (const start of [startDocker, startPodman]) {
      try {
        peers.push(await start(o.log));
      } catch (err) {
        notes.push(`not measured: ${start === startDocker ? 'Docker' : 'Podman'}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    ok(await w.cli(['network', 'create', 'benchnet']), 'tsnet network create benchnet');
    for (const p of peers) must(await p.cli(['network', 'create', 'benchnet']), `${p.name} network create benchnet`);

    const runArgs = (extra: string[]) => ['run', '--rm', '--network', 'benchnet', ...extra];
    const cases: Case[] = [
      {
        key: 'version',
        label: 'version (CLI start + one request)',
        tsnet: async () => ok(await w.cli(['version']), 'tsnet version').ms,
        tsnetNode: async () => ok(await w.cli(['version'], { env: NODE_PATH }), 'tsnet version (node)').ms,
        peer: async (p) => must(await p.cli(['version']), `${p.name} version`),
      },
      {
        key: 'run',
        label: 'run --rm, user bridge',
        target: 'docker 0.20',
        tsnet: async () => ok(await w.cli([...runArgs([]), 'busybox', 'true']), 'tsnet run').ms,
        tsnetNode: async () => ok(await w.cli([...runArgs([]), 'busybox', 'true'], { env: NODE_PATH }), 'tsnet run (node)').ms,
        peer: async (p) => must(await p.cli([...runArgs(p.runFlags), p.image, 'true']), `${p.name} run`),
      },
      {
        key: 'run-p',
        label: 'run --rm, user bridge, -p 127.0.0.1:18080:80',
        target: 'docker 0.20',
        tsnet: async () => ok(await w.cli([...runArgs(['-p', '127.0.0.1:18080:80']), 'busybox', 'true']), 'tsnet run -p').ms,
        peer: async (p) =>
          must(await p.cli([...runArgs([...p.runFlags, '-p', '127.0.0.1:18080:80']), p.image, 'true']), `${p.name} run -p`),
      },
      {
        key: 'net-create',
        label: 'network create (bridge)',
        target: 'docker 0.30, podman 1.0',
        tsnet: async () => ok(await w.cli(['network', 'create', 'bnc']), 'tsnet network create').ms,
        tsnetNode: async () =>
          ok(await w.cli(['network', 'create', 'bnc-node'], { env: NODE_PATH }), 'tsnet network create (node)').ms,
        peer: async (p) => must(await p.cli(['network', 'create', 'bnc']), `${p.name} network create`),
      },
      {
        key: 'net-rm',
        label: 'network rm',
        tsnet: async () => ok(await w.cli(['network', 'rm', 'bnc']), 'tsnet network rm').ms,
        tsnetNode: async () => ok(await w.cli(['network', 'rm', 'bnc-node'], { env: NODE_PATH }), 'tsnet network rm (node)').ms,
        peer: async (p) => must(await p.cli(['network', 'rm', 'bnc']), `${p.name} network rm`),
      },
    ];
    const samples = new Map<string, number[]>();
    const add = (k: string, v: number): void => {
      samples.set(k, [...(samples.get(k) ?? []), v]);
    };
    for (let i = -1; i < N; i++) {
      o.log(`peers: round ${i + 1}/${N}`);
      const node = (await run('node', ['-e', ''], { env: cleanEnv() })).ms;
      if (i >= 0) add('node', node);
      const cn = await cpuMs('node', ['-e', '']);
      // the thin client's work is in the daemon: its CPU over the command counts as client side
      const version: [string, string[]] = [CLI_ENTRY, ['-H', `unix://${w.socket}`, 'version']];
      const d0 = processCpuMs(w.daemon?.pid);
      const ct = await cpuMs(...version);
      const d1 = processCpuMs(w.daemon?.pid);
      const ctn = await cpuMs(...version, NODE_PATH);
      const d2 = processCpuMs(w.daemon?.pid);
      if (i >= 0) {
        add('cpu node', cn);
        add('cpu tsnet', ct);
        add('cpu daemon', d1 - d0);
        add('cpu tsnet node', ctn);
        add('cpu daemon node', d2 - d1);
      }
      // the daemon's share of `tsnet version`: the same request from this process
      const req = (await apiOk(w.socket, 'GET', '/version')).ms;
      if (i >= 0) add('request', req);
      for (const c of cases) {
        const t = await c.tsnet();
        if (i >= 0) add(`tsnet ${c.key}`, t);
        if (c.tsnetNode) {
          const tn = await c.tsnetNode();
          if (i >= 0) add(`node ${c.key}`, tn);
        }
        for (const p of peers) {
          const v = await c.peer(p);
          if (i >= 0) add(`${p.name} ${c.key}`, v);
        }
      }
    }

    const med = (k: string): number => stats(samples.get(k) ?? []).median;
    const header = ['whole command', 'n', 'median ms', 'min', 'max', ...peers.map((p) => `÷ ${p.name}`)];
    const rows: string[][] = [header];
    rows.push(timingRow('node -e "" (the floor of any Node CLI)', samples.get('node')!, ...peers.map(() => '')));
    rows.push(timingRow('GET /version from the bench process (daemon side)', samples.get('request')!, ...peers.map(() => '')));
    const report: ReportRow[] = [];
    for (const c of cases) {
      const t = med(`tsnet ${c.key}`);
      rows.push(
        timingRow(`tsnet ${c.label}`, samples.get(`tsnet ${c.key}`)!, ...peers.map((p) => ratio(t, med(`${p.name} ${c.key}`)))),
      );
      if (c.tsnetNode) {
        const tn = med(`node ${c.key}`);
        rows.push(
          timingRow(
            `  tsnet through node (TSNET_CLI_DIRECT=0)`,
            samples.get(`node ${c.key}`)!,
            ...peers.map((p) => ratio(tn, med(`${p.name} ${c.key}`))),
          ),
        );
        report.push({
          group: 'cli-node',
          key: `${c.key}-node`,
          what: `${c.label}, through node (TSNET_CLI_DIRECT=0: reference)`,
          tsnet: tn,
          peers: Object.fromEntries(peers.map((p) => [p.name, med(`${p.name} ${c.key}`)])),
        });
      }
      for (const p of peers)
        rows.push(timingRow(`  ${p.name} ${c.label}`, samples.get(`${p.name} ${c.key}`)!, ...peers.map(() => '')));
      report.push({
        group: 'commands',
        key: c.key,
        what: c.label,
        tsnet: t,
        peers: Object.fromEntries(peers.map((p) => [p.name, med(`${p.name} ${c.key}`)])),
        ...(c.target ? { target: c.target } : {}),
      });
    }
    const clientSide = med('tsnet version') - med('node') - med('request');
    const nodeClientSide = med('node version') - med('node') - med('request');
    // daemon CPU in 10 ms ticks: the mean over the rounds, not the median of mostly 0 or 10
    const mean = (k: string): number => (samples.get(k) ?? []).reduce((a, b) => a + b, 0) / (samples.get(k)?.length || 1);
    const cpuSide = med('cpu tsnet') + mean('cpu daemon') - med('cpu node');
    const nodeCpuSide = med('cpu tsnet node') + mean('cpu daemon node') - med('cpu node');
    report.push({ group: 'cli', key: 'node', what: 'node -e "" (Node start-up alone)', tsnet: med('node'), peers: {} });
    report.push({
      group: 'cli',
      key: 'client',
      what: 'CLI client side: tsnet version − node -e "" − the request (thin client)',
      tsnet: clientSide,
      peers: {},
      target: '≤ 10 ms',
    });
    report.push({
      group: 'cli',
      key: 'client-cpu',
      what: 'CLI client side in CPU time: tsnet version (launcher + the daemon during it) − node -e "" (user+sys)',
      tsnet: cpuSide,
      peers: {},
      target: '≤ 10 ms',
    });
    report.push({
      group: 'cli-node',
      key: 'client-node',
      what: 'CLI client side through node (TSNET_CLI_DIRECT=0: reference): version − node -e "" − the request',
      tsnet: nodeClientSide,
      peers: {},
    });
    report.push({
      group: 'cli-node',
      key: 'client-cpu-node',
      what: 'CLI client side in CPU time through node (reference): version + daemon − node -e ""',
      tsnet: nodeCpuSide,
      peers: {},
    });
    const text = [
      `whole commands, 1 warm-up + ${N} rounds, tsnet and ${peers.map((p) => `${p.name} ${p.version}`).join(', ') || 'no peer'} interleaved`,
      '',
      table(rows),
      '',
      `tsnet version − node -e "" − GET /version: ${ms(clientSide)} ms with the thin client (the daemon runs the command), ${ms(nodeClientSide)} ms through node (TSNET_CLI_DIRECT=0)`,
      `CPU time (user+sys; bash time for the client, /proc for the daemon, mean): node -e "" ${ms(med('cpu node'))} ms; tsnet version: launcher ${ms(med('cpu tsnet'))} + daemon ${ms(mean('cpu daemon'))} ms = ${ms(cpuSide)} ms over node; through node ${ms(med('cpu tsnet node'))} + daemon ${ms(mean('cpu daemon node'))} ms = ${ms(nodeCpuSide)} ms over node`,
      `load average at the end: ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
      ...notes,
    ].join('\n');
    const headlines = peers.flatMap((p) => [
      {
        what: `run --rm user bridge vs ${p.name}`,
        value: `${ms(med('tsnet run'))} ms`,
        against: `${p.name} ${ms(med(`${p.name} run`))} ms (${ratio(med('tsnet run'), med(`${p.name} run`))}; target ≤ 0.20× Docker)`,
      },
      {
        what: `run --rm -p vs ${p.name}`,
        value: `${ms(med('tsnet run-p'))} ms`,
        against: `${p.name} ${ms(med(`${p.name} run-p`))} ms (${ratio(med('tsnet run-p'), med(`${p.name} run-p`))})`,
      },
      {
        what: `network create vs ${p.name}`,
        value: `${ms(med('tsnet net-create'))} ms`,
        against: `${p.name} ${ms(med(`${p.name} net-create`))} ms (${ratio(med('tsnet net-create'), med(`${p.name} net-create`))})`,
      },
    ]);
    headlines.push({
      what: 'CLI client side (version − node − request)',
      value: `${ms(clientSide)} ms`,
      against: `node -e "" ${ms(med('node'))} ms (target ≤ +10 ms); through node (TSNET_CLI_DIRECT=0) ${ms(nodeClientSide)} ms`,
    });
    return { text, headlines, report };
  } finally {
    for (const p of peers) await p.teardown().catch((err: unknown) => o.log(`${p.name} teardown: ${String(err)}`));
    await w.teardown();
  }
}
