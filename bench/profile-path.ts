/**
 * Where the per-packet cost of tsnet's data paths goes (issue 14.6, decision 53): iperf3 through
 * the throughput section's raw paths and tsnet's, interleaved, each sample recorded with
 * `perf record -a -g -F 2999`; prints per GB received the samples of iperf3 and ksoftirqd by
 * symbol, self and inclusive (every symbol, not only netfilter), so two paths can be diffed.
 *
 *   node --import tsx bench/profile-path.ts [--rounds 4] [--seconds 2] [--top 40]
 *     [--paths raw,rawCt,c2c,rawDnat,pub] [--nft] [--ab DIR] [--bare] [--settings FILE] [--no-perf] [--full FILE]
 *
 * Paths: raw (veth+bridge pair, no rules), rawCt (the same + conntrack in the bridge netns),
 * rawDnat (routed veth → bridge netns → one DNAT), c2c (tsnet container → container), pub (tsnet
 * published port from a client netns); --nft adds c2cNft/pubNft (a world on the nftables backend);
 * --ab DIR adds c2cB/pubB: a second world whose daemon is the build in DIR (an A/B in one run);
 * --variant NAME=FILE adds c2c<NAME>/pub<NAME>: a world of this build whose host netns runs `sh FILE`
 * (a rule layout changed by hand, measured before it is written in code).
 * --bare adds c2cBare: tsnet's devices in a world whose host netns has no netfilter table at all.
 * --intervals SECONDS prints each sample's Gbit/s per second instead of profiling.
 * --full FILE writes every symbol's self and inclusive samples per GB (path, kind, symbol, value).
 * --settings FILE writes, per path, every namespace's links (`ip -d link`), `ethtool -k` of every
 * veth and bridge, qdiscs, netfilter hooks and the sysctls that can differ, to diff the paths.
 * Write the output to a file; do not pipe it into `head` (that kills the run before its teardown).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../test/helpers/world.js';
import { iperfClientArgs, iperfSample, iperfServer, stopServer, type IperfPath, type IperfSample } from './iperf.js';
import { conntrackOn, pair2, rawPath } from './throughput.js';
import { argOption, benchWorld, daemonWrapper, liveWorlds, ok, removeNetns, stats, table } from './lib.js';
import type { World } from '../test/helpers/world.js';

const args = process.argv.slice(2);
const ROUNDS = Number(argOption(args, '--rounds') ?? 4);
const SECONDS = Number(argOption(args, '--seconds') ?? 2);
const TOP = Number(argOption(args, '--top') ?? 40);
const AB = argOption(args, '--ab');
const SETTINGS = argOption(args, '--settings');
const PERF = !args.includes('--no-perf');
/** --watch SYMBOL: print each sample's self samples per GB of one symbol (to see whether a difference is steady). */
const WATCH = argOption(args, '--watch');
const loadavg = (): string => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** The throughput section's raw paths, built by its own code. */
async function rawPathOf(dir: string, net: number, kind: 'pair' | 'ct' | 'dnat'): Promise<{ files: string[]; path: IperfPath }> {
  const r = await rawPath(dir, net, kind === 'dnat');
  if (kind === 'ct') await conntrackOn(r.files[0]!);
  return r;
}

/** A world with a server (published 15201 → 5201) and a client container on one user bridge, and a client netns. */
async function tsnetPaths(w: World): Promise<{ c2c: IperfPath; pub: IperfPath; hostNs: string }> {
  const { ia, ib } = await pair2(w);
  const client = await w.addClient();
  return {
    c2c: { serverNs: ia.sandboxKey, clientNs: ib.sandboxKey, target: ia.ip('tputnet') },
    pub: { serverNs: ia.sandboxKey, clientNs: client.netns, target: client.hostIp, serverPort: 5201, clientPort: 15201 },
    hostNs: w.hostNetns,
  };
}

/** Samples of iperf3/ksoftirqd: self by leaf symbol, inclusive by every symbol of the chain (once per sample). */
interface Profile {
  all: number;
  self: Map<string, number>;
  incl: Map<string, number>;
}

const add = (m: Map<string, number>, k: string, n = 1): void => {
  m.set(k, (m.get(k) ?? 0) + n);
};

/** Parse `perf script -F comm,ip,sym` of a `-g` recording: a header line per sample, then its frames. */
function parseScript(text: string, into: Profile): void {
  let keep = false;
  let leaf = true;
  let seen = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (!/^\s/.test(line)) {
      const comm = line.trim().split(/\s+/)[0] ?? '';
      keep = comm === 'iperf3' || comm.startsWith('ksoftirqd');
      leaf = true;
      seen = new Set();
      if (keep) into.all++;
      continue;
    }
    if (!keep) continue;
    const sym = line.trim().split(/\s+/)[1] ?? '?';
    const name = sym.replace(/\+0x[0-9a-f]+$/, '');
    if (leaf) add(into.self, name);
    leaf = false;
    if (!seen.has(name)) {
      seen.add(name);
      add(into.incl, name);
    }
  }
}

/** One iperf3 sample under `perf record -a -g` (started before the client, stopped after it). */
async function recorded(p: IperfPath, prof: Profile): Promise<IperfSample & { gb: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-profile-path-'));
  const file = path.join(dir, 'perf.data');
  try {
    const rec = PERF ? spawn('perf', ['record', '-a', '-g', '-F', '2999', '-q', '-o', file], { stdio: 'ignore' }) : undefined;
    const exited = rec ? new Promise<void>((r) => rec.once('exit', () => r())) : Promise.resolve();
    if (rec) await new Promise((r) => setTimeout(r, 400)); // perf's start-up: idle samples only
    const x = await iperfSample(p, SECONDS);
    rec?.kill('SIGINT');
    await exited;
    const gb = (x.gbit * SECONDS) / 8;
    if (rec) {
      const out = await run('perf', ['script', '-i', file, '-F', 'comm,ip,sym'], { timeoutMs: 180_000 });
      parseScript(out.stdout, prof);
    }
    return { ...x, gb };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * --intervals SECONDS: instead of profiling, one iperf3 -t SECONDS per path and round with its
 * per-second Gbit/s, to see whether a slow sample is slow throughout (the machine) or only at
 * its start (a new process's warm-up, which iperf3 -O would leave out).
 */
async function intervals(p: IperfPath, seconds: number): Promise<string> {
  const server = await iperfServer(p);
  try {
    const r = await run('nsenter', iperfClientArgs(p, seconds), { timeoutMs: (seconds + 20) * 1000 });
    const j = JSON.parse(r.stdout) as { intervals?: { sum?: { bits_per_second?: number } }[] };
    return (j.intervals ?? []).map((x) => ((x.sum?.bits_per_second ?? 0) / 1e9).toFixed(1)).join(' ');
  } finally {
    stopServer(server);
  }
}

/** What can differ between two paths' namespaces: links, offloads, qdiscs, hooks, sysctls. */
async function settingsOf(label: string, nsFiles: string[]): Promise<string> {
  const out: string[] = [`######## ${label}`];
  const sh = async (ns: string, cmd: string): Promise<string> =>
    (await run('nsenter', [`--net=${ns}`, 'sh', '-c', cmd], { timeoutMs: 30_000 })).stdout;
  for (const ns of nsFiles) {
    out.push(`==== netns ${path.basename(ns)}`);
    out.push(await sh(ns, 'ip -d link show'));
    out.push(await sh(ns, 'tc qdisc show'));
    out.push(await sh(ns, '/usr/sbin/nft list hooks 2>&1'));
    out.push(await sh(ns, '/usr/sbin/nft list ruleset 2>&1 | head -400'));
    // /sys/class/net is the mount namespace's view (the host's): the netns's links come from ip
    out.push(
      await sh(
        ns,
        'for l in $(ip -o link show | cut -d: -f2 | cut -d@ -f1); do [ "$l" = lo ] && continue; echo "-- ethtool -k $l"; ethtool -k $l 2>&1 | grep -v fixed; done',
      ),
    );
    out.push(
      await sh(
        ns,
        'sysctl -a 2>/dev/null | grep -E "^net\\.(ipv4\\.conf|ipv6\\.conf|bridge|netfilter|core\\.(netdev|busy|dev_weight|rps|xfrm)|ipv4\\.(ip_forward|tcp_(rmem|wmem|congestion|mtu|sack|timestamps|autocork)))" | sort',
      ),
    );
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const load0 = loadavg();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-profile-path-ns-'));
  const files: string[] = [];
  const worlds: World[] = [];
  try {
    const paths: Record<string, IperfPath> = {};
    const nsOf: Record<string, string[]> = {};
    const want = (argOption(args, '--paths') ?? 'raw,rawCt,c2c,rawDnat,pub').split(',');
    const raws: [string, 'pair' | 'ct' | 'dnat', number][] = [
      ['raw', 'pair', 1],
      ['rawCt', 'ct', 3],
      ['rawDnat', 'dnat', 2],
    ];
    for (const [k, kind, n] of raws) {
      if (!want.includes(k)) continue;
      const r = await rawPathOf(dir, n, kind);
      files.push(...r.files);
      paths[k] = r.path;
      nsOf[k] = r.files;
    }
    const world = async (suffix: string, extra: string[], repo?: string): Promise<void> => {
      if (repo) process.env.TSNET_DAEMON_WRAP = daemonWrapper(`profile-path-${suffix}`, repo);
      try {
        const w = await benchWorld(extra);
        worlds.push(w);
        const t = await tsnetPaths(w);
        for (const k of ['c2c', 'pub'] as const) {
          if (!want.includes(k)) continue;
          paths[k + suffix] = t[k];
          nsOf[k + suffix] = [t[k].clientNs, t.hostNs, t[k].serverNs];
        }
      } finally {
        process.env.TSNET_DAEMON_WRAP = '';
      }
    };
    await world('', []);
    if (args.includes('--nft')) await world('Nft', ['--firewall-backend', 'nftables']);
    if (AB) await world('B', [], AB);
    // --variant NAME=FILE (repeatable): a world of this build whose host netns then runs `sh FILE`
    // (a hand-made rule layout to measure before writing it): paths c2c<NAME>, pub<NAME>
    for (let i = args.indexOf('--variant'); i >= 0; i = args.indexOf('--variant', i + 1)) {
      const [name, file] = (args[i + 1] ?? '').split('=');
      if (!name || !file) throw new Error('--variant NAME=FILE');
      await world(name, []);
      const w = worlds[worlds.length - 1]!;
      ok(await w.inHost(['sh', path.resolve(file)]), `variant ${name}`);
    }
    if (args.includes('--bare')) {
      // the same devices without netfilter: a world whose host netns has no table at all (its
      // daemon does not put them back: nothing re-applies rules until it restarts)
      await world('Bare', []);
      const w = worlds[worlds.length - 1]!;
      ok(await w.inHost(['/usr/sbin/nft', 'flush', 'ruleset']), 'nft flush ruleset');
      delete paths.pubBare;
    }
    if (SETTINGS) {
      const parts: string[] = [];
      for (const [k, ns] of Object.entries(nsOf)) parts.push(await settingsOf(k, ns));
      fs.writeFileSync(SETTINGS, parts.join('\n'));
      console.log(`settings written to ${SETTINGS}`);
    }
    const names = Object.keys(paths);
    const perSecond = argOption(args, '--intervals');
    if (perSecond) {
      for (let i = 0; i < ROUNDS; i++)
        for (const n of i % 2 === 0 ? names : [...names].reverse())
          console.log(
            `round ${i + 1} ${n}: ${await intervals(paths[n]!, Number(perSecond))} Gbit/s per second (load ${loadavg()})`,
          );
      return;
    }
    const prof: Record<string, Profile> = {};
    const res: Record<string, { gbit: number[]; cpu: number[]; gb: number; perGB: number[] }> = {};
    for (const n of names) {
      prof[n] = { all: 0, self: new Map(), incl: new Map() };
      res[n] = { gbit: [], cpu: [], gb: 0, perGB: [] };
    }
    const watched: Record<string, number> = {};
    for (let i = 0; i < ROUNDS; i++) {
      for (const n of i % 2 === 0 ? names : [...names].reverse()) {
        const before = prof[n]!.all;
        const x = await recorded(paths[n]!, prof[n]!);
        res[n]!.gbit.push(x.gbit);
        res[n]!.cpu.push(x.cpuMsPerGB);
        res[n]!.gb += x.gb;
        res[n]!.perGB.push((prof[n]!.all - before) / x.gb);
        if (WATCH) {
          const now = prof[n]!.self.get(WATCH) ?? 0;
          console.error(`  ${n}: ${x.gbit.toFixed(2)} Gbit/s, ${WATCH} ${((now - (watched[n] ?? 0)) / x.gb).toFixed(0)}/GB`);
          watched[n] = now;
        }
      }
      console.error(`round ${i + 1}/${ROUNDS} done, load ${loadavg()}`);
    }
    console.log(
      `profile-path: ${ROUNDS} rounds × iperf3 -t ${SECONDS}, paths interleaved (reversed every other round); load ${load0} → ${loadavg()}`,
    );
    console.log(
      table([
        [
          'path',
          'median Gbit/s',
          'min',
          'max',
          'CPU ms/GB (iperf3 getrusage)',
          'samples/GB (median of rounds)',
          'samples/GB (all rounds)',
        ],
        ...names.map((n) => {
          const r = res[n]!;
          const s = stats(r.gbit);
          return [
            n,
            s.median.toFixed(2),
            s.min.toFixed(2),
            s.max.toFixed(2),
            stats(r.cpu).median.toFixed(0),
            stats(r.perGB).median.toFixed(0),
            (prof[n]!.all / r.gb).toFixed(0),
          ];
        }),
      ]),
    );
    if (!PERF) return;
    const dump = (title: string, pick: (p: Profile) => Map<string, number>): void => {
      const syms = new Map<string, number>();
      for (const n of names) for (const [k, v] of pick(prof[n]!)) syms.set(k, Math.max(syms.get(k) ?? 0, v / res[n]!.gb));
      const top = [...syms.entries()].sort((a, b) => b[1] - a[1]).slice(0, TOP);
      console.log(`\n${title} (samples per GB received, summed over the rounds ÷ GB; top ${TOP} by the largest of any path)`);
      console.log(
        table([
          ['symbol', ...names],
          ...top.map(([k]) => [k, ...names.map((n) => ((pick(prof[n]!).get(k) ?? 0) / res[n]!.gb).toFixed(1))]),
        ]),
      );
    };
    dump('self', (p) => p.self);
    dump('inclusive (the symbol anywhere in the sample’s call chain)', (p) => p.incl);
    const full = argOption(args, '--full');
    if (full) {
      const lines: string[] = [];
      for (const n of names) for (const [k, v] of prof[n]!.self) lines.push(`${n}\tself\t${k}\t${(v / res[n]!.gb).toFixed(2)}`);
      for (const n of names) for (const [k, v] of prof[n]!.incl) lines.push(`${n}\tincl\t${k}\t${(v / res[n]!.gb).toFixed(2)}`);
      fs.writeFileSync(full, `${lines.join('\n')}\n`);
    }
  } finally {
    for (const f of files) if (fs.existsSync(f)) await removeNetns(f);
    fs.rmSync(dir, { recursive: true, force: true });
    for (const w of worlds) if (liveWorlds.has(w)) await w.teardown();
  }
}

await main();
