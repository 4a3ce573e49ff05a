/**
 * tsnet's benchmark suite: `npm run bench` (builds first), or
 *
 *   node --import tsx bench/main.ts [--only SECTION[,SECTION…]] [--quick]
 *
 * Sections: run, network, ports, scale, throughput, firewall, security, plugins, overlay. Each builds its own world
 * (a throwaway host netns with its own tsnetd, temp --root/--exec-root) and tears it down, sends
 * traffic only inside namespaces it made, reports medians with min/max, and compares against a
 * peer (runc, the CNI bridge plugin, raw veth pairs) measured in the same run. Nothing here
 * asserts a timing: the exit code is non-zero only when a section could not run.
 * See docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO } from '../test/helpers/world.js';
import {
  liveChildren,
  liveWorlds,
  table,
  type BenchOptions,
  type Curve,
  type Headline,
  type ReportRow,
  type SectionResult,
} from './lib.js';
import { targetChecklist, writeDocs } from './report.js';
import { settle, settleFs } from './settle.js';

type Section = (o: BenchOptions) => Promise<SectionResult>;

/** A module written elsewhere that may be missing: plugins.ts / overlay.ts return plain text. */
function external(file: string, exportName: string): Section {
  return async () => {
    const url = new URL(file, import.meta.url);
    if (!fs.existsSync(url)) return { text: `skipped: bench/${file.slice(2)} does not exist`, headlines: [] };
    try {
      const mod = (await import(url.href)) as Record<string, unknown>;
      const fn = mod[exportName];
      if (typeof fn !== 'function')
        return { text: `skipped: bench/${file.slice(2)} does not export ${exportName}()`, headlines: [] };
      return { text: String(await (fn as () => Promise<string>)()), headlines: [] };
    } catch (err) {
      const e = err as Error;
      return {
        text: `skipped: bench/${file.slice(2)} threw: ${(e.stack ?? String(e)).split('\n').slice(0, 6).join('\n')}`,
        headlines: [],
      };
    }
  };
}

/** `fsQuiet`: the section times file creations, so it first waits out the file system (settle.ts). */
const SECTIONS: Array<{ name: string; title: string; load: () => Promise<Section>; fsQuiet?: boolean }> = [
  {
    name: 'peers',
    fsQuiet: true,
    title: 'peers: version, run --rm (user bridge, -p), network create/rm vs Docker and Podman',
    load: async () => (await import('./peers-section.js')).benchPeers,
  },
  {
    name: 'run',
    fsQuiet: true,
    title: 'run: whole `tsnet run --rm` vs runc, supervisor RSS',
    load: async () => (await import('./run.js')).benchRun,
  },
  {
    name: 'network',
    fsQuiet: true,
    title: 'network: create/rm, attach vs CNI bridge plugin',
    load: async () => (await import('./network.js')).benchNetwork,
  },
  {
    name: 'ports',
    title: 'ports: 1000 published ports, per-port cost at 10/100/1000',
    load: async () => (await import('./ports.js')).benchPorts,
  },
  {
    name: 'scale',
    fsQuiet: true,
    title: 'scale: attach latency for container 1 … 500 on one bridge',
    load: async () => (await import('./scale.js')).benchScale,
  },
  {
    name: 'throughput',
    title: 'throughput: iperf3 through tsnet vs raw veth/bridge',
    load: async () => (await import('./throughput.js')).benchThroughput,
  },
  {
    name: 'firewall',
    title: 'firewall: per-operation cost of iptables vs nftables (in-process, nft -f) at 1/100/1000 containers',
    load: async () => (await import('./firewall.js')).benchFirewall,
  },
  {
    name: 'security',
    title: 'security: what seccomp and the device cgroup add to a start',
    load: async () => (await import('./security.js')).benchSecurity,
  },
  { name: 'plugins', title: 'plugins (bench/plugins.ts)', load: async () => external('./plugins.ts', 'benchPlugins') },
  {
    name: 'overlay',
    title: 'overlay: convergence across 2 hosts, iperf3 over the overlay vs raw VXLAN',
    load: async () => (await import('./overlay.js')).benchOverlay,
  },
];

function usage(): string {
  return `usage: node --import tsx bench/main.ts [--only SECTION[,SECTION…]] [--quick] [--docs|--no-docs]\n(docs/benchmarks.md and .svg are rewritten after a run of every section, or with --docs)\nsections: ${SECTIONS.map((s) => s.name).join(', ')}`;
}

function parseArgs(argv: string[]): { only: Set<string> | undefined; quick: boolean; docs: boolean | undefined } {
  let only: Set<string> | undefined;
  let quick = false;
  let docs: boolean | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--docs') docs = true;
    else if (a === '--no-docs') docs = false;
    else if (a === '--only' || a.startsWith('--only=')) {
      const v = a === '--only' ? argv[++i] : a.slice('--only='.length);
      if (!v) throw new Error('--only needs a section name');
      only ??= new Set();
      for (const s of v.split(',').filter(Boolean)) {
        if (!SECTIONS.some((x) => x.name === s)) throw new Error(`unknown section "${s}"`);
        only.add(s);
      }
    } else if (a === '-h' || a === '--help') {
      console.log(usage());
      process.exit(0);
    } else throw new Error(`unknown argument "${a}"`);
  }
  return { only, quick, docs };
}

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '?';
  }
}

const loadavg = (): string =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

async function main(): Promise<void> {
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`bench: ${(err as Error).message}\n${usage()}`);
    process.exit(2);
  }
  if (process.getuid?.() !== 0) {
    console.error('bench: needs root (namespaces, mounts, cgroups, iptables)');
    process.exit(1);
  }
  // Ctrl-C: tear down the worlds that are alive, then stop.
  process.once('SIGINT', () => {
    console.error('\nbench: interrupted, tearing down …');
    for (const c of liveChildren) if (c.exitCode === null) c.kill('SIGKILL');
    void Promise.allSettled([...liveWorlds].map((w) => w.teardown())).then(() => process.exit(130));
  });

  const started = performance.now();
  const dirty = sh('git', ['status', '--porcelain', '--', 'src']) ? ' (src/ has uncommitted changes)' : '';
  console.log('# tsnet benchmarks');
  console.log(
    `${new Date().toISOString()}  commit ${sh('git', ['rev-parse', '--short', 'HEAD'])}${dirty}  kernel ${os.release()}  node ${process.version}  ` +
      `${os.cpus().length} CPU ${os.cpus()[0]?.model ?? ''}  ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB${args.quick ? '  --quick' : ''}`,
  );
  console.log(
    `load average at start: ${loadavg()} (other work on the machine shows up in every number; the same-run peers share it)`,
  );
  const opts: BenchOptions = { quick: args.quick, log: (m) => process.stderr.write(`  … ${m}\n`) };
  const summary: Array<Headline & { section: string }> = [];
  const reportRows: ReportRow[] = [];
  const curves: Curve[] = [];
  const loadAtStart = loadavg();
  const problems: string[] = [];
  let lastEnd = started;
  const quietNotes: string[] = [];
  for (const s of SECTIONS) {
    if (args.only && !args.only.has(s.name)) continue;
    console.log(`\n## ${s.title}\n`);
    // what the last section (or whatever ran before the bench) left to the kernel finishes first
    const fsWait = s.fsQuiet ? await settleFs(os.tmpdir(), lastEnd) : 0;
    const q = await settle();
    quietNotes.push(
      `${s.name} ${((fsWait + q.waited) / 1000).toFixed(0)} s${fsWait ? ' incl. the ext4 wait' : ''}${q.quiet ? '' : ' NOT quiet'}`,
    );
    console.log(
      `(quiet after ${((fsWait + q.waited) / 1000).toFixed(1)} s${fsWait ? ` (${(fsWait / 1000).toFixed(0)} s for ext4 without a journal)` : ''}: CPUs ${(q.busy * 100).toFixed(0)} % busy${q.quiet ? '' : ', NOT quiet after 30 s'}; load ${loadavg()})\n`,
    );
    const t0 = performance.now();
    try {
      const fn = await s.load();
      const r = await fn(opts);
      console.log(r.text);
      for (const h of r.headlines) summary.push({ section: s.name, ...h });
      reportRows.push(...(r.report ?? []));
      curves.push(...(r.curves ?? []));
      if (r.text.startsWith('skipped') || /^\S+: skipped/.test(r.text)) problems.push(`${s.name}: ${r.text.split('\n')[0]}`);
    } catch (err) {
      const msg = (err as Error).stack ?? String(err);
      console.log(`FAILED: ${msg.split('\n').slice(0, 6).join('\n')}`);
      problems.push(`${s.name}: failed: ${(err as Error).message.split('\n')[0]}`);
    }
    lastEnd = performance.now();
    console.log(`\n(${s.name}: ${((lastEnd - t0) / 1000).toFixed(0)} s)`);
  }

  console.log('\n## summary\n');
  if (summary.length > 0)
    console.log(
      table([
        ['section', 'headline', 'tsnet', 'against (same run unless marked *)'],
        ...summary.map((h) => [h.section, h.what, h.value, h.against]),
      ]),
    );
  console.log('\n* = Docker figure measured earlier on this machine kind (shared/reference/machine-facts.md), not in this run.');
  for (const p of problems) console.log(`not measured — ${p}`);
  console.log("\nissue 14's targets (rows of this run):");
  for (const l of targetChecklist(reportRows)) console.log(l.replace(/\*\*/g, ''));
  const total = `${((performance.now() - started) / 1000).toFixed(0)} s`;
  const loadAtEnd = loadavg();
  console.log(`\ntotal ${total}; load average at start: ${loadAtStart}, at end: ${loadAtEnd}`);
  if (args.docs ?? args.only === undefined) {
    const file = writeDocs(REPO, {
      header: [
        `tsnet benchmarks ${new Date().toISOString().slice(0, 16)}Z, commit ${sh('git', ['rev-parse', '--short', 'HEAD'])}${dirty}${args.quick ? ', --quick' : ''}${args.only ? `, sections ${[...args.only].join(',')}` : ''}`,
        `${os.cpus().length} CPU ${os.cpus()[0]?.model ?? ''}, kernel ${os.release()}, node ${process.version}; ${total}`,
        `load average (1, 5, 15 min) at start ${loadAtStart}, at end ${loadAtEnd}: the peers ran in the same rounds, so the ratios hold better than the absolute times`,
        `each section started once the CPUs were quiet (${quietNotes.join('; ')})`,
      ],
      rows: reportRows,
      curves,
      problems,
      subtitle: `load average (1, 5, 15 min) at start ${loadAtStart}, at end ${loadAtEnd} · ${os.cpus().length} CPU · ${total}${args.quick ? ' · --quick' : ''}${args.only ? ` · sections ${[...args.only].join(',')}` : ''}`,
    });
    console.log(`wrote ${path.relative(REPO, file)} and docs/benchmarks.svg`);
  }
  process.exitCode = problems.some((p) => p.includes('failed')) ? 1 : 0;
}

await main();
