/**
 * Section "throughput": iperf3 (one TCP stream) between two tsnet containers on one user bridge,
 * and from a client namespace through a published port (host IP:port → DNAT → container), each
 * beside a raw path the benchmark builds itself with plain `ip` commands, alternating in the same
 * run:
 *   raw pair:   netns r1 —veth— [netns rbr: bridge br0] —veth— netns r2      (no iptables)
 *   raw routed: netns rcl —veth— [netns rbr: routes, br0] —veth— netns r1    (no NAT)
 * iperf3 runs with `nsenter --net=<SandboxKey>` inside the containers' network namespaces (the
 * busybox image has no iperf3).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cleanEnv, run } from '../test/helpers/world.js';
import {
  benchWorld,
  inspectContainer,
  liveChildren,
  makeNetns,
  must,
  ok,
  removeNetns,
  sleep,
  stats,
  table,
  type BenchOptions,
  type SectionResult,
} from './lib.js';

/** One iperf3 client run; returns Gbit/s received. */
async function iperf(
  serverNs: string,
  clientNs: string,
  target: string,
  serverPort: number,
  clientPort: number,
  seconds: number,
): Promise<number> {
  const server = spawn('nsenter', [`--net=${serverNs}`, 'iperf3', '-s', '-1', '-p', String(serverPort)], {
    env: cleanEnv(),
    stdio: 'ignore',
  });
  liveChildren.add(server);
  try {
    let listening = false;
    for (let i = 0; i < 200 && !listening; i++) {
      const r = await run('nsenter', [`--net=${serverNs}`, 'ss', '-Hltn', `sport = :${serverPort}`]);
      listening = r.stdout.includes(`:${serverPort}`);
      if (!listening) await sleep(20);
    }
    if (!listening) throw new Error(`iperf3 server did not listen on ${serverPort}`);
    const r = await run(
      'nsenter',
      [`--net=${clientNs}`, 'iperf3', '-c', target, '-p', String(clientPort), '-t', String(seconds), '--json'],
      { timeoutMs: (seconds + 20) * 1000 },
    );
    let j: { end?: { sum_received?: { bits_per_second?: number } }; error?: string };
    try {
      j = JSON.parse(r.stdout) as typeof j;
    } catch {
      throw new Error(
        `iperf3 → ${target}:${clientPort}: exit ${r.exitCode}: ${r.stderr.trim() || r.stdout.trim().slice(0, 300)}`,
      );
    }
    const bps = j.end?.sum_received?.bits_per_second;
    if (!bps) throw new Error(`iperf3 → ${target}:${clientPort}: ${j.error ?? 'no result'}`);
    return bps / 1e9;
  } finally {
    if (server.exitCode === null) server.kill('SIGKILL');
    liveChildren.delete(server);
  }
}

const gbit = (x: number): string => x.toFixed(1);

export async function benchThroughput(o: BenchOptions): Promise<SectionResult> {
  const ROUNDS = o.quick ? 1 : 3; // issue 14: at least 3 alternating samples per pair
  const SECONDS = o.quick ? 3 : 5;
  const w = await benchWorld();
  const rawDir = path.join(w.dir, 'bench-raw');
  const ns = {
    rbr: path.join(rawDir, 'rbr'),
    r1: path.join(rawDir, 'r1'),
    r2: path.join(rawDir, 'r2'),
    rcl: path.join(rawDir, 'rcl'),
  };
  try {
    // tsnet: two containers on one user bridge, the first with a published port.
    ok(await w.cli(['network', 'create', 'tputnet']), 'network create tputnet');
    const a = ok(
      await w.cli(['run', '-d', '--name', 'srv', '--network', 'tputnet', '-p', '15201:5201', 'busybox', 'sleep', '100000']),
      'run -d srv',
    ).stdout.trim();
    const b = ok(
      await w.cli(['run', '-d', '--name', 'cli', '--network', 'tputnet', 'busybox', 'sleep', '100000']),
      'run -d cli',
    ).stdout.trim();
    const ia = await inspectContainer(w.socket, a);
    const ib = await inspectContainer(w.socket, b);
    const aIp = ia.ip('tputnet');
    const client = await w.addClient();

    // raw: bridge netns + two endpoints, and a routed client.
    for (const f of Object.values(ns)) await makeNetns(f);
    const inNs = (f: string, ...args: string[]): Promise<unknown> => must('nsenter', [`--net=${f}`, ...args]);
    await inNs(ns.rbr, 'ip', 'link', 'add', 'br0', 'type', 'bridge');
    await inNs(ns.rbr, 'ip', 'addr', 'add', '10.251.0.254/24', 'dev', 'br0');
    await inNs(ns.rbr, 'ip', 'link', 'set', 'br0', 'up');
    await inNs(ns.rbr, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    for (const [name, file, ip] of [
      ['v1', ns.r1, '10.251.0.1/24'],
      ['v2', ns.r2, '10.251.0.2/24'],
    ] as const) {
      await inNs(ns.rbr, 'ip', 'link', 'add', name, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', file);
      await inNs(ns.rbr, 'ip', 'link', 'set', name, 'master', 'br0', 'up');
      await inNs(file, 'ip', 'addr', 'add', ip, 'dev', 'eth0');
      await inNs(file, 'ip', 'link', 'set', 'eth0', 'up');
      await inNs(file, 'ip', 'route', 'add', 'default', 'via', '10.251.0.254');
    }
    await inNs(ns.rbr, 'ip', 'link', 'add', 'vc', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.rcl);
    await inNs(ns.rbr, 'ip', 'addr', 'add', '10.252.0.1/30', 'dev', 'vc');
    await inNs(ns.rbr, 'ip', 'link', 'set', 'vc', 'up');
    await inNs(ns.rcl, 'ip', 'addr', 'add', '10.252.0.2/30', 'dev', 'eth0');
    await inNs(ns.rcl, 'ip', 'link', 'set', 'eth0', 'up');
    await inNs(ns.rcl, 'ip', 'route', 'add', 'default', 'via', '10.252.0.1');

    const s: Record<string, number[]> = { c2c: [], raw: [], pub: [], routed: [] };
    for (let i = 0; i < ROUNDS; i++) {
      o.log(`throughput: round ${i + 1}/${ROUNDS} (4 × ${SECONDS} s)`);
      s.c2c!.push(await iperf(ia.sandboxKey, ib.sandboxKey, aIp, 5201, 5201, SECONDS));
      s.raw!.push(await iperf(ns.r1, ns.r2, '10.251.0.1', 5201, 5201, SECONDS));
      s.pub!.push(await iperf(ia.sandboxKey, client.netns, client.hostIp, 5201, 15201, SECONDS));
      s.routed!.push(await iperf(ns.r1, ns.rcl, '10.251.0.1', 5201, 5201, SECONDS));
    }
    const m = (k: string): number => stats(s[k]!).median;
    const pct = (x: number, y: number): string => `${((x / y) * 100).toFixed(0)} %`;
    const row = (label: string, k: string, vsRaw: string, vsRouted: string): string[] => {
      const st = stats(s[k]!);
      return [label, String(st.n), gbit(st.median), gbit(st.min), gbit(st.max), vsRaw, vsRouted];
    };
    const rows = [
      ['iperf3, 1 TCP stream', 'n', 'median Gbit/s', 'min', 'max', '÷ raw pair', '÷ raw routed'],
      row('raw veth+bridge pair (r2 → r1)', 'raw', '100 %', ''),
      row('tsnet container → container, one user bridge', 'c2c', pct(m('c2c'), m('raw')), ''),
      row('raw routed, no NAT (client ns → bridge ns → r1)', 'routed', pct(m('routed'), m('raw')), '100 %'),
      row(
        `tsnet published port (client ns → ${client.hostIp}:15201 → DNAT → container)`,
        'pub',
        pct(m('pub'), m('raw')),
        pct(m('pub'), m('routed')),
      ),
    ];
    const text = [
      `iperf3 -t ${SECONDS}, ${ROUNDS} run(s) each, alternating; target: tsnet ≥ 95 % of raw`,
      '',
      table(rows),
      '',
      'Reference (measured earlier, NOT in this run): veth+bridge 21–23, iptables DNAT 23.1, Docker userland proxy 16.3 Gbit/s.',
    ].join('\n');
    return {
      text,
      headlines: [
        {
          what: 'iperf3 container ↔ container',
          value: `${gbit(m('c2c'))} Gbit/s`,
          against: `raw pair ${gbit(m('raw'))} Gbit/s: ${pct(m('c2c'), m('raw'))} (target ≥ 95 %)`,
        },
        {
          what: 'iperf3 through a published port',
          value: `${gbit(m('pub'))} Gbit/s`,
          against: `raw pair ${pct(m('pub'), m('raw'))}; raw routed ${gbit(m('routed'))} Gbit/s: ${pct(m('pub'), m('routed'))}`,
        },
      ],
    };
  } finally {
    for (const f of Object.values(ns)) if (fs.existsSync(f)) await removeNetns(f);
    await w.teardown();
  }
}
