/**
 * Issue 15 (1): `rm -f` of a container whose network plugin is down never leaks. The container
 * goes at once; its host-side interface goes at once; Leave, DeleteEndpoint and ReleaseAddress
 * are kept as a pending delete (saved, shown by `network inspect` and `plugin ls`, reported by
 * `rm` in one line, holding the endpoint so `network rm` is refused) and sent when the plugin
 * answers again — also across a daemon restart. At the end no address is held, no endpoint is
 * stale and no link is left.
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createWorld, REPO, type World } from '../helpers/world.js';
import { sleep, startExample, stopChild, type RunningPlugin } from '../conformance/harness.js';
import { requireNeeds } from '../helpers/preconditions.js';

const DAEMON = path.join(REPO, 'dist', 'daemon', 'main.js');
test.before(() => requireNeeds({ root: true, files: [[DAEMON, 'run npm run build']] }));

interface Env {
  world: World;
  pluginDir: string;
  base: string;
  p2p?: RunningPlugin;
  ipam?: RunningPlugin;
}

async function hostLinks(w: World): Promise<string> {
  return (await w.inHost(['ip', '-o', 'link', 'show'])).stdout;
}

interface Inspect {
  Containers: Record<string, { Name: string; EndpointID: string; IPv4Address: string }>;
}

async function pendingEntries(w: World): Promise<string[]> {
  const n = JSON.parse(await w.ok(['network', 'inspect', 'pnet'])) as Inspect[];
  return Object.values(n[0]!.Containers)
    .map((c) => c.Name)
    .filter((name) => name.endsWith('(pending delete)'));
}

const startP2p = async (e: Env) => {
  e.p2p = await startExample('p2p', {
    socketDir: e.pluginDir,
    netnsFile: e.world.hostNetns,
    args: ['--verbose', '--state', path.join(e.base, 'p2p-state.json')],
  });
};

test.serial('rm -f with the network plugin down: nothing leaks; the teardown is finished when the plugin is back', async (t) => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-pending-'));
  const pluginDir = path.join(base, 'plugins');
  fs.mkdirSync(pluginDir);
  const cfg = path.join(base, 'static.json');
  fs.writeFileSync(cfg, JSON.stringify({ pools: [{ subnet: '10.93.0.0/24', gateway: '10.93.0.1', range: '10.93.0.128/25' }] }));
  // a short plugin timeout: the down plugin costs rm its connection retries only
  const world = await createWorld({ daemonArgs: ['--plugin-dir', pluginDir, '--plugin-timeout', '3000'] });
  const e: Env = { world, pluginDir, base };
  t.teardown(async () => {
    await world.teardown();
    for (const p of [e.p2p, e.ipam]) if (p) await stopChild(p.child);
    fs.rmSync(base, { recursive: true, force: true });
  });
  const w = world;
  await startP2p(e);
  e.ipam = await startExample('static-ipam', {
    socketDir: pluginDir,
    netnsFile: w.hostNetns,
    args: ['--verbose', '--config', cfg],
  });
  await w.ok(['network', 'create', '-d', 'p2p', '--ipam-driver', 'static-ipam', '--subnet', '10.93.0.0/24', 'pnet']);
  await w.ok(['run', '-d', '--name', 'web', '--network', 'pnet', 'busybox', 'sleep', '300']);
  t.is(await w.ok(['inspect', '-f', '{{.NetworkSettings.Networks.pnet.IPAddress}}', 'web']), '10.93.0.128');
  t.regex(await hostLinks(w), /p2h/, "the plugin's host end exists");

  // The network plugin goes away; the IPAM plugin stays.
  await stopChild(e.p2p!.child);
  e.p2p = undefined;
  const rm = await w.cli(['rm', '-f', 'web']);
  t.is(rm.exitCode, 0, rm.stderr);
  t.regex(
    rm.stderr,
    /^tsnet: warning: web: a network plugin did not answer; endpoint [0-9a-f]{12} of web on network [0-9a-f]{12}: Leave, DeleteEndpoint, ReleaseAddress pending \(.+\); tsnet retries when it answers/,
  );
  t.is(rm.stderr.trim().split('\n').length, 1, 'one line');
  t.notRegex(await hostLinks(w), /p2[hc]/, 'the host-side links go at once');
  t.deepEqual(await pendingEntries(w), ['web (pending delete)']);
  // --format json prints one object per line, as Docker's CLI does
  const ls = (await w.ok(['plugin', 'ls', '--format', 'json']))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { Name: string; Status: string });
  const p2pRow = ls.find((p) => p.Name === 'p2p');
  t.regex(p2pRow?.Status ?? '', /1 endpoint teardown\(s\) pending/);
  const nrm = await w.cli(['network', 'rm', 'pnet']);
  t.not(nrm.exitCode, 0, 'the network keeps its pending endpoint');
  t.regex(nrm.stderr, /web \(pending delete\)/);

  // It survives a daemon restart.
  await w.killDaemon('SIGKILL');
  await w.startDaemon();
  t.deepEqual(await pendingEntries(w), ['web (pending delete)'], 'the pending delete is on disk');

  // The plugin comes back: Leave, DeleteEndpoint, then ReleaseAddress to the IPAM plugin.
  const ipamOutBefore = e.ipam.output().length;
  await startP2p(e);
  for (let i = 0; i < 150 && (await pendingEntries(w)).length; i++) await sleep(200);
  t.deepEqual(await pendingEntries(w), [], `finished: ${w.daemonLog().split('\n').slice(-10).join('\n')}`);
  const p2pOut = e.p2p!.output();
  t.regex(p2pOut, /NetworkDriver\.Leave: ok[\s\S]*NetworkDriver\.DeleteEndpoint: ok/);
  t.regex(e.ipam.output().slice(ipamOutBefore), /IpamDriver\.ReleaseAddress: ok/);
  t.regex(w.daemonLog(), /teardown finished \(the plugin answered\)/);

  // The address is free again (the first of the range), and the network can go.
  await w.ok(['run', '-d', '--name', 'web2', '--network', 'pnet', 'busybox', 'sleep', '300']);
  t.is(await w.ok(['inspect', '-f', '{{.NetworkSettings.Networks.pnet.IPAddress}}', 'web2']), '10.93.0.128');
  await w.ok(['rm', '-f', 'web2']);
  await w.ok(['network', 'rm', 'pnet']);
  t.notRegex(await hostLinks(w), /p2[hc]/);
});
