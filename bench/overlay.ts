/**
 * Overlay benchmarks (issue 5), on two "hosts" (namespaces on an underlay bridge, with etcd in a
 * namespace of its own: test/helpers/multihost.ts):
 *
 *  1. driver level — one overlay driver + cluster store + cluster IPAM per host, driven
 *     in-process (the controller's part done by hand): convergence, the time from the start of
 *     endpoint creation on host A (createEndpoint + join, which publishes the record) — and from
 *     join returning, the analogue of `run -d` returning — until a container on host B completes
 *     a TCP connect to it. The prober on B is a resident process (started before the clock) that
 *     tries a connect every 2 ms; its sandbox has ARP retransmits at 5 ms
 *     (net.ipv4.neigh.eth0.retrans_time_ms) so a probe sent before the entry existed does not
 *     wait the default 1 s.
 *  2. through the daemons (tsnetd per host with --cluster-store): iperf3 (one TCP stream) between
 *     two containers on an overlay network, interleaved round by round with two raw paths built
 *     with plain `ip` commands over the same underlay: the same shape as the overlay (a namespace
 *     per host holding a bridge and a VXLAN device made in the host namespace and moved in, a
 *     "container" namespace on a veth into the bridge, MTU 1450 everywhere — the like-for-like
 *     ceiling, and the issue's), and a bare VXLAN pair between the two host namespaces (no
 *     bridge, no veth: the kernel's VXLAN alone). Then convergence as a user sees it (`run -d`
 *     returned → reached from host 2) and `run --rm` on the overlay vs a bridge.
 *
 *   node --import tsx bench/main.ts --only overlay
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ClusterIpam } from '../src/ipam/cluster/index.js';
import { loadLibc } from '../src/kernel/libc.js';
import { Netlink } from '../src/kernel/netlink/index.js';
import { createNetnsOps, type Netns } from '../src/kernel/netns.js';
import type { NetworkSpec } from '../src/network/driver-api.js';
import { OverlayDriver } from '../src/network/drivers/overlay/index.js';
import { ClusterStore, VXLANID_OPTION } from '../src/store/cluster/index.js';
import { overlayNetworkRecord } from '../test/helpers/cluster-records.js';
import { createMultiHost, type MultiHost, type UnderlayHost } from '../test/helpers/multihost.js';
import { cleanEnv, run, type RunResult } from '../test/helpers/world.js';
import { gbit, interleaved, pct, vsCeiling, type IperfPath } from './iperf.js';
import { median, stats, type BenchOptions, type Headline, type ReportRow, type SectionResult } from './lib.js';

async function must(r: Promise<RunResult>): Promise<RunResult> {
  const x = await r;
  if (x.exitCode !== 0) throw new Error(`overlay bench: ${(x.stderr || x.stdout).trim().slice(0, 300)}`);
  return x;
}

const ROUNDS = 21;

interface BHost {
  h: UnderlayHost;
  store: ClusterStore;
  nl: Netlink;
  driver: OverlayDriver;
  ipam: ClusterIpam;
}

/** Resident TCP prober: reads "ip port" lines, answers "ok <epoch ms>" at the first connect. */
const PROBER = `
const net = require('net');
const rl = require('readline').createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [host, port] = line.trim().split(' ');
  let done = false;
  const open = new Set();
  const attempt = () => {
    if (done) return;
    const s = net.connect({ host, port: Number(port) });
    open.add(s);
    const t = setTimeout(() => { s.destroy(); open.delete(s); }, 200);
    s.on('connect', () => {
      if (done) return;
      done = true;
      process.stdout.write('ok ' + Date.now() + '\\n');
      clearInterval(timer);
      for (const o of open) o.destroy();
    });
    s.on('error', () => { clearTimeout(t); open.delete(s); });
  };
  const timer = setInterval(attempt, 2);
  attempt();
});
`;

function percentile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

export async function benchOverlay(o: BenchOptions): Promise<SectionResult> {
  if (process.getuid?.() !== 0) return { text: 'overlay: skipped (needs root: namespaces, etcd, netlink)', headlines: [] };
  const driverLevel = await benchOverlayDriver();
  const daemons = await benchOverlayDaemons(o);
  return { ...daemons, text: `${driverLevel}\n\n${daemons.text}` };
}

/**
 * Two raw VXLAN paths between the two hosts' namespaces, built with plain `ip` commands over the
 * same underlay: `shaped` has the overlay's shape (per host a namespace holding a bridge and a
 * VXLAN device made in the host namespace and moved in, and a "container" namespace on a veth
 * into the bridge; MTU 1450 everywhere); `bare` is a VXLAN device in each host namespace itself.
 * Host 1 serves, host 2 is the client.
 */
async function rawVxlanPaths(mh: MultiHost): Promise<{ shaped: IperfPath; bare: IperfPath }> {
  const [ha, hb] = mh.hosts as [UnderlayHost, UnderlayHost];
  const ctrs: string[] = [];
  for (const [x, peer, i] of [
    [ha, hb.ip, 1],
    [hb, ha.ip, 2],
  ] as const) {
    const vxlan = (name: string, vni: string, port: string): string[] =>
      `ip link add ${name} type vxlan id ${vni} local ${x.ip} remote ${peer} dstport ${port} dev eth0`.split(' ');
    await must(x.exec(vxlan('hvx0', '42', '4790')));
    await must(x.exec(['ip', 'link', 'set', 'hvx0', 'mtu', '1450', 'up']));
    await must(x.exec(['ip', 'addr', 'add', `192.168.251.${i}/24`, 'dev', 'hvx0']));
    const ovns = mh.makeNetns(`rawov${i}`);
    const ctr = mh.makeNetns(`rawctr${i}`);
    ctrs.push(ctr);
    await must(x.exec(vxlan('rvx0', '43', '4791')));
    await must(x.exec(['ip', 'link', 'set', 'rvx0', 'mtu', '1450', 'netns', ovns]));
    const inOv = (args: string[]) => must(mh.execIn(ovns, args));
    await inOv(['ip', 'link', 'add', 'br0', 'mtu', '1450', 'type', 'bridge']);
    await inOv(['ip', 'link', 'set', 'rvx0', 'master', 'br0', 'up']);
    await inOv([...'ip link add veth0 mtu 1450 type veth peer name eth0 mtu 1450 netns'.split(' '), ctr]);
    await inOv(['ip', 'link', 'set', 'veth0', 'master', 'br0', 'up']);
    await inOv(['ip', 'link', 'set', 'br0', 'up']);
    await must(mh.execIn(ctr, ['ip', 'addr', 'add', `192.168.252.${i}/24`, 'dev', 'eth0']));
    await must(mh.execIn(ctr, ['ip', 'link', 'set', 'eth0', 'up']));
  }
  return {
    shaped: { serverNs: ctrs[0]!, clientNs: ctrs[1]!, target: '192.168.252.1', bind: '192.168.252.1' },
    bare: { serverNs: ha.netns, clientNs: hb.netns, target: '192.168.251.1', bind: '192.168.251.1', serverPort: 5202 },
  };
}

/**
 * iperf3 between two containers the daemons made on the overlay (host 2 → host 1: what a user
 * gets, sandbox DNS rules included), interleaved round by round with the two raw paths.
 */
async function overlayThroughput(
  o: BenchOptions,
  mh: MultiHost,
  overlay: IperfPath,
): Promise<{ lines: string[]; headline: Headline; row: ReportRow }> {
  const raw = await rawVxlanPaths(mh);
  // 9 rounds of 2 s since session 10 (5 of 3 s before): three runs of the same code minutes apart
  // gave 86, 102 and 97 % of the same-shape raw path, single samples moving 8.7–14.2 Gbit/s.
  // 15 since session 14: the same code gave 91 % in a full bench and 101 and 102 % in the section
  // alone minutes later (single samples 9.1–14.2 Gbit/s); ~35 s more.
  const rounds = o.quick ? 2 : 15;
  const seconds = 2;
  const s = await interleaved({ shaped: raw.shaped, overlay, bare: raw.bare }, rounds, seconds, o.log, 'overlay throughput');
  const med = (k: string): number => stats(s[k]!).median;
  const vsShaped = vsCeiling(s.overlay!, s.shaped!);
  const vsBare = vsCeiling(s.overlay!, s.bare!);
  const list = (k: string): string => s[k]!.map((x) => x.toFixed(1)).join(', ');
  return {
    lines: [
      `iperf3 1 stream, -t ${seconds}, ${rounds} interleaved rounds (Gbit/s; ratios of medians, in brackets the median of per-round ratios):`,
      `  tsnet overlay, containers of the daemons (veth + bridge + vxlan, MTU 1450)  median ${gbit(med('overlay'))}  [${list('overlay')}]`,
      `  raw, same shape built with ip (veth + bridge + vxlan, MTU 1450)           median ${gbit(med('shaped'))}  [${list('shaped')}]`,
      `  raw, bare VXLAN between the host namespaces (MTU 1450)                   median ${gbit(med('bare'))}  [${list('bare')}]`,
      `  overlay ÷ same-shape raw: ${pct(vsShaped.ofMedians)} (${pct(vsShaped.paired)}) (target ≥ 95 %); ÷ bare VXLAN: ${pct(vsBare.ofMedians)} (${pct(vsBare.paired)}); Docker overlay 14.1 vs 16.3 Gbit/s = 87 % earlier`,
    ],
    headline: {
      what: 'iperf3 over the overlay (2 hosts)',
      value: `${gbit(med('overlay'))} Gbit/s`,
      against: `raw same-shape VXLAN ${gbit(med('shaped'))} Gbit/s: ${pct(vsShaped.ofMedians)} (target ≥ 95 %); bare VXLAN ${pct(vsBare.ofMedians)}`,
    },
    row: {
      group: 'throughput',
      key: 'tput-overlay',
      what: 'iperf3 over the overlay, host 2 → host 1',
      tsnet: med('overlay'),
      peers: { 'raw VXLAN, same shape': med('shaped'), 'raw VXLAN, bare': med('bare') },
      target: 'raw VXLAN, same shape ≥0.95',
      unit: 'Gbit/s',
    },
  };
}

/**
 * Through the daemons (2 hosts, whole CLI commands): convergence = from `tsnet run -d` returning
 * on host 1 until a container on host 2 reaches it by TCP; and `run --rm … true` on the overlay vs
 * on a bridge network of the same host, interleaved.
 */
async function benchOverlayDaemons(o: BenchOptions): Promise<SectionResult> {
  const mh = await createMultiHost({ hosts: 2 });
  const lines = ['overlay through the daemons (2 hosts, whole CLI commands)'];
  const out: SectionResult = { text: '', headlines: [], report: [] };
  try {
    await mh.startDaemons();
    const h = (i: number) =>
      (
        mh.hosts[i] as unknown as {
          world: {
            cli(
              a: string[],
              o?: { timeoutMs?: number },
            ): Promise<{ exitCode: number; stdout: string; stderr: string; ms: number }>;
          };
        }
      ).world;
    const must = async (i: number, args: string[]) => {
      const r = await h(i).cli(args, { timeoutMs: 60_000 });
      if (r.exitCode !== 0) throw new Error(`host ${i + 1}: tsnet ${args.join(' ')}: ${r.stderr}`);
      return r;
    };
    await must(0, ['network', 'create', '-d', 'overlay', '--subnet', '10.88.0.0/24', '--attachable', 'ovb']);
    await must(0, ['network', 'create', '--subnet', '10.89.0.0/24', 'brb']);
    await must(1, ['run', '-d', '--name', 'probe', '--network', 'ovb', 'busybox', 'sleep', '1000']);
    await must(0, ['run', '-d', '--name', 'iperfsrv', '--network', 'ovb', 'busybox', 'sleep', '1000']);
    const sandbox = async (i: number, name: string): Promise<{ key: string; ip: string }> => {
      const [c] = JSON.parse((await must(i, ['inspect', name])).stdout) as Array<{
        NetworkSettings: { SandboxKey: string; Networks: Record<string, { IPAddress: string }> };
      }>;
      return { key: c!.NetworkSettings.SandboxKey, ip: c!.NetworkSettings.Networks.ovb!.IPAddress };
    };
    const [srv, cl] = [await sandbox(0, 'iperfsrv'), await sandbox(1, 'probe')];
    const tp = await overlayThroughput(o, mh, { serverNs: srv.key, clientNs: cl.key, target: srv.ip, bind: srv.ip });
    lines.push(...tp.lines);
    out.headlines.push(tp.headline);
    out.report!.push(tp.row);
    const conv: number[] = [];
    for (let i = 0; i < 5; i++) {
      await must(0, [
        'run',
        '-d',
        '--name',
        `t${i}`,
        '--network',
        'ovb',
        'busybox',
        'sh',
        '-c',
        'mkdir -p /www && echo hi > /www/index.html && exec httpd -f -p 80 -h /www',
      ]);
      const t0 = performance.now();
      const [c] = JSON.parse((await must(0, ['inspect', `t${i}`])).stdout) as Array<{
        NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
      }>;
      const ip = c!.NetworkSettings.Networks.ovb!.IPAddress;
      // one exec that retries every 5 ms inside host 2's probe container
      await must(1, [
        'exec',
        'probe',
        'sh',
        '-c',
        `i=0; while [ $i -lt 400 ]; do timeout 1 wget -qO- http://${ip}/ 2>/dev/null | grep -q hi && exit 0; i=$((i+1)); usleep 5000; done; exit 1`,
      ]);
      conv.push(performance.now() - t0);
    }
    const runOv: number[] = [];
    const runBr: number[] = [];
    for (let i = 0; i < 8; i++) {
      runOv.push((await must(0, ['run', '--rm', '--network', 'ovb', 'busybox', 'true'])).ms);
      runBr.push((await must(0, ['run', '--rm', '--network', 'brb', 'busybox', 'true'])).ms);
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    lines.push(
      `convergence: run -d on host 1 returned → reached by TCP from host 2 (includes one inspect + one exec): median ${med(conv).toFixed(0)} ms (n=${conv.length}; target ≤ 200 ms)`,
    );
    lines.push(
      `run --rm busybox true: overlay ${med(runOv).toFixed(0)} ms vs bridge ${med(runBr).toFixed(0)} ms (${(med(runOv) / med(runBr)).toFixed(2)}×, n=8; Docker swarm* 1093 ms)`,
    );
  } catch (err) {
    lines.push(`not measured: ${(err as Error).message}`);
  } finally {
    await mh.teardown();
  }
  return { ...out, text: lines.join('\n') };
}

async function benchOverlayDriver(): Promise<string> {
  const lines: string[] = ['overlay (2 hosts as namespaces on an underlay bridge, etcd 3.4 in a namespace; driver level)'];
  let mh: MultiHost | undefined;
  let leave: (() => void) | undefined;
  const hosts: BHost[] = [];
  let prober: ChildProcess | undefined;
  const netns: Netns = createNetnsOps(loadLibc());
  try {
    mh = await createMultiHost({ hosts: 2 });
    leave = mh.enterClientNetns();
    for (const h of mh.hosts) {
      const store = new ClusterStore({ url: mh.clusterStore, advertiseAddr: h.ip });
      await store.start();
      const nl = netns.run(h.netns, () => Netlink.open());
      const driver = new OverlayDriver({
        cluster: store,
        hostNetlink: nl,
        netns,
        netnsDir: path.join(mh.dir, `bench-h${h.index}`),
      });
      hosts.push({ h, store, nl, driver, ipam: new ClusterIpam(store) });
    }
    const [A, B] = hosts as [BHost, BHost];

    // the network, as the controller would make it
    const id = 'bench0000000000000000000';
    const pool = await A.ipam.requestPool({
      subnet: '10.77.0.0/16',
      v6: false,
      networkId: id,
      networkName: 'benchnet',
      avoid: [],
    });
    const spec: NetworkSpec = {
      id,
      name: 'benchnet',
      options: {},
      labels: {},
      internal: false,
      enableIPv6: false,
      attachable: true,
      ipv4: [{ pool: pool.subnet, gateway: `${pool.gateway}/16` }],
      ipv6: [],
    };
    Object.assign(spec.options, await A.driver.allocateNetwork(spec));
    await A.store.createNetwork(
      overlayNetworkRecord({
        id,
        name: 'benchnet',
        vni: Number(spec.options[VXLANID_OPTION]),
        options: spec.options,
        ipv4: spec.ipv4,
        poolIds: [pool.poolId],
      }),
    );
    for (let i = 0; i < 100 && !B.store.network(id); i++) await new Promise((r) => setTimeout(r, 10));
    for (const x of hosts) await x.driver.createNetwork(spec);

    let n = 0;
    /** A sandbox with an address reserved for it (what exists before the endpoint). */
    const container = async (x: BHost, name: string): Promise<{ sandbox: string; ip: string; eid: string }> => {
      const eid = `bench${String(++n).padStart(6, '0')}`;
      const sandbox = mh!.makeNetns(`b-${name}-${n}`);
      const { address } = await x.ipam.requestAddress(pool.poolId, { owner: eid });
      return { sandbox, ip: address.split('/')[0]!, eid };
    };
    const attach = async (
      x: BHost,
      c: { sandbox: string; ip: string; eid: string },
    ): Promise<{ createdAt: number; joinedAt: number }> => {
      const createdAt = Date.now();
      await x.driver.createEndpoint({ networkId: id, endpointId: c.eid, containerId: c.eid, address: `${c.ip}/16`, options: {} });
      await x.driver.join({
        networkId: id,
        endpointId: c.eid,
        containerId: c.eid,
        sandboxKey: c.sandbox,
        ifname: 'eth0',
        options: {},
      });
      return { createdAt, joinedAt: Date.now() };
    };

    // the prober container on host B
    const probe = await container(B, 'probe');
    await attach(B, probe);
    await run('nsenter', [
      `--net=${probe.sandbox}`,
      'sysctl',
      '-q',
      '-w',
      'net.ipv4.neigh.eth0.retrans_time_ms=5',
      'net.ipv4.neigh.eth0.mcast_solicit=50',
    ]);
    prober = spawn('nsenter', [`--net=${probe.sandbox}`, process.execPath, '-e', PROBER], {
      env: cleanEnv(),
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const okLines: string[] = [];
    let okWaiter: (() => void) | undefined;
    prober.stdout!.setEncoding('utf8');
    prober.stdout!.on('data', (d: string) => {
      okLines.push(...d.split('\n').filter(Boolean));
      okWaiter?.();
    });
    // one warm-up round (first sandbox on A: namespace, bridge, vxlan)
    const fromCreate: number[] = [];
    const fromJoin: number[] = [];
    const joinMs: number[] = [];
    for (let round = -1; round < ROUNDS; round++) {
      const c = await container(A, `c${round}`);
      const listener = spawn('nsenter', [`--net=${c.sandbox}`, '/bin/busybox', 'nc', '-l', '-p', '7000'], {
        env: cleanEnv(),
        stdio: 'ignore',
      });
      await new Promise((r) => setTimeout(r, 30));
      const before = okLines.length;
      const got = new Promise<void>((resolve) => {
        okWaiter = () => okLines.length > before && resolve();
      });
      prober.stdin!.write(`${c.ip} 7000\n`);
      await new Promise((r) => setTimeout(r, 20)); // the prober is already knocking
      const t = await attach(A, c);
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5000).unref());
      const res = await Promise.race([got.then(() => 'ok' as const), timeout]);
      if (listener.exitCode === null) listener.kill('SIGKILL');
      if (res === 'timeout') throw new Error(`round ${round}: host B never reached ${c.ip}`);
      const reached = Number(okLines[before]!.split(' ')[1]);
      if (round >= 0) {
        fromCreate.push(reached - t.createdAt);
        fromJoin.push(reached - t.joinedAt);
        joinMs.push(t.joinedAt - t.createdAt);
      }
      await A.driver.leave(id, c.eid);
      await A.driver.deleteEndpoint(id, c.eid);
      await A.ipam.releaseAddress(pool.poolId, c.ip);
      netns.remove(c.sandbox);
    }
    lines.push(
      `  convergence, endpoint creation on A → TCP connect from B   median ${median(fromCreate)} ms  p90 ${percentile(fromCreate, 0.9)} ms  (n=${fromCreate.length}; target ≤ 200 ms; Docker swarm run ~1100 ms)`,
      `  convergence, join returned on A (≈ run -d) → reached from B median ${median(fromJoin)} ms  p90 ${percentile(fromJoin, 0.9)} ms`,
      `  createEndpoint + join on A (warm network namespace)         median ${median(joinMs)} ms`,
    );

    return lines.join('\n');
  } finally {
    if (prober && prober.exitCode === null) prober.kill('SIGKILL');
    for (const x of hosts) {
      x.driver.close();
      await x.store.close({ revoke: true }).catch(() => undefined);
      x.nl.close();
    }
    if (mh) {
      for (const x of hosts) {
        const dir = path.join(mh.dir, `bench-h${x.h.index}`);
        for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) netns.remove(path.join(dir, f));
      }
    }
    leave?.();
    await mh?.teardown();
  }
}
