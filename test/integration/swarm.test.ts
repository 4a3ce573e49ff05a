/**
 * Single-node swarm mode (src/swarm, docs/swarm.md): `swarm init` makes the node a swarm of
 * one with the ingress network; overlay networks made then have swarm scope and a real data path
 * (VXLAN device and bridge in the network's namespace) without any cluster store; the state
 * survives a daemon restart; `swarm leave --force` removes every swarm network and leaves no
 * kernel object behind.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { api, type ApiReply } from '../helpers/api.js';
import { createWorld, eventually, type World } from '../helpers/world.js';

const serial = test.serial;
let w: World | undefined;

test.before(async () => {
  w = await createWorld();
});

test.after.always(async () => {
  await w?.teardown();
});

const world = (): World => w!;
const ok = (args: string[]) => world().ok(args);
const msg = (r: ApiReply) => (r.json as { message?: string } | undefined)?.message ?? r.text;
const call = (method: string, p: string, body?: unknown) =>
  api(world().socket, { method, path: p, ...(body !== undefined ? { body } : {}) });

interface Net {
  Id: string;
  Name: string;
  Scope: string;
  Driver: string;
  Ingress: boolean;
  Attachable: boolean;
  Options: Record<string, string>;
  IPAM: { Driver: string; Config: Array<{ Subnet: string; Gateway: string }> };
}

async function inspectNet(name: string): Promise<Net> {
  return (JSON.parse(await ok(['network', 'inspect', name])) as Net[])[0]!;
}

/** What the network's overlay data path is made of: `ip -d link` in its namespace. */
async function overlayLinks(n: Net): Promise<string> {
  const vni = n.Options['com.docker.network.driver.overlay.vxlanid_list'];
  const file = path.join(world().execRoot, 'netns', `ov-${vni}-${n.Id.slice(0, 12)}`);
  const r = await world().inHost(['nsenter', `--net=${file}`, 'ip', '-d', 'link', 'show']);
  return r.stdout;
}

/** Kernel objects swarm networks leave in the daemon's namespace and the netns dir. */
async function leftovers(): Promise<string[]> {
  const links = (await world().inHost(['ip', '-o', 'link', 'show'])).stdout
    .split('\n')
    .map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '')
    .filter((n) => /^ts(vx|br|ov)/.test(n));
  const files = fs.readdirSync(path.join(world().execRoot, 'netns')).filter((f) => f.startsWith('ov-'));
  return [...links, ...files];
}

serial('swarm init, ingress, an attachable swarm overlay with traffic, scope, restart, leave', async (t) => {
  // outside swarm mode: Docker's 503s, info says inactive
  t.is(await ok(['info', '-f', '{{.Swarm.LocalNodeState}}']), 'inactive');
  t.is((await call('GET', '/services')).status, 503);

  // the world's namespace has no default route: nothing to advertise by default (Docker's words)
  const noAddr = await world().cli(['swarm', 'init']);
  t.not(noAddr.exitCode, 0);
  t.regex(noAddr.stderr, /could not find the system's IP address - specify one with --advertise-addr\n$/);
  t.false(fs.existsSync(path.join(world().root, 'swarm')), 'a refused init leaves no state');
  const init = await ok(['swarm', 'init', '--advertise-addr', '127.0.0.1']);
  const nodeId = /current node \(([0-9a-z]{25})\) is now a manager/.exec(init)?.[1];
  t.truthy(nodeId, init);
  const again = await call('POST', '/swarm/init', { ListenAddr: '0.0.0.0:2377', AdvertiseAddr: '127.0.0.1' });
  t.is(again.status, 503);
  t.regex(msg(again), /^This node is already part of a swarm\. Use "docker swarm leave"/);
  const join = await call('POST', '/swarm/join', { RemoteAddrs: ['10.9.9.9:2377'], JoinToken: 'x' });
  t.is(join.status, 503, 'a node in a swarm is told so first, as Docker does');

  // GET /info, /swarm, /nodes
  const info = JSON.parse(await ok(['info', '-f', 'json'])).Swarm;
  t.like(info, {
    LocalNodeState: 'active',
    NodeID: nodeId,
    NodeAddr: '127.0.0.1',
    ControlAvailable: true,
    Nodes: 1,
    Managers: 1,
  });
  const sw = (await call('GET', '/swarm')).json as { ID: string; JoinTokens: { Worker: string }; DefaultAddrPool: string[] };
  t.regex(sw.JoinTokens.Worker, /^SWMTKN-1-/);
  t.deepEqual(sw.DefaultAddrPool, ['10.0.0.0/8']);
  const nodes = (await call('GET', '/nodes')).json as Array<{ ID: string; ManagerStatus: { Leader: boolean; Addr: string } }>;
  t.is(nodes.length, 1);
  t.like(nodes[0], { ID: nodeId, ManagerStatus: { Leader: true, Addr: '127.0.0.1:2377' } });
  t.is((await call('GET', `/nodes/${nodeId!.slice(0, 6)}`)).status, 200);
  t.is((await call('GET', '/nodes/nosuchnode')).status, 404);

  // no services, tasks, secrets, configs: empty lists; creating one is 501 in one line
  for (const kind of ['services', 'tasks', 'secrets', 'configs']) t.deepEqual((await call('GET', `/${kind}`)).json, []);
  const svc = await call('POST', '/services/create', { Name: 'web' });
  t.is(svc.status, 501);
  t.regex(msg(svc), /^tsnet does not run swarm services/);
  t.is((await call('GET', '/services/web')).status, 404);

  // the ingress network, as Docker makes it
  const ingress = await inspectNet('ingress');
  t.like(ingress, { Scope: 'swarm', Driver: 'overlay', Ingress: true, Attachable: false });
  t.deepEqual(
    ingress.IPAM.Config.map((c) => [c.Subnet, c.Gateway]),
    [['10.0.0.0/24', '10.0.0.1']],
  );
  t.is(ingress.IPAM.Driver, 'default');

  // an attachable overlay: swarm scope, the next /24 of the pool, a VXLAN data path, traffic
  await ok(['network', 'create', '-d', 'overlay', '--attachable', 'appnet']);
  await ok(['network', 'create', '-d', 'overlay', 'closed']);
  const app = await inspectNet('appnet');
  t.like(app, { Scope: 'swarm', Attachable: true, Ingress: false });
  t.is(app.IPAM.Config[0]?.Subnet, '10.0.1.0/24');
  await ok(['run', '-d', '--name', 'a', '--network', 'appnet', 'busybox', 'sleep', '3600']);
  await ok(['run', '-d', '--name', 'b', '--network', 'appnet', 'busybox', 'sleep', '3600']);
  await ok(['exec', 'b', 'ping', '-c', '1', '-W', '5', 'a']);
  const vni = app.Options['com.docker.network.driver.overlay.vxlanid_list'];
  t.regex(await overlayLinks(app), new RegExp(`tsvx-${vni}.*\\n.*\\n\\s+vxlan id ${vni} local 127\\.0\\.0\\.1`));
  t.regex(await ok(['exec', 'a', 'ip', 'addr', 'show', 'eth0']), /inet 10\.0\.1\.\d+\/24/);

  // containers join attachable networks only
  for (const net of ['closed', 'ingress']) {
    const r = await world().cli(['run', '--rm', '--network', net, 'busybox', 'true']);
    t.not(r.exitCode, 0);
    t.regex(r.stderr, new RegExp(`network ${net} not manually attachable`));
  }

  // scope: inspect ?scope=, list filter, create
  t.is((await call('GET', '/networks/appnet?scope=swarm')).status, 200);
  t.is((await call('GET', '/networks/appnet?scope=local')).status, 404);
  t.is((await call('GET', '/networks/bridge?scope=swarm')).status, 404);
  const swarmNets = await ok(['network', 'ls', '--filter', 'scope=swarm', '--format', '{{.Name}}']);
  t.deepEqual(swarmNets.split('\n').sort(), ['appnet', 'closed', 'ingress']);
  const local = await call('POST', '/networks/create', { Name: 'x', Driver: 'overlay', Scope: 'local' });
  t.is(local.status, 403);
  t.is(msg(local), 'cannot downgrade network scope for overlay networks');
  const again2 = await call('POST', '/networks/create', { Name: 'in2', Driver: 'overlay', Ingress: true });
  t.is(again2.status, 409, msg(again2));

  // a daemon restart: the membership, the networks and the data path stay
  await world().killDaemon('SIGTERM');
  await world().startDaemon();
  t.is(await ok(['info', '-f', '{{.Swarm.NodeID}}']), nodeId!);
  await ok(['exec', 'b', 'ping', '-c', '1', '-W', '5', 'a']);
  await ok(['network', 'create', '-d', 'overlay', '--attachable', 'later']);
  t.is((await inspectNet('later')).IPAM.Config[0]?.Subnet, '10.0.3.0/24', 'the IPAM kept its pools');
  t.not((await inspectNet('later')).Options['com.docker.network.driver.overlay.vxlanid_list'], vni);

  // leave: a manager needs --force; then every swarm network goes, containers stay
  const noForce = await world().cli(['swarm', 'leave']);
  t.not(noForce.exitCode, 0);
  t.regex(noForce.stderr, /Use `--force` to ignore this message/);
  t.is(await ok(['swarm', 'leave', '--force']), 'Node left the swarm.');
  t.is(await ok(['info', '-f', '{{.Swarm.LocalNodeState}}']), 'inactive');
  t.is(await ok(['network', 'ls', '--filter', 'scope=swarm', '-q']), '');
  t.deepEqual(JSON.parse(await ok(['inspect', '-f', '{{json .NetworkSettings.Networks}}', 'a'])), {});
  t.deepEqual(await leftovers(), []);
  t.false(fs.existsSync(path.join(world().root, 'swarm')), 'the swarm state is removed');
  t.is((await call('GET', '/services')).status, 503);
  const overlay = await world().cli(['network', 'create', '-d', 'overlay', 'x']);
  t.regex(overlay.stderr, /tsnet swarm init/);
  await ok(['rm', '-f', 'a', 'b']);
});

serial('the ingress network can be removed and made again; a second init gets a fresh swarm', async (t) => {
  await ok(['swarm', 'init', '--advertise-addr', '127.0.0.1', '--default-addr-pool', '10.20.0.0/16']);
  t.is((await inspectNet('ingress')).IPAM.Config[0]?.Subnet, '10.20.0.0/24');
  await ok(['network', 'rm', 'ingress']);
  await ok(['network', 'create', '-d', 'overlay', '--ingress', 'mesh']);
  t.like(await inspectNet('mesh'), { Ingress: true, Scope: 'swarm' });
  const pruned = JSON.parse((await call('POST', '/networks/prune')).text).NetworksDeleted as string[];
  t.false(pruned.includes('mesh'), 'prune never removes the ingress network');
  await ok(['swarm', 'leave', '-f']);
  t.true(await eventually(async () => (await leftovers()).length === 0, 5000), (await leftovers()).join(' '));
});
