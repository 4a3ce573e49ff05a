/**
 * ClusterIpam against a real etcd in a throwaway namespace (test/helpers/multihost.ts):
 * several "hosts" (clients with their own node id) allocating at the same time never get the
 * same address, pools never overlap across hosts, and the IpamDriver contract holds.
 */
import test from 'ava';
import { isTsnetError } from '../../src/errors/index.js';
import { ClusterIpam } from '../../src/ipam/cluster/index.js';
import type { PoolRequest } from '../../src/ipam/ipam-api.js';
import { ClusterStore } from '../../src/store/cluster/index.js';
import { createMultiHost, hostIp, type MultiHost } from '../helpers/multihost.js';
import { requireNeeds } from '../helpers/preconditions.js';

const serial = test.serial;
test.before(() => requireNeeds({ root: true, commands: [['/usr/bin/etcd', 'etcd-server']] }));

let mh: MultiHost | undefined;
let leave: (() => void) | undefined;
const stores: ClusterStore[] = [];
let prefixN = 0;

test.before(async () => {
  mh = await createMultiHost({ hosts: 3 });
  leave = mh.enterClientNetns();
});

test.after.always(async () => {
  for (const s of stores) await s.close({ revoke: true }).catch(() => undefined);
  leave?.();
  await mh?.teardown();
});

/** n hosts (stores + IPAMs) sharing a fresh key prefix. */
async function hosts(n: number): Promise<ClusterIpam[]> {
  const prefix = `/ipam${++prefixN}`;
  const out: ClusterIpam[] = [];
  for (let i = 1; i <= n; i++) {
    const s = new ClusterStore({ url: mh!.clusterStore, advertiseAddr: hostIp(i), prefix, opTimeoutMs: 5000 });
    stores.push(s);
    await s.start();
    out.push(new ClusterIpam(s));
  }
  return out;
}

const pr = (over: Partial<PoolRequest> = {}): PoolRequest => ({
  v6: false,
  networkId: 'n1',
  networkName: 'appnet',
  avoid: [],
  ...over,
});

serial('thousands of concurrent requests from three hosts: no address handed out twice', async (t) => {
  const ipams = await hosts(3);
  const pool = await ipams[0]!.requestPool(pr({ subnet: '10.77.0.0/20' }));
  t.deepEqual(pool, { poolId: 'GlobalDefault/10.77.0.0/20', subnet: '10.77.0.0/20', gateway: '10.77.0.1' });
  const perHost = 1000;
  const started = performance.now();
  const results = await Promise.all(
    ipams.map((ipam, h) =>
      Promise.all(Array.from({ length: perHost }, (_, i) => ipam.requestAddress(pool.poolId, { owner: `h${h}e${i}` }))),
    ),
  );
  const ms = performance.now() - started;
  const all = results.flat().map((r) => r.address);
  t.is(all.length, 3 * perHost);
  t.is(new Set(all).size, all.length, 'no duplicates');
  t.false(all.includes('10.77.0.1/20'), 'never the gateway');
  t.false(all.includes('10.77.0.0/20'));
  const listed = await ipams[1]!.listAddresses(pool.poolId);
  t.is(listed.length, all.length, 'exactly what was handed out is recorded');
  t.deepEqual([...new Set(listed.map((a) => a.node))].sort(), [hostIp(1), hostIp(2), hostIp(3)]);
  t.log(`${all.length} allocations from 3 hosts in ${ms.toFixed(0)} ms (${((all.length / ms) * 1000).toFixed(0)}/s)`);
});

serial('the IpamDriver contract: idempotent owners, specific addresses, release, serial reuse, exhaustion', async (t) => {
  const [a, b] = await hosts(2);
  const pool = await a!.requestPool(pr({ subnet: '10.78.0.0/29' }));
  const first = await a!.requestAddress(pool.poolId, { owner: 'e1' });
  t.is(first.address, '10.78.0.2/29');
  t.deepEqual(await b!.requestAddress(pool.poolId, { owner: 'e1' }), first, 'same owner, same address, from any host');
  t.is((await b!.requestAddress(pool.poolId, { owner: 'e2', ip: '10.78.0.6' })).address, '10.78.0.6/29');
  const taken = await t.throwsAsync(a!.requestAddress(pool.poolId, { owner: 'e3', ip: '10.78.0.6' }));
  t.true(isTsnetError(taken, 'TSNET_ADDRESS_IN_USE'));
  t.regex(taken!.message, /10\.78\.0\.6 is already in use in network "appnet"/);
  t.true(
    isTsnetError(await t.throwsAsync(a!.requestAddress(pool.poolId, { owner: 'e3', ip: '10.78.0.1' })), 'TSNET_ADDRESS_IN_USE'),
    'the gateway',
  );
  t.true(isTsnetError(await t.throwsAsync(a!.requestAddress(pool.poolId, { owner: 'e3', ip: '10.79.0.1' })), 'TSNET_BAD_IP'));
  // serial: 3, 4, 5 (6 is taken), then full
  t.deepEqual(
    [
      (await b!.requestAddress(pool.poolId, { owner: 'e4' })).address,
      (await a!.requestAddress(pool.poolId, { owner: 'e5' })).address,
      (await b!.requestAddress(pool.poolId, { owner: 'e6' })).address,
    ],
    ['10.78.0.3/29', '10.78.0.4/29', '10.78.0.5/29'],
    'the cursor is cluster-wide',
  );
  const full = await t.throwsAsync(a!.requestAddress(pool.poolId, { owner: 'e7' }));
  t.true(isTsnetError(full, 'TSNET_POOL_EXHAUSTED'));
  await b!.releaseAddress(pool.poolId, '10.78.0.3/29');
  await b!.releaseAddress(pool.poolId, '10.78.0.3'); // idempotent
  t.is(
    (await a!.requestAddress(pool.poolId, { owner: 'e7' })).address,
    '10.78.0.3/29',
    'a released address is found again (after the cursor wraps)',
  );
  await a!.releasePool(pool.poolId);
  await a!.releasePool(pool.poolId); // idempotent
  const goneErr = await t.throwsAsync(b!.requestAddress(pool.poolId, { owner: 'e8' }));
  t.regex(goneErr!.message, /IPAM pool GlobalDefault\/10\.78\.0\.0\/29 does not exist/);
  t.is((await b!.listPools()).length, 0);
});

serial('pools never overlap across hosts, also when created at the same time', async (t) => {
  const [a, b, c] = await hosts(3);
  await a!.requestPool(pr({ subnet: '10.77.0.0/24', networkId: 'x', networkName: 'appnet' }));
  const overlap = await t.throwsAsync(b!.requestPool(pr({ subnet: '10.77.0.128/25', networkId: 'y', networkName: 'other' })));
  t.true(isTsnetError(overlap, 'TSNET_SUBNET_OVERLAP'));
  t.is(overlap!.message, 'subnet 10.77.0.128/25 overlaps with network "appnet" (10.77.0.0/24): choose another --subnet');
  // no --subnet: Docker's global default pool (10.0.0.0/8 in /24s), distinct per network
  const picked = await Promise.all(
    [a, b, c].flatMap((ipam, h) =>
      [0, 1, 2].map((i) => ipam!.requestPool(pr({ networkId: `d${h}${i}`, networkName: `d${h}${i}` }))),
    ),
  );
  const subnets = picked.map((p) => p.subnet);
  t.is(new Set(subnets).size, 9);
  t.true(
    subnets.every((s) => /^10\.0\.[0-9]+\.0\/24$/.test(s)),
    subnets.join(' '),
  );
  // same explicit subnet from two hosts at once: exactly one wins
  const race = await Promise.allSettled([
    b!.requestPool(pr({ subnet: '10.90.0.0/24', networkId: 'r1', networkName: 'r1' })),
    c!.requestPool(pr({ subnet: '10.90.0.0/24', networkId: 'r2', networkName: 'r2' })),
  ]);
  t.is(race.filter((r) => r.status === 'fulfilled').length, 1);
});

serial('etcd away: allocation is refused with TSNET_CLUSTER_UNAVAILABLE', async (t) => {
  const [a] = await hosts(1);
  const pool = await a!.requestPool(pr({ subnet: '10.91.0.0/24' }));
  await mh!.etcd.stop('SIGKILL');
  try {
    const err = await t.throwsAsync(a!.requestAddress(pool.poolId, { owner: 'e1' }));
    t.true(isTsnetError(err, 'TSNET_CLUSTER_UNAVAILABLE'));
    t.regex(err!.message, /^cluster store etcd:\/\/10\.99\.0\.2:2379 unreachable/);
  } finally {
    await mh!.etcd.start();
  }
});
