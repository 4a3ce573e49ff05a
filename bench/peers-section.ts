/**
 * Section "peers": the commands a user types, side by side with Docker and Podman started by the
 * benchmark (bench/peers.ts), interleaved round by round in the same run:
 *   - the CLI floor: `node -e ""`, `tsnet version`, `docker version`, `podman version`;
 *   - `run --rm` of busybox `true` on a user bridge, without and with `-p 127.0.0.1:PORT:80`;
 *   - `network create` (bridge) and `network rm`.
 * Whole commands, wall clock from spawn to exit. A peer that cannot start is reported with the
 * reason and the others still run.
 */
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
  peer: (p: Peer) => Promise<number>;
}

/**
 * CPU time (user + sys, ms) of one command, from bash's `time` keyword (getrusage of the child,
 * millisecond precision; GNU time only gives centiseconds): unlike wall time it barely moves with
 * the machine's load, so it shows what the CLI itself costs when the box is shared.
 */
async function cpuMs(cmd: string, args: string[]): Promise<number> {
  const script = 'TIMEFORMAT="%3U %3S"; time "$@" >/dev/null 2>&1';
  const r = await run('bash', ['-c', script, 'cpu', cmd, ...args], { env: cleanEnv() });
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
        peer: async (p) => must(await p.cli(['version']), `${p.name} version`),
      },
      {
        key: 'run',
        label: 'run --rm, user bridge',
        target: 'docker 0.20',
        tsnet: async () => ok(await w.cli([...runArgs([]), 'busybox', 'true']), 'tsnet run').ms,
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
        peer: async (p) => must(await p.cli(['network', 'create', 'bnc']), `${p.name} network create`),
      },
      {
        key: 'net-rm',
        label: 'network rm',
        tsnet: async () => ok(await w.cli(['network', 'rm', 'bnc']), 'tsnet network rm').ms,
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
      const ct = await cpuMs(CLI_ENTRY, ['-H', `unix://${w.socket}`, 'version']);
      if (i >= 0) {
        add('cpu node', cn);
        add('cpu tsnet', ct);
      }
      // the daemon's share of `tsnet version`: the same request from this process
      const req = (await apiOk(w.socket, 'GET', '/version')).ms;
      if (i >= 0) add('request', req);
      for (const c of cases) {
        const t = await c.tsnet();
        if (i >= 0) add(`tsnet ${c.key}`, t);
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
    const cpuSide = med('cpu tsnet') - med('cpu node');
    report.push({ group: 'cli', key: 'node', what: 'node -e "" (Node start-up alone)', tsnet: med('node'), peers: {} });
    report.push({
      group: 'cli',
      key: 'client',
      what: 'CLI client side: tsnet version − node -e "" − the request',
      tsnet: clientSide,
      peers: {},
      target: '≤ 10 ms',
    });
    report.push({
      group: 'cli',
      key: 'client-cpu',
      what: 'CLI client side in CPU time: tsnet version − node -e "" (user+sys)',
      tsnet: cpuSide,
      peers: {},
      target: '≤ 10 ms',
    });
    const text = [
      `whole commands, 1 warm-up + ${N} rounds, tsnet and ${peers.map((p) => `${p.name} ${p.version}`).join(', ') || 'no peer'} interleaved`,
      '',
      table(rows),
      '',
      `tsnet version − node -e "" − GET /version: ${ms(clientSide)} ms (the CLI's own cost on top of Node's start-up and the daemon's answer)`,
      `CPU time (user+sys, bash time): node -e "" ${ms(med('cpu node'))} ms, tsnet version ${ms(med('cpu tsnet'))} ms: +${ms(cpuSide)} ms`,
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
      against: `node -e "" ${ms(med('node'))} ms (target ≤ +10 ms)`,
    });
    return { text, headlines, report };
  } finally {
    for (const p of peers) await p.teardown().catch((err: unknown) => o.log(`${p.name} teardown: ${String(err)}`));
    await w.teardown();
  }
}
