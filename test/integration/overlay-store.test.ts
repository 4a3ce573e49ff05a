/**
 * ClusterStore against a real etcd (Debian etcd-server) running inside a throwaway namespace
 * on a test underlay (test/helpers/multihost.ts). This process joins the underlay through the
 * helper's client namespace; nothing touches the machine's own interfaces.
 */
import test from 'ava';
import { isTsnetError } from '../../src/errors/index.js';
import {
  ClusterStore,
  type ClusterEvent,
  type ClusterStoreOptions,
  type GlobalNetworkRecord,
} from '../../src/store/cluster/index.js';
import { overlayNetworkRecord } from '../helpers/cluster-records.js';
import { createMultiHost, hostIp, type MultiHost } from '../helpers/multihost.js';
import { eventually, sleep } from '../helpers/world.js';
import { requireNeeds } from '../helpers/preconditions.js';

const serial = test.serial;
test.before(() => requireNeeds({ root: true, commands: [['/usr/bin/etcd', 'etcd-server']] }));

let mh: MultiHost | undefined;
let leave: (() => void) | undefined;
const stores: ClusterStore[] = [];
let prefixN = 0;

test.before(async () => {
  mh = await createMultiHost({ hosts: 4 });
  leave = mh.enterClientNetns();
});

test.after.always(async () => {
  for (const s of stores) await s.close().catch(() => undefined);
  leave?.();
  await mh?.teardown();
});

/** Stores of one test share a key prefix of their own. */
function cluster(): (host: number, over?: Partial<ClusterStoreOptions>) => ClusterStore {
  const prefix = `/t${++prefixN}`;
  return (host, over = {}) => {
    const s = new ClusterStore({
      url: mh!.clusterStore,
      advertiseAddr: hostIp(host),
      prefix,
      leaseTtlSeconds: 2,
      opTimeoutMs: 1500,
      retryMaxMs: 500,
      ...over,
    });
    stores.push(s);
    return s;
  };
}

function network(id: string, name: string, vni?: number): GlobalNetworkRecord {
  return overlayNetworkRecord({
    id,
    name,
    ...(vni !== undefined ? { vni } : {}),
    ipv4: [{ pool: '10.77.0.0/24', gateway: '10.77.0.1/24' }],
  });
}

const ep = (networkId: string, endpointId: string, over: Record<string, unknown> = {}) => ({
  networkId,
  endpointId,
  mac: '02:00:00:00:00:01',
  address: '10.77.0.2/24',
  joined: true,
  ...over,
});

serial('nodes register under a lease and see each other', async (t) => {
  const c = cluster();
  const a = c(1);
  const b = c(2);
  await Promise.all([a.start(), b.start()]);
  t.true(a.available);
  t.truthy(a.status().leaseId);
  t.true(await eventually(() => a.nodes().length === 2 && b.nodes().length === 2, 3000));
  t.deepEqual(
    a
      .nodes()
      .map((n) => n.advertiseAddr)
      .sort(),
    [hostIp(1), hostIp(2)],
  );
});

serial(
  'a global network is the same on every host; names are unique; delete is refused while any host has endpoints',
  async (t) => {
    const c = cluster();
    const a = c(1);
    const b = c(2);
    await Promise.all([a.start(), b.start()]);
    const vni = await a.allocateVni('net1');
    t.is(vni, 4096);
    t.is(await a.allocateVni('net1'), 4096, 'idempotent per network');
    await a.createNetwork(network('net1', 'appnet', vni));
    t.is(a.network('appnet')?.id, 'net1', 'read-your-writes on the creating host');
    t.true(await eventually(() => b.network('net1') !== undefined, 3000));
    t.deepEqual(b.network('appnet'), a.network('net1'));
    t.is(b.network('net1')?.createdBy, hostIp(1));

    const dup = await t.throwsAsync(b.createNetwork(network('net2', 'appnet')));
    t.true(isTsnetError(dup, 'TSNET_NETWORK_EXISTS'));
    t.regex(dup!.message, /network with name appnet already exists/);
    t.true(
      isTsnetError(await t.throwsAsync(b.createNetwork(network('net2', 'other', 4096))), 'TSNET_VNI_IN_USE'),
      'a VNI reserved by another network',
    );

    await b.putEndpoint(ep('net1', 'e1'));
    await b.putEndpoint(ep('net1', 'e2', { address: '10.77.0.3/24' }));
    const inUse = await t.throwsAsync(a.deleteNetwork('net1'));
    t.true(isTsnetError(inUse, 'TSNET_NETWORK_IN_USE'));
    t.is(inUse!.message, `network appnet has active endpoints on 1 host(s): ${hostIp(2)} (2)`);

    await b.removeEndpoint('net1', 'e1');
    await b.removeEndpoint('net1', 'e2');
    await b.removeEndpoint('net1', 'e2'); // idempotent
    await a.deleteNetwork('net1');
    await a.deleteNetwork('net1'); // idempotent
    t.true(await eventually(() => b.network('net1') === undefined, 3000));
    t.is(await b.allocateVni('net9'), 4096, 'the VNI went with the network');
    const gone = await t.throwsAsync(b.putEndpoint(ep('net1', 'e3')));
    t.true(isTsnetError(gone, 'TSNET_NETWORK_NOT_FOUND'));
    await a.createNetwork(network('net3', 'appnet'));
    t.is(b.network('appnet')?.id ?? (await eventually(() => b.network('appnet')?.id, 3000)), 'net3', 'the name is free again');
  },
);

serial('VNIs are unique across hosts under concurrent allocation', async (t) => {
  const c = cluster();
  const [a, b, d] = [c(1), c(2), c(3)];
  await Promise.all([a.start(), b.start(), d.start()]);
  const got = await Promise.all([a, b, d].flatMap((s, k) => Array.from({ length: 15 }, (_, i) => s.allocateVni(`n${k}-${i}`))));
  t.is(new Set(got).size, 45);
  t.true(got.every((v) => v >= 4096 && v < 4096 + 45));
  t.is(await a.allocateVni('mine', 42), 42);
  const taken = await t.throwsAsync(b.allocateVni('theirs', 42));
  t.true(isTsnetError(taken, 'TSNET_VNI_IN_USE'));
  t.regex(taken!.message, /VXLAN id 42 is already used by network mine/);
  await a.releaseVni('mine');
  t.is(await b.allocateVni('theirs', 42), 42);
});

serial('watches deliver added, updated and removed endpoints; lookup serves DNS names', async (t) => {
  const c = cluster();
  const a = c(1);
  const b = c(2);
  await Promise.all([a.start(), b.start()]);
  await a.createNetwork(network('n1', 'appnet'));
  const seen: ClusterEvent[] = [];
  b.subscribe((e) => seen.push(e));
  const eps = () => seen.filter((e): e is Extract<ClusterEvent, { kind: 'endpoint' }> => e.kind === 'endpoint');
  await a.putEndpoint(ep('n1', 'e1', { joined: false, name: 'web', aliases: ['www', 'Front'], containerId: 'c0ffee00112233' }));
  t.true(await eventually(() => eps().length === 1, 3000));
  t.like(eps()[0], { type: 'added', endpoint: { endpointId: 'e1', node: hostIp(1), vtep: hostIp(1), joined: false } });
  t.deepEqual(b.lookup('n1', 'web'), [], 'not joined: not in DNS');
  await a.putEndpoint(ep('n1', 'e1', { joined: true, name: 'web', aliases: ['www', 'Front'], containerId: 'c0ffee00112233' }));
  t.true(await eventually(() => eps().length === 2, 3000));
  t.like(eps()[1], { type: 'updated', endpoint: { joined: true }, previous: { joined: false } });
  t.deepEqual(
    b.lookup('n1', 'WEB.').map((e) => e.address),
    ['10.77.0.2/24'],
  );
  t.is(b.lookup('n1', 'front').length, 1);
  t.is(b.lookup('n1', 'c0ffee001122').length, 1, 'short container id');
  await a.removeEndpoint('n1', 'e1');
  t.true(await eventually(() => eps().length === 3, 3000));
  t.like(eps()[2], { type: 'removed', endpoint: { endpointId: 'e1' } });
  t.is(b.endpoints('n1').length, 0);
});

serial('pullNetworks reads a network another host just made; the watch bringing it later adds nothing twice', async (t) => {
  const c = cluster();
  const a = c(1);
  const b = c(2);
  await Promise.all([a.start(), b.start()]);
  const added: string[] = [];
  b.subscribe((e) => {
    if (e.kind === 'network' && e.type === 'added') added.push(e.network.id);
  });
  await a.createNetwork(network('pulled1', 'pullnet'));
  await b.pullNetworks();
  t.is(b.network('pullnet')?.id, 'pulled1', 'known right after the read');
  t.deepEqual(added, ['pulled1']);
  // the watch has its turn, and a second read: still one 'added'
  await sleep(500);
  await b.pullNetworks();
  t.deepEqual(added, ['pulled1']);
  // a network removed meanwhile is the watch's to drop; a read does not bring it back
  await a.deleteNetwork('pulled1');
  t.true(await eventually(() => b.network('pullnet') === undefined, 3000));
  await b.pullNetworks();
  t.is(b.network('pullnet'), undefined);
  t.deepEqual(added, ['pulled1']);
});

serial("a dead host's endpoints vanish after the lease TTL; a clean stop can withdraw them at once", async (t) => {
  const c = cluster();
  const a = c(1);
  const dead = c(2, { leaseTtlSeconds: 2 });
  const polite = c(3, { leaseTtlSeconds: 60 });
  await Promise.all([a.start(), dead.start(), polite.start()]);
  await a.createNetwork(network('n1', 'appnet'));
  await dead.putEndpoint(ep('n1', 'e-dead'));
  await polite.putEndpoint(ep('n1', 'e-polite', { address: '10.77.0.9/24' }));
  t.true(await eventually(() => a.endpoints('n1').length === 2, 3000));

  // "kill -9": the store stops refreshing its lease and never says goodbye
  await dead.close();
  t.true(
    a.endpoints('n1').some((e) => e.endpointId === 'e-dead'),
    'no goodbye: the endpoint stays until the lease expires',
  );
  t.true(await eventually(() => !a.endpoints('n1').some((e) => e.endpointId === 'e-dead'), 8000, 25), 'gone after the TTL');
  t.false(
    a.nodes().some((n) => n.id === hostIp(2)),
    'the node is gone too',
  );

  // its lease TTL (60 s) is far longer than this wait: only the revoke can remove it in time
  await polite.close({ revoke: true });
  t.true(await eventually(() => a.endpoints('n1').length === 0, 3000, 10), 'revoked: withdrawn at once');
});

serial('a lost lease is replaced and the endpoints are published again', async (t) => {
  const c = cluster();
  const a = c(1, { leaseTtlSeconds: 3 });
  const b = c(2);
  await Promise.all([a.start(), b.start()]);
  await a.createNetwork(network('n1', 'appnet'));
  await a.putEndpoint(ep('n1', 'e1'));
  t.true(await eventually(() => b.endpoint('n1', 'e1') !== undefined, 3000));
  const lease = a.status().leaseId!;
  const events: string[] = [];
  b.subscribe((e) => e.kind === 'endpoint' && events.push(e.type));
  await b.kv.revokeLease(lease); // as if etcd had expired it
  // a write under the dead lease before the keepalive noticed: refused as "unavailable", not a crash
  const early = await a.putEndpoint(ep('n1', 'e2', { address: '10.77.0.5/24' })).then(
    () => undefined,
    (err: unknown) => err,
  );
  if (early) t.true(isTsnetError(early, 'TSNET_CLUSTER_UNAVAILABLE'), String(early));
  t.log(early ? `refused: ${(early as Error).message}` : 'accepted (already re-registered)');
  t.true(await eventually(() => events.includes('removed') && events.lastIndexOf('added') > events.indexOf('removed'), 20000));
  t.not(a.status().leaseId, lease);
  // a 3 s lease on a loaded machine can lapse once more before the keepalive runs: available again
  t.true(await eventually(() => a.available, 20000));
  t.is(b.endpoint('n1', 'e1')?.vtep, hostIp(1));
});

serial('etcd stopped and restarted: state kept, changes refused clearly, then resynchronised', async (t) => {
  const c = cluster();
  const a = c(1);
  const b = c(2);
  await Promise.all([a.start(), b.start()]);
  await a.createNetwork(network('n1', 'appnet'));
  await a.putEndpoint(ep('n1', 'keep'));
  await a.putEndpoint(ep('n1', 'drop', { address: '10.77.0.3/24' }));
  t.true(await eventually(() => b.endpoints('n1').length === 2, 3000));
  const status: string[] = [];
  b.subscribe((e) => e.kind === 'status' && status.push(e.available ? 'up' : 'down'));

  await mh!.etcd.stop('SIGKILL');
  t.true(await eventually(() => !a.available && !b.available, 5000));
  t.is(b.endpoints('n1').length, 2, 'nothing is withdrawn while etcd is away');
  t.truthy(b.network('appnet'), 'reads are served from the local mirror');
  const refused = await t.throwsAsync(a.putEndpoint(ep('n1', 'new', { address: '10.77.0.4/24' })));
  t.true(isTsnetError(refused, 'TSNET_CLUSTER_UNAVAILABLE'));
  t.regex(refused!.message, /^cluster store etcd:\/\/10\.99\.0\.2:2379 unreachable: .+; cannot publish endpoint now$/);
  t.true(isTsnetError(await t.throwsAsync(a.createNetwork(network('n2', 'other'))), 'TSNET_CLUSTER_UNAVAILABLE'));
  t.true(isTsnetError(await t.throwsAsync(b.deleteNetwork('n1')), 'TSNET_CLUSTER_UNAVAILABLE'));
  await a.removeEndpoint('n1', 'drop'); // queued, not refused
  await sleep(500);

  await mh!.etcd.start();
  t.true(await eventually(() => a.available && b.available, 10_000));
  t.true(await eventually(() => b.endpoints('n1').length === 1, 5000), 'the delete made meanwhile was applied');
  t.truthy(b.endpoint('n1', 'keep'));
  t.deepEqual(status.slice(0, 2), ['down', 'up']);
  await a.putEndpoint(ep('n1', 'new', { address: '10.77.0.4/24' }));
  t.true(await eventually(() => b.endpoint('n1', 'new') !== undefined, 3000), 'watching again');
});

serial('an unreachable or malformed cluster store gives a clear error', async (t) => {
  const s = new ClusterStore({ url: 'etcd://10.99.0.9:2379', advertiseAddr: hostIp(1), startTimeoutMs: 1500, opTimeoutMs: 500 });
  stores.push(s);
  const err = await t.throwsAsync(s.start());
  t.true(isTsnetError(err, 'TSNET_CLUSTER_UNAVAILABLE'));
  t.regex(err!.message, /^cluster store etcd:\/\/10\.99\.0\.9:2379 unreachable: /);
  await s.close();
  // grpc-js has no connect timeout and keeps a closed channel's TCP connect going: let the
  // kernel fail it (ARP gives up after ~3 s) before the namespace goes, or the worker never exits
  await eventually(() => !process.getActiveResourcesInfo().includes('ConnectWrap'), 10_000, 100);
  const refused = new ClusterStore({
    url: `etcd://${hostIp(1)}:2379`,
    advertiseAddr: hostIp(1),
    startTimeoutMs: 1500,
    opTimeoutMs: 500,
  });
  stores.push(refused);
  const err2 = await t.throwsAsync(refused.start());
  t.regex(
    err2!.message,
    /^cluster store etcd:\/\/10\.99\.0\.11:2379 unreachable: connect ECONNREFUSED 10\.99\.0\.11:2379; cannot start now$/,
  );
  await refused.close();
  const bad = t.throws(() => new ClusterStore({ url: 'consul://10.99.0.2:8500', advertiseAddr: hostIp(1) }));
  t.true(isTsnetError(bad, 'TSNET_INVALID_ARGUMENT'));
  t.true(
    isTsnetError(
      t.throws(() => new ClusterStore({ url: 'etcd://10.99.0.2', advertiseAddr: '127.0.0.1' })),
      'TSNET_INVALID_ARGUMENT',
    ),
  );
});
