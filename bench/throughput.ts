/**
 * Section "throughput": iperf3 (one TCP stream) through tsnet beside raw paths the benchmark
 * builds itself with plain `ip`/`nft` commands, interleaved round by round in the same run:
 *
 *   raw pair:  netns s1 —veth— [netns b1: bridge br0] —veth— netns c1       (no netfilter rules)
 *   raw pair + conntrack: the same in s3/b3/c3, with conntrack on in b3 (one `ct state` accept
 *              in its forward hook), as in tsnet's host namespace — for reference: what
 *              conntrack alone costs, so that c2c ÷ this is what tsnet's rules cost
 *   raw DNAT:  netns c2 —routed veth— [netns b2: bridge br0, one nft DNAT rule] —veth— netns s2
 *   tsnet c2c: container —veth— [world host netns: tsnet's bridge and rules] —veth— container
 *   tsnet c2c, nftables backend: the same in a second world whose daemon runs
 *              `--firewall-backend nftables` (the default backend is iptables)
 *   tsnet -p:  client ns —veth— [world host netns: DNAT of a published port] —veth— container
 *   Docker, Podman: the same two paths (container → container on a user bridge, a client ns
 *              through a published port) through the peers the bench starts itself
 *              (bench/peers.ts, bench/throughput-peers.ts): what a user of either gets, same rounds
 *
 * The raw pair is the issue's ceiling for both tsnet paths. The raw DNAT path is the like-for-like
 * ceiling of a published port: the same hops and a DNAT (hence conntrack in the middle namespace),
 * without anything else. iperf3 runs with `nsenter --net=<SandboxKey>` inside the containers'
 * network namespaces (busybox has no iperf3).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gbit, interleaved, pct, vsCeiling, type IperfPath } from './iperf.js';
import { perfAvailable } from './perf-samples.js';
import { missingPeers, startDocker, startPodman, type Peer } from './peers.js';
import { peerPaths } from './throughput-peers.js';
import {
  benchWorld,
  inspectContainer,
  makeNetns,
  must,
  routedVeth,
  ok,
  removeNetns,
  stats,
  table,
  type BenchOptions,
  type ReportRow,
  type SectionResult,
} from './lib.js';
import type { World } from '../test/helpers/world.js';

type Inspected = Awaited<ReturnType<typeof inspectContainer>>;

const peerLabel = (p: Peer): string => `${p.name === 'docker' ? 'Docker' : 'Podman'} ${p.version}`;

const loadavg = (): string =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

/** Load nft rules into a namespace (/usr/sbin/nft: under npm run, node_modules/.bin/nft is @vercel/nft). */
const nftIn = (file: string, rules: string): Promise<unknown> =>
  must('nsenter', [`--net=${file}`, '/usr/sbin/nft', '-f', '-'], `nft -f in ${path.basename(file)}`, rules);

/**
 * A bridge namespace with a server namespace on its bridge and a client namespace: for the pair,
 * on the same bridge; for the DNAT path, on a routed veth of its own (as the world's client is),
 * reaching the bridge namespace's address on that veth, port 15201, DNATed to the server's 5201
 * by one nft rule: what a published port does, and nothing else.
 */
export async function rawPath(dir: string, net: number, dnat: boolean): Promise<{ files: string[]; path: IperfPath }> {
  const f = { br: path.join(dir, `b${net}`), srv: path.join(dir, `s${net}`), cli: path.join(dir, `c${net}`) };
  for (const x of Object.values(f)) await makeNetns(x);
  const inNs = (file: string, ...args: string[]): Promise<unknown> => must('nsenter', [`--net=${file}`, ...args]);
  const sub = `10.${250 + net}.0`;
  await inNs(f.br, 'ip', 'link', 'add', 'br0', 'type', 'bridge');
  await inNs(f.br, 'ip', 'addr', 'add', `${sub}.254/24`, 'dev', 'br0');
  await inNs(f.br, 'ip', 'link', 'set', 'br0', 'up');
  await inNs(f.br, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  /** A veth from the bridge into a namespace, on the bridge's /24. */
  const bridged = async (name: string, file: string, ip: string): Promise<void> => {
    await inNs(f.br, 'ip', 'link', 'add', name, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', file);
    await inNs(f.br, 'ip', 'link', 'set', name, 'master', 'br0');
    await inNs(f.br, 'ip', 'link', 'set', name, 'up');
    await inNs(file, 'ip', 'addr', 'add', `${ip}/24`, 'dev', 'eth0');
    await inNs(file, 'ip', 'link', 'set', 'eth0', 'up');
    await inNs(file, 'ip', 'route', 'add', 'default', 'via', `${sub}.254`);
  };
  await bridged('vs', f.srv, `${sub}.1`);
  if (!dnat) {
    await bridged('vc', f.cli, `${sub}.2`);
    return { files: Object.values(f), path: { serverNs: f.srv, clientNs: f.cli, target: `${sub}.1` } };
  }
  const routed = `10.${250 + net}.1`;
  await routedVeth(f.br, 'vc', f.cli, `${routed}.1`, `${routed}.2`);
  await nftIn(
    f.br,
    `table ip rawdnat {\n chain pre { type nat hook prerouting priority dstnat; policy accept;\n  ip daddr ${routed}.1 tcp dport 15201 dnat to ${sub}.1:5201\n }\n}\n`,
  );
  return {
    files: Object.values(f),
    path: { serverNs: f.srv, clientNs: f.cli, target: `${routed}.1`, serverPort: 5201, clientPort: 15201 },
  };
}

/**
 * Two namespaces joined by one veth pair, no bridge: the least any veth path between two
 * namespaces costs. A reference beside the raw veth+bridge pair (the ceiling of issue 14.6),
 * since tsnet's container ↔ container frames skip the bridge (decision 59).
 */
export async function directPair(dir: string, net: number): Promise<{ files: string[]; path: IperfPath }> {
  const f = { srv: path.join(dir, `s${net}`), cli: path.join(dir, `c${net}`) };
  for (const x of Object.values(f)) await makeNetns(x);
  const inNs = (file: string, ...args: string[]): Promise<unknown> => must('nsenter', [`--net=${file}`, ...args]);
  const sub = `10.${250 + net}.0`;
  await inNs(f.cli, 'ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', f.srv);
  for (const [file, ip] of [
    [f.cli, `${sub}.2`],
    [f.srv, `${sub}.1`],
  ] as const) {
    await inNs(file, 'ip', 'addr', 'add', `${ip}/24`, 'dev', 'eth0');
    await inNs(file, 'ip', 'link', 'set', 'eth0', 'up');
  }
  return { files: Object.values(f), path: { serverNs: f.srv, clientNs: f.cli, target: `${sub}.1` } };
}

/** tsnet's paths: two containers on user bridge `tputnet`, the first (`srv`) publishing 15201 → 5201. */
export async function pair2(world: World): Promise<{ a: string; ia: Inspected; ib: Inspected }> {
  ok(await world.cli(['network', 'create', 'tputnet']), 'network create tputnet');
  const a = ok(
    await world.cli(['run', '-d', '--name', 'srv', '--network', 'tputnet', '-p', '15201:5201', 'busybox', 'sleep', '100000']),
    'run -d srv',
  ).stdout.trim();
  const b = ok(
    await world.cli(['run', '-d', '--name', 'cli', '--network', 'tputnet', 'busybox', 'sleep', '100000']),
    'run -d cli',
  ).stdout.trim();
  return { a, ia: await inspectContainer(world.socket, a), ib: await inspectContainer(world.socket, b) };
}

/** Conntrack on in a raw pair's bridge namespace, as tsnet's host namespace has it (NAT needs it). */
export async function conntrackOn(bridgeNs: string): Promise<void> {
  await nftIn(
    bridgeNs,
    'table ip ref {\n chain refct {\n  type filter hook forward priority filter;\n  ct state established,related accept\n }\n}\n',
  );
}

export async function benchThroughput(o: BenchOptions): Promise<SectionResult> {
  // issue 14: at least 3 alternating samples per pair. 8 rounds of 2 s rather than 5 of 3 (same
  // ~2 minutes): on a shared 2-core box one sample moves ±10 % with the load, and the medians of
  // more, shorter, interleaved samples move less (decision 46). 12 since session 10 (8 before):
  // three runs of the same code gave c↔c 99, 96 and 87 % of the raw pair.
  const ROUNDS = o.quick ? 2 : 12;
  const SECONDS = 2;
  const loadStart = loadavg();
  const w = await benchWorld();
  const rawDir = path.join(w.dir, 'bench-raw');
  const files: string[] = [];
  /** Every peer that started (torn down at the end); `peers`: those whose two paths were made (measured). */
  const started: Peer[] = [];
  const peers: Peer[] = [];
  const notes: string[] = missingPeers().map((m) => `not measured: ${m}`);
  let wn: World | undefined;
  try {
    const { ia, ib } = await pair2(w);
    wn = await benchWorld(['--firewall-backend', 'nftables']);
    const n = await pair2(wn);
    const client = await w.addClient();
    const pair = await rawPath(rawDir, 1, false);
    files.push(...pair.files);
    const dnat = await rawPath(rawDir, 2, true);
    files.push(...dnat.files);
    const ct = await rawPath(rawDir, 3, false);
    files.push(...ct.files);
    await conntrackOn(ct.files[0]!);
    const direct = await directPair(rawDir, 4);
    files.push(...direct.files);
    const peerPath: Record<string, IperfPath> = {};
    for (const start of [startDocker, startPodman]) {
      const label = start === startDocker ? 'Docker' : 'Podman';
      try {
        const p = await start(o.log);
        started.push(p);
        const pp = await peerPaths(p, rawDir, started.length, files);
        peerPath[`${p.name}C2c`] = pp.c2c;
        peerPath[`${p.name}Pub`] = pp.pub;
        peers.push(p);
      } catch (err) {
        notes.push(`not measured: ${label}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    // in a round the peers' paths run between the c↔c group and raw DNAT: each tsnet path stays
    // next to its ceiling (raw → c2c, rawDnat → pub), for the paired ratios
    const peersOf = (k: 'C2c' | 'Pub'): Record<string, IperfPath> =>
      Object.fromEntries(peers.map((p) => [`${p.name}${k}`, peerPath[`${p.name}${k}`]!]));

    const cpu: Record<string, number[]> = {};
    const nf: Record<string, number[]> = {};
    const pathCpu: Record<string, number[]> = {};
    const s = await interleaved(
      {
        raw: pair.path,
        c2c: { serverNs: ia.sandboxKey, clientNs: ib.sandboxKey, target: ia.ip('tputnet') },
        c2cNft: { serverNs: n.ia.sandboxKey, clientNs: n.ib.sandboxKey, target: n.ia.ip('tputnet') },
        rawCt: ct.path,
        direct: direct.path,
        ...peersOf('C2c'),
        ...peersOf('Pub'),
        rawDnat: dnat.path,
        pub: { serverNs: ia.sandboxKey, clientNs: client.netns, target: client.hostIp, serverPort: 5201, clientPort: 15201 },
      },
      ROUNDS,
      SECONDS,
      o.log,
      'throughput',
      cpu,
      nf,
      pathCpu,
    );
    const med = (k: string): number => stats(s[k]!).median;
    const c2c = vsCeiling(s.c2c!, s.raw!);
    const c2cNft = vsCeiling(s.c2cNft!, s.raw!);
    const pubPair = vsCeiling(s.pub!, s.raw!);
    const pubDnat = vsCeiling(s.pub!, s.rawDnat!);
    const cpuMed = (k: string): number => stats(cpu[k]!).median;
    const row = (label: string, k: string, ...extra: string[]): string[] => {
      const st = stats(s[k]!);
      const nfMed = stats(nf[k]!).median;
      return [
        label,
        String(st.n),
        gbit(st.median),
        gbit(st.min),
        gbit(st.max),
        cpuMed(k).toFixed(0),
        Number.isFinite(nfMed) ? nfMed.toFixed(0) : '–',
        ...extra,
      ];
    };
    /** Samples per GB outside the user copies, and the ceiling's ÷ the path's (the ceiling: `of`). */
    const pathMed = (k: string): number => stats(pathCpu[k]!).median;
    const pathVs = (k: string, of: string): string =>
      Number.isFinite(pathMed(k)) ? `${pathMed(k).toFixed(0)} (${pct(pathMed(of) / pathMed(k))})` : '–';
    /** CPU per GB of the ceiling ÷ of the path: the share of the ceiling's efficiency the path keeps. */
    const cpuVs = (k: string, ceiling: string): string => pct(cpuMed(ceiling) / cpuMed(k));
    const both = (v: { ofMedians: number; paired: number }): string => `${pct(v.ofMedians)} (${pct(v.paired)})`;
    const rows = [
      [
        'iperf3, 1 TCP stream',
        'n',
        'median Gbit/s',
        'min',
        'max',
        'CPU ms/GB',
        'netfilter samples/GB',
        '÷ raw pair',
        '÷ raw DNAT',
        'CPU: ceiling ÷ path',
        'samples/GB w/o user copy',
      ],
      row('raw veth+bridge pair (c1 → s1), no rules', 'raw', '100 %', '', '100 %', pathVs('raw', 'raw')),
      row('tsnet container → container, one user bridge', 'c2c', both(c2c), '', cpuVs('c2c', 'raw'), pathVs('c2c', 'raw')),
      row('  the same, nftables firewall backend', 'c2cNft', both(c2cNft), '', cpuVs('c2cNft', 'raw'), pathVs('c2cNft', 'raw')),
      row(
        '  reference: raw pair + conntrack in the bridge netns',
        'rawCt',
        both(vsCeiling(s.rawCt!, s.raw!)),
        '',
        cpuVs('rawCt', 'raw'),
        pathVs('rawCt', 'raw'),
      ),
      row(
        '  reference: raw veth pair, no bridge (tsnet c↔c skips the bridge, decision 59)',
        'direct',
        both(vsCeiling(s.direct!, s.raw!)),
        '',
        cpuVs('direct', 'raw'),
        pathVs('direct', 'raw'),
      ),
      ...peers.map((p) =>
        row(
          `${peerLabel(p)} container → container, one user bridge`,
          `${p.name}C2c`,
          both(vsCeiling(s[`${p.name}C2c`]!, s.raw!)),
          '',
          cpuVs(`${p.name}C2c`, 'raw'),
          pathVs(`${p.name}C2c`, 'raw'),
        ),
      ),
      row(
        'raw DNAT (client ns → routed veth → bridge ns address:15201 → DNAT → server ns)',
        'rawDnat',
        pct(med('rawDnat') / med('raw')),
        '100 %',
        '100 %',
        pathVs('rawDnat', 'rawDnat'),
      ),
      row(
        `tsnet published port (client ns → ${client.hostIp}:15201 → DNAT → container)`,
        'pub',
        both(pubPair),
        both(pubDnat),
        cpuVs('pub', 'rawDnat'),
        pathVs('pub', 'rawDnat'),
      ),
      ...peers.map((p) =>
        row(
          `${peerLabel(p)} published port (client ns → its address:15201 → DNAT → container)`,
          `${p.name}Pub`,
          both(vsCeiling(s[`${p.name}Pub`]!, s.raw!)),
          both(vsCeiling(s[`${p.name}Pub`]!, s.rawDnat!)),
          cpuVs(`${p.name}Pub`, 'rawDnat'),
          pathVs(`${p.name}Pub`, 'rawDnat'),
        ),
      ),
    ];
    const vsPeers = (k: string): string =>
      peers
        .map(
          (p) =>
            `${peerLabel(p)} ${gbit(med(`${p.name}${k}`))} (tsnet ÷ ${p.name} ${pct(med(k === 'C2c' ? 'c2c' : 'pub') / med(`${p.name}${k}`))})`,
        )
        .join(', ');
    const text = [
      `iperf3 -t ${SECONDS}, ${ROUNDS} rounds, the ${Object.keys(s).length} paths one after another in every round (reversed every other round); target: tsnet ≥ 95 % of the raw ceiling`,
      `load average (1, 5, 15 min) at the section's start ${loadStart}, at its end ${loadavg()}`,
      '',
      table(rows),
      ...(peers.length > 0
        ? [
            '',
            `the peers in the same rounds: container → container ${vsPeers('C2c')}; published port ${vsPeers('Pub')}.`,
            `(${peers.map((p) => `${peerLabel(p)}: its own daemon and rules in a namespace of its own, bench/peers.ts`).join('; ')}.)`,
          ]
        : []),
      ...notes,
      '',
      'ratios: of the medians, and in brackets the median of the per-round ratios (each tsnet sample ÷ its ceiling sample of the same round).',
      'CPU ms/GB: median of iperf3 client + server CPU (getrusage, softirq work in their context included) per GB received; "CPU: ceiling ÷ path" is',
      "the ceiling's CPU per GB ÷ the path's (c2c and the conntrack reference against the raw pair, the published port against raw DNAT): the",
      "share of the ceiling's efficiency a path keeps, which the machine's load moves far less than Gbit/s.",
      perfAvailable()
        ? 'netfilter samples/GB: median of `perf record -a -F 2999` samples per GB received, of the iperf3 and ksoftirqd threads, in nf_tables, xtables,'
        : 'netfilter samples/GB: – (perf not found: install linux-perf for this column).',
      perfAvailable()
        ? "conntrack, NAT and br_netfilter functions (bench/perf-samples.ts): what each path's packets cost in netfilter, beside the raw paths' own br_netfilter."
        : '',
      perfAvailable()
        ? "samples/GB w/o user copy: all those samples but the ones copying between sockets and user memory (_copy_from_iter, _copy_to_iter, …), and in brackets the ceiling's ÷ the path's: the path's own"
        : '',
      perfAvailable()
        ? "cost per GB. The copies cost the same on every path but move most from sample to sample with the machine's state (262–671 per GB within one path, decision 53)."
        : '',
    ].join('\n');
    const report: ReportRow[] = [
      {
        group: 'throughput',
        key: 'tput-c2c',
        what: 'iperf3 container → container (one user bridge)',
        tsnet: med('c2c'),
        peers: {
          'raw veth+bridge pair': med('raw'),
          'raw pair + conntrack in the bridge netns (reference)': med('rawCt'),
          'raw veth pair, no bridge (reference)': med('direct'),
          ...Object.fromEntries(peers.map((p) => [peerLabel(p), med(`${p.name}C2c`)])),
        },
        target: 'raw veth+bridge pair ≥0.95',
        unit: 'Gbit/s',
      },
      {
        group: 'throughput',
        key: 'tput-c2c-nft',
        what: 'iperf3 container → container, nftables backend',
        tsnet: med('c2cNft'),
        peers: { 'raw veth+bridge pair': med('raw') },
        target: 'raw veth+bridge pair ≥0.95',
        unit: 'Gbit/s',
      },
      {
        group: 'throughput',
        key: 'tput-pub',
        what: 'iperf3 through a published port (DNAT)',
        tsnet: med('pub'),
        peers: {
          'raw DNAT path': med('rawDnat'),
          'raw veth+bridge pair': med('raw'),
          ...Object.fromEntries(peers.map((p) => [peerLabel(p), med(`${p.name}Pub`)])),
        },
        target: 'raw DNAT path ≥0.95',
        unit: 'Gbit/s',
      },
    ];
    return {
      text,
      report,
      headlines: [
        {
          what: 'iperf3 container ↔ container',
          value: `${gbit(med('c2c'))} Gbit/s`,
          against: `raw pair ${gbit(med('raw'))} Gbit/s: ${both(c2c)} (target ≥ 95 %); nftables backend ${gbit(med('c2cNft'))} Gbit/s: ${both(c2cNft)}${peers.length ? `; ${vsPeers('C2c')}` : ''}`,
        },
        {
          what: 'iperf3 through a published port',
          value: `${gbit(med('pub'))} Gbit/s`,
          against: `raw DNAT ${gbit(med('rawDnat'))} Gbit/s: ${both(pubDnat)} (target ≥ 95 %); raw pair ${both(pubPair)}${peers.length ? `; ${vsPeers('Pub')}` : ''}`,
        },
      ],
    };
  } finally {
    for (const f of files) if (fs.existsSync(f)) await removeNetns(f);
    for (const p of started) await p.teardown();
    await wn?.teardown();
    await w.teardown();
  }
}
