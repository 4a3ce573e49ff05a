/**
 * The overlay driver on three "hosts" (namespaces on an underlay bridge, test/helpers/
 * multihost.ts), one driver + cluster store + cluster IPAM per host, each driver with its own
 * Netlink socket in its host namespace. Containers are sandboxes (netns files) made here.
 * Real ping and TCP (busybox) between them; etcd in a namespace of its own.
 */
import test from 'ava';
import path from 'node:path';
import fs from 'node:fs';
import { isTsnetError } from '../../src/errors/index.js';
import { ClusterIpam } from '../../src/ipam/cluster/index.js';
import { loadLibc } from '../../src/kernel/libc.js';
import { Netlink } from '../../src/kernel/netlink/index.js';
import { createNetnsOps, type Netns } from '../../src/kernel/netns.js';
import type { NetworkSpec } from '../../src/network/driver-api.js';
import { OverlayDriver, MTU_OPTION, ENDPOINT_NAME_OPTION } from '../../src/network/drivers/overlay/index.js';
import { ClusterStore, VXLANID_OPTION } from '../../src/store/cluster/index.js';
import { overlayNetworkRecord } from '../helpers/cluster-records.js';
import { canPing, createMultiHost, tcpExchange, type MultiHost, type UnderlayHost } from '../helpers/multihost.js';
import { eventually, run, sleep } from '../helpers/world.js';
import { requireNeeds } from '../helpers/preconditions.js';

const serial = test.serial;
test.before(() => requireNeeds({ root: true, commands: [['/usr/bin/etcd', 'etcd-server']] }));

interface Host {
  h: UnderlayHost;
  store: ClusterStore;
  hostNl: Netlink;
  driver: OverlayDriver;
  ipam: ClusterIpam;
  netnsDir: string;
}

interface Ctr {
  host: Host;
  name: string;
  networkId: string;
  endpointId: string;
  sandbox: string;
  ip: string;
  mac: string;
}

let mh: MultiHost | undefined;
let leave: (() => void) | undefined;
let netns: Netns;
const hosts: Host[] = [];
const networks = new Map<string, { spec: NetworkSpec; poolId: string; vni: number }>();
let ctrN = 0;

test.before(async () => {
  mh = await createMultiHost({ hosts: 3 });
  leave = mh.enterClientNetns();
  netns = createNetnsOps(loadLibc());
  for (const h of mh.hosts) {
    const store = new ClusterStore({
      url: mh.clusterStore,
      advertiseAddr: h.ip,
      leaseTtlSeconds: 3,
      opTimeoutMs: 2000,
      retryMaxMs: 500,
    });
    await store.start();
    const hostNl = netns.run(h.netns, () => Netlink.open());
    const netnsDir = path.join(mh.dir, `host${h.index}-netns`);
    const driver = new OverlayDriver({ cluster: store, hostNetlink: hostNl, netns, netnsDir });
    hosts.push({ h, store, hostNl, driver, ipam: new ClusterIpam(store), netnsDir });
  }
});

test.after.always(async () => {
  for (const x of hosts) {
    x.driver.close();
    await x.store.close({ revoke: true }).catch(() => undefined);
    x.hostNl.close();
    for (const f of safeReaddir(x.netnsDir)) netns.remove(path.join(x.netnsDir, f));
  }
  leave?.();
  await mh?.teardown();
});

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** The controller's part, by hand: pool, VNI, record, then createNetwork on every host. */
async function createNetwork(name: string, subnet: string, options: Record<string, string> = {}): Promise<string> {
  const a = hosts[0]!;
  const id = `${name}${'0'.repeat(24)}`.slice(0, 24);
  const pool = await a.ipam.requestPool({ subnet, v6: false, networkId: id, networkName: name, avoid: [] });
  const spec: NetworkSpec = {
    id,
    name,
    options: { ...options },
    labels: {},
    internal: false,
    enableIPv6: false,
    attachable: true,
    ipv4: [{ pool: pool.subnet, gateway: `${pool.gateway}/${pool.subnet.split('/')[1]}` }],
    ipv6: [],
  };
  Object.assign(spec.options, await a.driver.allocateNetwork(spec));
  const vni = Number(spec.options[VXLANID_OPTION]);
  await a.store.createNetwork(
    overlayNetworkRecord({ id, name, vni, options: spec.options, ipv4: spec.ipv4, poolIds: [pool.poolId] }),
  );
  for (const x of hosts) {
    await eventually(() => x.store.network(id) !== undefined, 3000);
    await x.driver.createNetwork(spec);
  }
  networks.set(id, { spec, poolId: pool.poolId, vni });
  return id;
}

async function run1(host: Host, networkId: string, name: string): Promise<Ctr> {
  const endpointId = `ep${++ctrN}${name}`.padEnd(24, 'f');
  const sandbox = mh!.makeNetns(`ctr-${name}-${ctrN}`);
  const { address } = await host.ipam.requestAddress(networks.get(networkId)!.poolId, { owner: endpointId });
  const info = await host.driver.createEndpoint({
    networkId,
    endpointId,
    containerId: `c-${name}`,
    address,
    options: { [ENDPOINT_NAME_OPTION]: name },
  });
  await host.driver.join({ networkId, endpointId, containerId: `c-${name}`, sandboxKey: sandbox, ifname: 'eth0', options: {} });
  return { host, name, networkId, endpointId, sandbox, ip: address.split('/')[0]!, mac: info.mac! };
}

async function remove(c: Ctr): Promise<void> {
  await c.host.driver.leave(c.networkId, c.endpointId);
  await c.host.driver.deleteEndpoint(c.networkId, c.endpointId);
  await c.host.ipam.releaseAddress(networks.get(c.networkId)!.poolId, c.ip);
}

async function ovExec(host: Host, networkId: string, args: string[]): Promise<string> {
  const r = await run('nsenter', [`--net=${host.driver.sandboxFile(networkId)!}`, ...args]);
  return r.stdout;
}

async function fdb(host: Host, networkId: string): Promise<Array<{ mac: string; dst?: string }>> {
  const vni = networks.get(networkId)!.vni;
  const all = JSON.parse(
    (await ovExec(host, networkId, ['bridge', '-j', 'fdb', 'show', 'dev', `tsvx-${vni}`])) || '[]',
  ) as Array<{ mac: string; dst?: string }>;
  // the VXLAN device's own (static, remote) entries; the bridge's learned ones age out by themselves
  return all.filter((e) => e.dst !== undefined);
}

async function neigh(host: Host, networkId: string): Promise<Array<{ dst: string; lladdr?: string; state?: string[] }>> {
  const vni = networks.get(networkId)!.vni;
  return JSON.parse((await ovExec(host, networkId, ['ip', '-j', 'neigh', 'show', 'dev', `tsvx-${vni}`])) || '[]') as Array<{
    dst: string;
    lladdr?: string;
    state?: string[];
  }>;
}

const programmed = async (on: Host, c: Ctr): Promise<boolean> =>
  (await fdb(on, c.networkId)).some((e) => e.mac === c.mac && e.dst === c.host.h.ip) &&
  (await neigh(on, c.networkId)).some((n) => n.dst === c.ip && n.lladdr === c.mac);

const ctrs = new Map<string, Ctr>();
let appnet = '';

serial('containers on three hosts reach each other by ping and TCP; the data path is built as documented', async (t) => {
  appnet = await createNetwork('appnet', '10.77.0.0/24');
  const [h1, h2, h3] = hosts as [Host, Host, Host];
  const a = await run1(h1, appnet, 'a');
  const b = await run1(h2, appnet, 'b');
  const c = await run1(h3, appnet, 'c');
  for (const x of [a, b, c]) ctrs.set(x.name, x);
  t.true(await eventually(() => programmed(h1, c), 3000));
  t.true(await canPing(a.sandbox, b.ip), 'a → b');
  t.true(await canPing(b.sandbox, c.ip), 'b → c');
  t.true(await canPing(c.sandbox, a.ip), 'c → a');
  t.is(await tcpExchange(c.sandbox, c.ip, a.sandbox, 8080, 'from c\n'), 'from c\n', 'TCP a → c');

  // container side: eth0 with the endpoint's address and MAC, MTU 1450, no default route
  const link = JSON.parse((await run('nsenter', [`--net=${a.sandbox}`, 'ip', '-j', '-d', 'addr', 'show', 'eth0'])).stdout)[0];
  t.is(link.mtu, 1450);
  t.is(link.address, a.mac);
  t.true(link.addr_info.some((x: { local: string; prefixlen: number }) => x.local === a.ip && x.prefixlen === 24));
  t.is((await run('nsenter', [`--net=${a.sandbox}`, 'ip', 'route', 'show', 'default'])).stdout.trim(), '');
  // a network without IPv6: no IPv6 address (not even link-local) on eth0, nor on the veth's
  // other end, the bridge or the VXLAN device — nothing to flood to the containers and the
  // peer hosts (decision 43); all have long had carrier (the pings went through)
  t.false(
    link.addr_info.some((x: { family: string }) => x.family === 'inet6'),
    'no inet6 address on eth0',
  );
  const ns6 = JSON.parse(await ovExec(h1, appnet, ['ip', '-j', '-6', 'addr', 'show'])) as Array<{
    ifname: string;
    addr_info: unknown[];
  }>;
  t.deepEqual(
    ns6.filter((l) => l.ifname !== 'lo' && l.addr_info.length > 0).map((l) => l.ifname),
    [],
    'no inet6 address in the network namespace',
  );

  // network namespace: bridge with the gateway, vxlan enslaved, learning off, proxy, port 4789, local VTEP
  const vni = networks.get(appnet)!.vni;
  t.is(h1.driver.sandboxFile(appnet), path.join(h1.netnsDir, `ov-${vni}-${appnet.slice(0, 12)}`));
  const vx = JSON.parse(await ovExec(h1, appnet, ['ip', '-j', '-d', 'link', 'show', `tsvx-${vni}`]))[0];
  t.like(vx.linkinfo.info_data, { id: vni, local: h1.h.ip, port: 4789, learning: false, proxy: true });
  t.is(vx.master, `tsbr-${vni}`);
  t.is(vx.mtu, 1450);
  const br = JSON.parse(await ovExec(h1, appnet, ['ip', '-j', 'addr', 'show', `tsbr-${vni}`]))[0];
  t.true(br.addr_info.some((x: { local: string }) => x.local === '10.77.0.1'));
  // the VXLAN socket stays in the host namespace, on the underlay
  t.regex((await h1.h.exec(['ss', '-uln'])).stdout, /:4789\b/);
  t.notRegex(await ovExec(h1, appnet, ['ss', '-uln']), /:4789\b/);
  // peers: static FDB entries to the right VTEPs, permanent neighbours
  const entries = await fdb(h1, appnet);
  t.true(entries.some((e) => e.mac === b.mac && e.dst === h2.h.ip));
  t.true(entries.some((e) => e.mac === c.mac && e.dst === h3.h.ip));
  const n = await neigh(h1, appnet);
  t.true(n.some((x) => x.dst === b.ip && x.lladdr === b.mac && x.state?.includes('PERMANENT')));
  t.false(
    n.some((x) => x.dst === a.ip),
    'no entry for a local endpoint',
  );
  // DNS records carry the names everywhere
  t.deepEqual(
    h3.store.lookup(appnet, 'a').map((e) => e.address),
    [`${a.ip}/24`],
  );
});

serial('a container started later is reachable from the other hosts', async (t) => {
  const [h1, h2] = hosts as [Host, Host];
  const a = ctrs.get('a')!;
  const started = Date.now();
  const d = await run1(h2, appnet, 'd');
  ctrs.set('d', d);
  t.true(await eventually(() => programmed(h1, d), 3000, 5));
  t.log(`programmed on host 1 ${Date.now() - started} ms after endpoint creation began on host 2`);
  t.true(await canPing(a.sandbox, d.ip));
  t.is(await tcpExchange(d.sandbox, d.ip, a.sandbox, 8081, 'late\n'), 'late\n');
});

serial("a removed endpoint's FDB and neighbour entries vanish on every host", async (t) => {
  const [h1, , h3] = hosts as [Host, Host, Host];
  const b = ctrs.get('b')!;
  t.true(await programmed(h1, b));
  await remove(b);
  ctrs.delete('b');
  for (const h of [h1, h3]) {
    t.true(
      await eventually(
        async () => !(await fdb(h, appnet)).some((e) => e.mac === b.mac) && !(await neigh(h, appnet)).some((n) => n.dst === b.ip),
        3000,
      ),
    );
  }
  t.false(await canPing(ctrs.get('a')!.sandbox, b.ip));
  t.is(hosts[1]!.store.endpoint(appnet, b.endpointId), undefined);
  t.false(
    fs.existsSync(b.sandbox) && (await run('nsenter', [`--net=${b.sandbox}`, 'ip', 'link', 'show', 'eth0'])).exitCode === 0,
    'its interface is gone',
  );
});

serial('two overlay networks are isolated from each other', async (t) => {
  const [h1, , h3] = hosts as [Host, Host, Host];
  const other = await createNetwork('other', '10.88.0.0/24');
  const x = await run1(h1, other, 'x');
  const y = await run1(h3, other, 'y');
  ctrs.set('x', x).set('y', y);
  t.true(await eventually(() => programmed(h1, y), 3000));
  t.true(await canPing(x.sandbox, y.ip), 'inside the second network');
  t.not(networks.get(other)!.vni, networks.get(appnet)!.vni);
  // force a's traffic for y onto its own network (route + neighbour by hand): it must not arrive
  const a = ctrs.get('a')!;
  await run('nsenter', [`--net=${a.sandbox}`, 'ip', 'route', 'add', '10.88.0.0/24', 'dev', 'eth0']);
  await run('nsenter', [
    `--net=${a.sandbox}`,
    'ip',
    'neigh',
    'replace',
    y.ip,
    'lladdr',
    y.mac,
    'dev',
    'eth0',
    'nud',
    'permanent',
  ]);
  t.false(await canPing(a.sandbox, y.ip), 'appnet cannot reach a container of other');
  t.false(
    (await fdb(h1, appnet)).some((e) => e.mac === y.mac),
    'no entry of the other network',
  );
  await run('nsenter', [`--net=${a.sandbox}`, 'ip', 'route', 'del', '10.88.0.0/24']);
});

serial('the MTU option sets container interfaces; one that does not fit the underlay is refused clearly', async (t) => {
  const [h1, h2] = hosts as [Host, Host];
  const small = await createNetwork('small', '10.89.0.0/24', { [MTU_OPTION]: '1400' });
  const s1 = await run1(h1, small, 's1');
  const s2 = await run1(h2, small, 's2');
  const mtu = JSON.parse((await run('nsenter', [`--net=${s1.sandbox}`, 'ip', '-j', 'link', 'show', 'eth0'])).stdout)[0].mtu;
  t.is(mtu, 1400);
  t.true(await eventually(() => programmed(h1, s2), 3000));
  const big = await run(
    'nsenter',
    [`--net=${s1.sandbox}`, '/bin/busybox', 'ping', '-c', '1', '-W', '2', '-s', String(1400 - 28), s2.ip],
    { timeoutMs: 10_000 },
  );
  t.is(big.exitCode, 0, 'a full-size frame crosses');
  const tooBig = await createNetwork('toobig', '10.90.0.0/24', { [MTU_OPTION]: '1500' });
  const err = await t.throwsAsync(run1(h1, tooBig, 'tb'));
  t.true(isTsnetError(err, 'TSNET_INVALID_ARGUMENT'));
  t.regex(
    err!.message,
    /MTU 1500 of overlay network toobig does not fit this host's underlay: eth0 has MTU 1500 and VXLAN needs 50 bytes \(use at most 1450\)/,
  );
  t.false(fs.existsSync(h1.driver.sandboxFile(tooBig)!), 'nothing left behind');
});

serial('a restarted driver adopts the namespace: traffic goes on and new peers are programmed', async (t) => {
  const [h1, h2] = hosts as [Host, Host];
  const a = ctrs.get('a')!;
  const d = ctrs.get('d')!;
  // the daemon on host 1 restarts: driver and store go (the lease is left to expire), new ones come
  h1.driver.close();
  await h1.store.close();
  h1.store = new ClusterStore({
    url: mh!.clusterStore,
    advertiseAddr: h1.h.ip,
    leaseTtlSeconds: 3,
    opTimeoutMs: 2000,
    retryMaxMs: 500,
  });
  await h1.store.start();
  h1.ipam = new ClusterIpam(h1.store);
  const fresh = new OverlayDriver({ cluster: h1.store, hostNetlink: h1.hostNl, netns, netnsDir: h1.netnsDir });
  h1.driver = fresh;
  const specs = [...networks.values()].map((n) => n.spec);
  const local = [...ctrs.values()].filter((c) => c.host === h1);
  await fresh.restore(
    specs,
    // as the controller's restoreDrivers passes them: no join info, no options
    local.map((c) => ({
      networkId: c.networkId,
      endpointId: c.endpointId,
      containerId: `c-${c.name}`,
      address: `${c.ip}/24`,
      mac: c.mac,
      options: {},
    })),
  );
  t.like(
    h2.store.endpoint(appnet, a.endpointId),
    { joined: true, name: 'a' },
    'still joined, name kept, as seen from another host',
  );
  await sleep(3500); // the old lease expires: the re-published records stay
  t.like(h2.store.endpoint(appnet, a.endpointId), { joined: true, name: 'a' });
  t.true(await canPing(a.sandbox, d.ip), 'existing peer still reachable');
  const e = await run1(h2, appnet, 'e');
  ctrs.set('e', e);
  t.true(await eventually(() => programmed(h1, e), 3000), 'the new driver follows the watch');
  t.true(await canPing(a.sandbox, e.ip));
  t.true(await canPing(e.sandbox, a.ip));
});

serial('etcd stopped and restarted: running traffic continues, changes are refused, state resynchronises', async (t) => {
  const [h1, h2, h3] = hosts as [Host, Host, Host];
  const a = ctrs.get('a')!;
  const c = ctrs.get('c')!;
  await mh!.etcd.stop('SIGKILL');
  t.true(await eventually(() => hosts.every((x) => !x.store.available), 5000));
  t.true(await canPing(a.sandbox, c.ip), 'traffic does not need etcd');
  t.is(await tcpExchange(c.sandbox, c.ip, a.sandbox, 8082, 'still\n'), 'still\n');
  const refused = await t.throwsAsync(run1(h1, appnet, 'refused'));
  t.true(isTsnetError(refused, 'TSNET_CLUSTER_UNAVAILABLE'));
  t.regex(refused!.message, /cluster store etcd:\/\/10\.99\.0\.2:2379 unreachable/);
  // a container removed meanwhile: its record is withdrawn when etcd is back
  const e = ctrs.get('e')!;
  await h2.driver.leave(e.networkId, e.endpointId);
  await h2.driver.deleteEndpoint(e.networkId, e.endpointId);
  ctrs.delete('e');
  t.true(await programmed(h1, e), 'peers keep their entries while the store is away');
  await sleep(300);
  await mh!.etcd.start();
  t.true(await eventually(() => hosts.every((x) => x.store.available), 10_000));
  for (const h of [h1, h3])
    t.true(await eventually(async () => !(await fdb(h, appnet)).some((x) => x.mac === e.mac), 5000), 'withdrawn after resync');
  const f = await run1(h3, appnet, 'f');
  ctrs.set('f', f);
  t.true(await eventually(() => programmed(h1, f), 3000));
  t.true(await canPing(a.sandbox, f.ip));
});

serial("a host that dies has its endpoints withdrawn from the others' data path after the lease TTL", async (t) => {
  const [h1, h2, h3] = hosts as [Host, Host, Host];
  const c = ctrs.get('c')!;
  const f = ctrs.get('f')!;
  t.true(await programmed(h1, c));
  // host 3 "dies": its store stops refreshing the lease (no goodbye), its driver goes quiet
  h3.driver.close();
  await h3.store.close();
  t.true(await programmed(h1, c), 'no goodbye: the entries stay until the lease expires');
  for (const h of [h1, h2]) {
    t.true(await eventually(async () => !(await fdb(h, appnet)).some((x) => x.mac === c.mac || x.mac === f.mac), 10_000, 50));
  }
  t.false((await neigh(h1, appnet)).some((n) => n.dst === c.ip));
});

serial('deleteNetwork removes the namespace; the sweep removes stale namespaces and stray VXLAN devices', async (t) => {
  const [h1] = hosts as [Host];
  for (const c of [...ctrs.values()].filter((x) => x.host === h1)) {
    await h1.driver.leave(c.networkId, c.endpointId);
    await h1.driver.deleteEndpoint(c.networkId, c.endpointId);
  }
  const file = h1.driver.sandboxFile(appnet)!;
  t.true(fs.existsSync(file));
  await h1.driver.deleteNetwork(appnet);
  await h1.driver.deleteNetwork(appnet); // idempotent
  t.false(fs.existsSync(file));
  // leftovers of a crash
  const stale = path.join(h1.netnsDir, 'ov-4999-deadbeef0000');
  netns.create(stale);
  await h1.hostNl.addVxlan('tsvx-5000', { vni: 5000, port: 4789, learning: false, local: h1.h.ip });
  const removed = await h1.driver.sweep([]);
  t.true(
    removed.some((r) => r.includes('ov-4999-deadbeef0000')),
    removed.join(', '),
  );
  t.true(removed.includes('vxlan tsvx-5000'));
  t.false(fs.existsSync(stale));
  t.is(await h1.hostNl.getLink('tsvx-5000'), undefined);
  const other = [...networks.keys()].find((id) => id.startsWith('other'))!;
  t.true(fs.existsSync(h1.driver.sandboxFile(other)!), 'a live network is kept');
});
