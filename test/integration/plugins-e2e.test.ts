/**
 * Plugins end to end through tsnetd (issue 4): `tsnet network create -d <plugin>`, containers on
 * a plugin network ping each other, remote-IPAM addresses in `network inspect`, `plugin ls`,
 * and a hung plugin fails one operation while the API keeps answering (and a plugin may call
 * back into the API during a call).
 *
 * The daemon runs in the world's throwaway host netns with --plugin-dir/--plugin-spec-dir/
 * --plugin-timeout; the example plugins run in that same netns (nsenter), so their veths are
 * made next to the daemon's.
 */
import test, { type ExecutionContext } from 'ava';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { serveNetworkPlugin, type PluginServer } from '../../plugins/sdk/src/index.js';
import { POOL_PREFIX } from '../../src/network/sandbox-pool.js';
import { createWorld, REPO, type World } from '../helpers/world.js';
import { startExample, stopChild, type RunningPlugin } from '../conformance/harness.js';
import { requireNeeds } from '../helpers/preconditions.js';

const DAEMON = path.join(REPO, 'dist', 'daemon', 'main.js');

const serial = test.serial;
test.before(() => requireNeeds({ root: true, files: [[DAEMON, 'run npm run build']] }));

interface E2E {
  world: World;
  pluginDir: string;
  specDir: string;
  plugins: RunningPlugin[];
}

async function setup(t: ExecutionContext, extraArgs: string[] = []): Promise<E2E> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-e2e-plug-'));
  const pluginDir = path.join(base, 'plugins');
  const specDir = path.join(base, 'specs');
  fs.mkdirSync(pluginDir);
  fs.mkdirSync(specDir);
  const world = await createWorld({
    daemonArgs: ['--plugin-dir', pluginDir, '--plugin-spec-dir', specDir, '--plugin-timeout', '3000', ...extraArgs],
  });
  const e: E2E = { world, pluginDir, specDir, plugins: [] };
  t.teardown(async () => {
    await world.teardown();
    for (const p of e.plugins) await stopChild(p.child);
    fs.rmSync(base, { recursive: true, force: true });
  });
  return e;
}

async function cli(t: ExecutionContext, w: World, args: string[]): Promise<string> {
  const r = await w.cli(args);
  if (r.exitCode !== 0)
    t.fail(
      `tsnet ${args.join(' ')}: exit ${r.exitCode}: ${r.stderr}${r.stdout}\n--- daemon log ---\n${w.daemonLog().split('\n').slice(-30).join('\n')}`,
    );
  return r.stdout.trim();
}

function api(w: World, method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        socketPath: w.socket,
        path: urlPath,
        method,
        ...(data ? { headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } } : {}),
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

serial('network create -d p2p: two containers on the plugin network ping by IP; rm leaves no link behind', async (t) => {
  const e = await setup(t);
  const w = e.world;
  e.plugins.push(await startExample('p2p', { socketDir: e.pluginDir, netnsFile: w.hostNetns }));
  await cli(t, w, ['network', 'create', '-d', 'p2p', '--subnet', '10.77.0.0/24', 'pnet']);
  const inspect = JSON.parse(await cli(t, w, ['network', 'inspect', 'pnet'])) as Array<{ Driver: string }>;
  t.is(inspect[0]!.Driver, 'p2p');
  await cli(t, w, ['run', '-d', '--name', 'a', '--network', 'pnet', 'busybox', 'sleep', '300']);
  const ipA = await cli(t, w, ['inspect', '-f', '{{.NetworkSettings.Networks.pnet.IPAddress}}', 'a']);
  t.regex(ipA, /^10\.77\.0\.\d+$/);
  const out = await cli(t, w, [
    'run',
    '--rm',
    '--network',
    'pnet',
    'busybox',
    'sh',
    '-c',
    `ip -4 -o addr show eth0 && ping -c 2 -W 2 ${ipA}`,
  ]);
  t.regex(out, /inet 10\.77\.0\.\d+\/24/);
  t.regex(out, /2 packets transmitted, 2 packets received/);
  const ls = JSON.parse(await cli(t, w, ['plugin', 'ls', '--format', 'json'])) as
    | Array<{ Name: string; Status: string; Implements: string }>
    | { Name: string; Status: string };
  const rows = Array.isArray(ls) ? ls : [ls];
  t.true(
    rows.some((p) => p.Name === 'p2p' && p.Status === 'active'),
    JSON.stringify(ls),
  );
  await cli(t, w, ['rm', '-f', 'a']);
  await cli(t, w, ['network', 'rm', 'pnet']);
  const links = await w.inHost(['ip', '-o', 'link', 'show']);
  t.notRegex(links.stdout, /p2h/);
});

serial(
  "network create --ipam-driver static-ipam: network inspect shows the remote IPAM's subnet, gateway and container addresses",
  async (t) => {
    const e = await setup(t);
    const w = e.world;
    const cfg = path.join(e.specDir, '..', 'static.json');
    fs.writeFileSync(
      cfg,
      JSON.stringify({
        pools: [{ subnet: '10.88.0.0/24', gateway: '10.88.0.254', range: '10.88.0.128/25', hosts: { web: '10.88.0.10' } }],
      }),
    );
    e.plugins.push(await startExample('p2p', { socketDir: e.pluginDir, netnsFile: w.hostNetns }));
    e.plugins.push(
      await startExample('static-ipam', { socketDir: e.pluginDir, netnsFile: w.hostNetns, args: ['--config', cfg] }),
    );
    await cli(t, w, ['network', 'create', '-d', 'p2p', '--ipam-driver', 'static-ipam', 'snet']);
    await cli(t, w, ['run', '-d', '--name', 'web', '--network', 'snet', 'busybox', 'sleep', '300']);
    await cli(t, w, ['run', '-d', '--name', 'other', '--network', 'snet', 'busybox', 'sleep', '300']);
    const n = JSON.parse(await cli(t, w, ['network', 'inspect', 'snet'])) as Array<{
      IPAM: { Driver: string; Config: Array<{ Subnet: string; Gateway?: string }> };
      Containers: Record<string, { Name: string; IPv4Address: string }>;
    }>;
    t.is(n[0]!.IPAM.Driver, 'static-ipam');
    t.like(n[0]!.IPAM.Config[0], { Subnet: '10.88.0.0/24', Gateway: '10.88.0.254' });
    const byName = Object.fromEntries(Object.values(n[0]!.Containers).map((c) => [c.Name, c.IPv4Address]));
    // the daemon sends the endpoint name to the IPAM plugin, whose config pins "web" to .10
    t.is(byName.web, '10.88.0.10/24', 'the static address the IPAM plugin assigns to the name "web"');
    t.regex(byName.other ?? '', /^10\.88\.0\.1(2[89]|[3-9]\d)\/24$/);
    await cli(t, w, ['rm', '-f', 'web', 'other']);
    await cli(t, w, ['network', 'rm', 'snet']);
  },
);

serial(
  'a plugin that hangs fails only that operation (timeout) while the API keeps answering; a plugin may call the API mid-call',
  async (t) => {
    const e = await setup(t);
    const w = e.world;
    let hang = true;
    let sawNetworks: number | undefined;
    // resolved when the plugin has been asked (and has itself called the API): tsnetd is now waiting
    let entered!: () => void;
    const inCall = new Promise<void>((r) => (entered = r));
    const server: PluginServer = await serveNetworkPlugin({
      name: 'slowpoke',
      socketDir: e.pluginDir,
      handlers: {
        createNetwork: async () => {
          // Re-entrancy: call back into tsnetd while tsnetd waits for us.
          const r = await api(w, 'GET', '/networks');
          sawNetworks = r.status;
          entered();
          if (hang) await new Promise(() => undefined);
        },
        deleteNetwork: () => undefined,
        createEndpoint: () => ({}),
        deleteEndpoint: () => undefined,
        join: () => ({}),
        leave: () => undefined,
      },
    });
    t.teardown(() => server.close());
    // the create goes straight to the API, so "answered" is the moment tsnetd replied
    let createAnswered = false;
    const pending = api(w, 'POST', '/networks/create', { Name: 'slow', Driver: 'slowpoke' }).finally(() => {
      createAnswered = true;
    });
    await inCall;
    t.is(sawNetworks, 200, 'the plugin could call the API during CreateNetwork');
    // the plugin call hangs; the API answers meanwhile, before tsnetd gives up on the plugin
    const ping = await api(w, 'GET', '/networks');
    t.is(ping.status, 200);
    t.false(createAnswered, 'GET /networks was answered while the create still waited on the plugin');
    const r = await pending;
    t.true(r.status >= 400, `the create fails: ${JSON.stringify(r)}`);
    t.regex(
      String((r.body as { message?: string } | null)?.message),
      /plugin "slowpoke": NetworkDriver\.CreateNetwork: no reply within 3000 ms/,
    );
    const nets = await cli(t, w, ['network', 'ls', '--format', '{{.Name}}']);
    t.notRegex(nets, /^slow$/m, 'rolled back');
    hang = false;
    await cli(t, w, ['network', 'create', '-d', 'slowpoke', 'fast']);
  },
);

serial('a stopped plugin: run on its network fails with a clear error and leaves nothing behind', async (t) => {
  const e = await setup(t);
  const w = e.world;
  const p = await startExample('p2p', { socketDir: e.pluginDir, netnsFile: w.hostNetns });
  e.plugins.push(p);
  await cli(t, w, ['network', 'create', '-d', 'p2p', '--subnet', '10.76.0.0/24', 'gone']);
  await p.stop();
  const r = await w.cli(['run', '--rm', '--network', 'gone', 'busybox', 'true']);
  t.not(r.exitCode, 0);
  t.regex(r.stderr, /plugin "p2p".*(cannot connect|not found)/);
  const netnsDir = path.join(w.execRoot, 'netns');
  // the daemon's prepared namespaces (--netns-pool) are no sandbox
  const left = fs.existsSync(netnsDir) ? fs.readdirSync(netnsDir).filter((f) => !f.startsWith(POOL_PREFIX)) : [];
  t.deepEqual(left, [], 'no sandbox left');
  const links = await w.inHost(['ip', '-o', 'link', 'show']);
  t.notRegex(links.stdout, /p2h|p2c/);
});
