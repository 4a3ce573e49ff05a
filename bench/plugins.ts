/**
 * Plugin benchmarks (issue 4):
 *  1. per-call overhead of tsnet's plugin client: median/p90/p99 of 1000 sequential calls to a
 *     trivial plugin (a separate process answering {} on a unix socket), next to a bare
 *     node:http request to the same plugin (what the client adds: classification, deadline,
 *     restart detection, decoding) and to the same plugin over TCP;
 *  2. (root only) a remote network driver cycle against the example p2p plugin in a throwaway
 *     netns: createNetwork + createEndpoint + join + leave + deleteEndpoint + deleteNetwork.
 *  3. (root only) through the daemon, in one run: `tsnet network create` and
 *     `tsnet run --rm … busybox true` on a network of the example p2p plugin vs the built-in bridge.
 *
 *   node --import tsx -e "import('./bench/plugins.ts').then(async m => console.log(await m.benchPlugins()))"
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { PluginClient } from '../src/plugins/client.js';
import { parsePluginUrl, socketAddress } from '../src/plugins/spec-files.js';

/** The trivial plugin: plain node:http, one JSON reply per call, no SDK. */
const TRIVIAL = `
const http = require('http');
const [where] = process.argv.slice(1);
const s = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const body = req.url === '/Plugin.Activate' ? '{"Implements":["NetworkDriver"]}' : '{}';
    res.writeHead(200, { 'Content-Type': 'application/vnd.docker.plugins.v1.1+json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
});
if (where.startsWith('/')) s.listen(where, () => console.log('ready'));
else s.listen(0, '127.0.0.1', () => console.log('ready ' + s.address().port));
`;

function stats(samples: number[]): { median: number; p90: number; p99: number; mean: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { median: at(0.5), p90: at(0.9), p99: at(0.99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

function fmt(label: string, samples: number[], unit: 'us' | 'ms' = 'us'): string {
  const f = (x: number): string => (unit === 'us' ? `${(x * 1000).toFixed(0)} µs` : `${x.toFixed(1)} ms`);
  const st = stats(samples);
  return `${label.padEnd(58)} median ${f(st.median).padStart(9)}  p90 ${f(st.p90).padStart(9)}  p99 ${f(st.p99).padStart(9)}  (n=${samples.length})`;
}

async function startTrivial(where: string): Promise<{ child: ChildProcess; port?: number }> {
  const child = spawn(process.execPath, ['-e', TRIVIAL, where], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { PATH: process.env.PATH ?? '' },
  });
  const line: string = await new Promise((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', (c) => reject(new Error(`trivial plugin exited ${c}`)));
  });
  const port = Number(line.split(' ')[1]);
  return { child, ...(port ? { port } : {}) };
}

function bareCall(socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath, path: '/NetworkDriver.GetCapabilities', method: 'POST', headers: { 'Content-Length': 0 }, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve());
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function time(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < 500; i++) await fn(); // warm-up (JIT, sockets)
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

async function driverCycle(lines: string[]): Promise<void> {
  if (process.getuid?.() !== 0) {
    lines.push('remote driver cycle: skipped (needs root)');
    return;
  }
  const { createNsWorld, startExample } = await import('../test/conformance/harness.js');
  const { createRemoteDriver } = await import('../src/network/drivers/remote/index.js');
  const w = await createNsWorld('tsnet-bench-plug-');
  try {
    const p = await startExample('p2p', { socketDir: path.join(w.dir, 'plugins'), netnsFile: w.hostNs, world: w });
    const client = new PluginClient(socketAddress('p2p', p.socket));
    const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
    const driver = await createRemoteDriver('p2p', client, {
      netns: w.netns,
      hostNetlink: () => w.hostNl,
      hostNetns: w.hostNs,
      logger: quiet,
    });
    const sb = await w.sandbox('bench');
    const steps: Record<string, number[]> = {
      createNetwork: [],
      createEndpoint: [],
      join: [],
      leave: [],
      deleteEndpoint: [],
      deleteNetwork: [],
      total: [],
    };
    for (let i = 0; i < 25; i++) {
      const id = (c: string): string => c.repeat(56) + String(i).padStart(8, '0');
      const nid = id('a');
      const eid = id('b');
      const t0 = performance.now();
      const lap = async (k: string, fn: () => Promise<unknown>): Promise<void> => {
        const s = performance.now();
        await fn();
        steps[k]!.push(performance.now() - s);
      };
      await lap('createNetwork', () =>
        driver.createNetwork({
          id: nid,
          name: 'b',
          options: {},
          labels: {},
          internal: false,
          enableIPv6: false,
          attachable: false,
          ipv4: [{ pool: '10.123.0.0/24', gateway: '10.123.0.1/24' }],
          ipv6: [],
        }),
      );
      await lap('createEndpoint', () =>
        driver.createEndpoint({ networkId: nid, endpointId: eid, containerId: eid, address: '10.123.0.2/24', options: {} }),
      );
      await lap('join', () =>
        driver.join({
          networkId: nid,
          endpointId: eid,
          containerId: eid,
          sandboxKey: sb,
          ifname: 'eth0',
          address: '10.123.0.2/24',
          options: {},
        }),
      );
      await lap('leave', () => driver.leave(nid, eid));
      await lap('deleteEndpoint', () => driver.deleteEndpoint(nid, eid));
      await lap('deleteNetwork', () => driver.deleteNetwork(nid));
      if (i >= 5) steps.total!.push(performance.now() - t0);
      else for (const k of Object.keys(steps)) if (k !== 'total') steps[k]!.pop();
    }
    client.close();
    lines.push('', 'remote driver (example p2p plugin, veth + /32 route via `ip`), per step:');
    for (const [k, v] of Object.entries(steps)) lines.push(fmt(`  ${k}`, v, 'ms'));
  } finally {
    await w.teardown();
  }
}

export async function benchPlugins(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-bench-plugins-'));
  const lines: string[] = [`plugin client (node ${process.version}, ${os.cpus().length} CPUs)`, ''];
  const children: ChildProcess[] = [];
  try {
    const sock = path.join(dir, 'trivial.sock');
    const u = await startTrivial(sock);
    children.push(u.child);
    const client = new PluginClient(socketAddress('trivial', sock));
    await client.activate();
    const bare = await time(1000, () => bareCall(sock));
    lines.push(
      fmt(
        'PluginClient.call over unix socket (1000 calls)',
        await time(1000, () => client.call('NetworkDriver.GetCapabilities')),
      ),
    );
    lines.push(fmt('bare node:http POST over the same socket (1000 calls)', bare));
    client.close();

    const tcp = await startTrivial('tcp');
    children.push(tcp.child);
    const tclient = new PluginClient(parsePluginUrl('trivial-tcp', `tcp://127.0.0.1:${tcp.port}`, 'bench'));
    await tclient.activate();
    lines.push(
      fmt(
        'PluginClient.call over TCP 127.0.0.1 (1000 calls)',
        await time(1000, () => tclient.call('NetworkDriver.GetCapabilities')),
      ),
    );
    tclient.close();

    // What a call costs when the plugin is gone: one refused connect, no retries.
    const dead = new PluginClient(socketAddress('dead', path.join(dir, 'none.sock')), { retryBudgetMs: 0 });
    lines.push(
      fmt(
        'a call to a missing plugin (fails at once, retries off)',
        await time(200, () => dead.call('NetworkDriver.Leave').catch(() => undefined)),
      ),
    );
    dead.close();
  } finally {
    for (const c of children) c.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
  await driverCycle(lines);
  if (process.getuid?.() === 0) await daemonPluginVsBridge(lines);
  return lines.join('\n');
}

/** Whole CLI commands on a p2p plugin network vs the built-in bridge, interleaved, same world. */
async function daemonPluginVsBridge(lines: string[]): Promise<void> {
  const { createWorld } = await import('../test/helpers/world.js');
  const { startExample } = await import('../test/conformance/harness.js');
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-bench-plugd-'));
  const pluginDir = path.join(base, 'plugins');
  fs.mkdirSync(pluginDir);
  const w = await createWorld({ daemonArgs: ['--plugin-dir', pluginDir, '--log-level', 'info'] });
  let plugin: { child: ChildProcess } | undefined;
  try {
    plugin = await startExample('p2p', { socketDir: pluginDir, netnsFile: w.hostNetns });
    const must = async (args: string[]): Promise<number> => {
      const r = await w.cli(args);
      if (r.exitCode !== 0) throw new Error(`tsnet ${args.join(' ')}: ${r.stderr}`);
      return r.ms;
    };
    const create = { p2p: [] as number[], bridge: [] as number[] };
    const run = { p2p: [] as number[], bridge: [] as number[] };
    for (let i = 0; i < 8; i++) {
      create.p2p.push(await must(['network', 'create', '-d', 'p2p', '--subnet', `10.${150 + i}.0.0/24`, `pn${i}`]));
      create.bridge.push(await must(['network', 'create', '--subnet', `10.${170 + i}.0.0/24`, `bn${i}`]));
    }
    await must(['run', '--rm', '--network', 'pn0', 'busybox', 'true']); // warm-up
    await must(['run', '--rm', '--network', 'bn0', 'busybox', 'true']);
    for (let i = 0; i < 10; i++) {
      run.p2p.push(await must(['run', '--rm', '--network', 'pn0', 'busybox', 'true']));
      run.bridge.push(await must(['run', '--rm', '--network', 'bn0', 'busybox', 'true']));
    }
    const med = (xs: number[]) => stats(xs).median;
    lines.push('', 'through the daemon (whole CLI command, same world, interleaved)');
    lines.push(
      `${'network create -d p2p (plugin) vs bridge'.padEnd(58)} ${med(create.p2p).toFixed(1)} ms vs ${med(create.bridge).toFixed(1)} ms (${(med(create.p2p) / med(create.bridge)).toFixed(2)}×, n=8)`,
    );
    lines.push(
      `${'run --rm busybox true on p2p vs bridge'.padEnd(58)} ${med(run.p2p).toFixed(1)} ms vs ${med(run.bridge).toFixed(1)} ms (${(med(run.p2p) / med(run.bridge)).toFixed(2)}×, n=10)`,
    );
  } finally {
    await w.teardown();
    plugin?.child.kill('SIGKILL');
    fs.rmSync(base, { recursive: true, force: true });
  }
}
