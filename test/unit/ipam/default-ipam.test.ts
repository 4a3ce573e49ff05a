import test from 'ava';
import { isTsnetError } from '../../../src/errors/index.js';
import { DefaultIpam } from '../../../src/ipam/default-ipam.js';
import type { IpamDriver, PoolRequest } from '../../../src/ipam/ipam-api.js';
import { MemoryStore } from '../../../src/ipam/stores/memory-store.js';

function pr(over: Partial<PoolRequest> = {}): PoolRequest {
  return { v6: false, networkId: 'n1', networkName: 'net', avoid: [], ...over };
}

test('implements the IpamDriver contract with Docker-shaped results', async (t) => {
  const ipam: IpamDriver = await DefaultIpam.load(new MemoryStore());
  t.is(ipam.name, 'default');
  const lease = await ipam.requestPool(pr({ subnet: '10.42.0.0/24', ipRange: '10.42.0.128/25' }));
  t.deepEqual(lease, {
    poolId: 'LocalDefault/10.42.0.0/24/10.42.0.128/25',
    subnet: '10.42.0.0/24',
    gateway: '10.42.0.1',
    ipRange: '10.42.0.128/25',
  });
  t.deepEqual(await ipam.requestAddress(lease.poolId, { owner: 'ep1' }), { address: '10.42.0.128/24' });
  await ipam.releaseAddress(lease.poolId, '10.42.0.128');
  await ipam.releaseAddress(lease.poolId, '10.42.0.128'); // idempotent
  await ipam.releasePool(lease.poolId);
  await ipam.releasePool(lease.poolId); // idempotent
  // the subnet is free again
  t.is((await ipam.requestPool(pr({ networkId: 'n2', networkName: 'other', subnet: '10.42.0.0/16' }))).subnet, '10.42.0.0/16');
});

test('concurrent calls are serialised: distinct addresses in call order, no lost updates', async (t) => {
  const store = new MemoryStore();
  const ipam = await DefaultIpam.load(store);
  const { poolId } = await ipam.requestPool(pr({ subnet: '10.42.0.0/24' }));
  const results = await Promise.all(Array.from({ length: 100 }, (_, i) => ipam.requestAddress(poolId, { owner: `ep${i}` })));
  t.deepEqual(
    results.map((r) => r.address),
    Array.from({ length: 100 }, (_, i) => `10.42.0.${i + 2}/24`),
  );
  t.is(store.calls.putAddress, 100);
  // concurrent pool requests without a subnet get different subnets
  const pools = await Promise.all([1, 2, 3].map((i) => ipam.requestPool(pr({ networkId: `x${i}`, networkName: `x${i}` }))));
  t.deepEqual(
    pools.map((p) => p.subnet),
    ['172.17.0.0/16', '172.18.0.0/16', '172.19.0.0/16'],
  );
});

test('a failing call does not break the queue for the next one', async (t) => {
  const ipam = await DefaultIpam.load(new MemoryStore());
  const { poolId } = await ipam.requestPool(pr({ subnet: '10.42.0.0/30' })); // one usable address
  const [a, b, c] = await Promise.allSettled([
    ipam.requestAddress(poolId, { owner: 'a' }),
    ipam.requestAddress(poolId, { owner: 'b' }),
    ipam.releaseAddress(poolId, '10.42.0.2'),
  ]);
  t.is(a.status, 'fulfilled');
  t.is(b.status, 'rejected');
  t.true(isTsnetError((b as PromiseRejectedResult).reason, 'TSNET_POOL_EXHAUSTED'));
  t.is((b as PromiseRejectedResult).reason.message, 'no free address left in 10.42.0.0/30 for network "net"');
  t.is(c.status, 'fulfilled');
  t.deepEqual(await ipam.requestAddress(poolId, { owner: 'd' }), { address: '10.42.0.2/30' });
});

test('when the store fails, memory is rolled back and the error surfaces', async (t) => {
  const store = new MemoryStore();
  const ipam = await DefaultIpam.load(store);
  const { poolId } = await ipam.requestPool(pr({ subnet: '10.42.0.0/24' }));
  store.failNext('putAddress', new Error('disk full'));
  const err = await t.throwsAsync(ipam.requestAddress(poolId, { owner: 'a' }));
  t.true(isTsnetError(err, 'TSNET_INTERNAL'));
  t.regex(err!.message, /persist address 10\.42\.0\.2 of pool .*: disk full/);
  t.deepEqual(ipam.listAddresses(poolId), []);
  t.deepEqual(await ipam.requestAddress(poolId, { owner: 'a' }), { address: '10.42.0.2/24' }); // same address: cursor rolled back

  store.failNext('deleteAddress');
  await t.throwsAsync(ipam.releaseAddress(poolId, '10.42.0.2'));
  t.is(ipam.listAddresses(poolId).length, 1);

  store.failNext('putPool');
  await t.throwsAsync(ipam.requestPool(pr({ networkId: 'n2', networkName: 'b', subnet: '10.50.0.0/24' })));
  t.is(ipam.listPools().length, 1);
  store.failNext('deletePool');
  await t.throwsAsync(ipam.releasePool(poolId));
  t.truthy(ipam.getPool(poolId));
});

test('load(store) restores pools, addresses and where serial allocation resumes', async (t) => {
  const store = new MemoryStore();
  const first = await DefaultIpam.load(store);
  const { poolId } = await first.requestPool(pr({ subnet: '10.42.0.0/24', auxAddresses: { nas: '10.42.0.5' } }));
  for (const o of ['a', 'b', 'c']) await first.requestAddress(poolId, { owner: o }); // .2 .3 .4
  await first.requestAddress(poolId, { owner: 'static', ip: '10.42.0.99', mac: '02:42:0a:2a:00:63' });
  await first.releaseAddress(poolId, '10.42.0.4'); // the newest one: only the cursor remembers it

  const second = await DefaultIpam.load(store);
  t.deepEqual(second.loadWarnings, []);
  t.deepEqual(second.getPool(poolId), first.getPool(poolId));
  t.deepEqual(
    second.listAddresses(poolId).sort((x, y) => x.ip.localeCompare(y.ip)),
    [
      { ip: '10.42.0.2', owner: 'a', serial: 1 },
      { ip: '10.42.0.3', owner: 'b', serial: 2 },
      { ip: '10.42.0.99', owner: 'static', mac: '02:42:0a:2a:00:63' },
    ],
  );
  // .4 was released last and .5 is aux: serial allocation continues at .6, not at .4
  t.deepEqual(await second.requestAddress(poolId, { owner: 'd' }), { address: '10.42.0.6/24' });
  await t.throwsAsync(second.requestAddress(poolId, { owner: 'e', ip: '10.42.0.99' }), { code: 'TSNET_ADDRESS_IN_USE' } as never);
  await t.throwsAsync(second.requestPool(pr({ networkId: 'n2', networkName: 'b', subnet: '10.42.0.128/25' })), {
    message: 'subnet 10.42.0.128/25 overlaps with network "net" (10.42.0.0/24): choose another --subnet',
  });
});

test('custom default pools and the avoid list reach the allocator', async (t) => {
  const ipam = await DefaultIpam.load(new MemoryStore(), { defaultPools: [{ base: '10.10.0.0/16', size: 24 }] });
  t.is((await ipam.requestPool(pr({ avoid: ['10.10.0.0/24'] }))).subnet, '10.10.1.0/24');
  await t.throwsAsync(DefaultIpam.load(new MemoryStore(), { defaultPools: [{ base: '10.10.0.1/16', size: 24 }] }), {
    code: 'TSNET_BAD_CIDR',
  } as never);
});

test('IPv6 lease through the driver', async (t) => {
  const ipam = await DefaultIpam.load(new MemoryStore());
  const lease = await ipam.requestPool(pr({ v6: true, subnet: 'fd00:dead:beef::/64' }));
  t.is(lease.gateway, 'fd00:dead:beef::1');
  t.deepEqual(await ipam.requestAddress(lease.poolId, { owner: 'a' }), { address: 'fd00:dead:beef::2/64' });
  t.deepEqual(await ipam.requestAddress(lease.poolId, { owner: 'b', ip: 'fd00:dead:beef::1:0' }), {
    address: 'fd00:dead:beef::1:0/64',
  });
});

test('scale: a /16 (65534 hosts) fills completely, then a fragmented refill gets exactly the holes', async (t) => {
  const ipam = await DefaultIpam.load(new MemoryStore());
  const { poolId } = await ipam.requestPool(pr({ subnet: '10.42.0.0/16' }));
  const seen = new Set<string>();
  for (let i = 0; i < 65533; i++) seen.add((await ipam.requestAddress(poolId, { owner: `ep${i}` })).address);
  t.is(seen.size, 65533, 'every host address once (the gateway has the 65534th)');
  t.false(seen.has('10.42.0.1/16'), 'not the gateway');
  const err = await t.throwsAsync(ipam.requestAddress(poolId, { owner: 'one-too-many' }));
  t.is(err!.message, 'no free address left in 10.42.0.0/16 for network "net"');

  // free every other address near the start: a refill gets exactly those back
  const holes = new Set<string>();
  for (let i = 2; i < 2002; i += 2) {
    const ip = `10.42.${i >> 8}.${i & 255}`;
    await ipam.releaseAddress(poolId, ip);
    holes.add(`${ip}/16`);
  }
  const refill = new Set<string>();
  for (let i = 0; i < 1000; i++) refill.add((await ipam.requestAddress(poolId, { owner: `re${i}` })).address);
  t.deepEqual([...refill].sort(), [...holes].sort());
  await t.throwsAsync(ipam.requestAddress(poolId, { owner: 'again-too-many' }), { code: 'TSNET_POOL_EXHAUSTED' } as never);
});

test('an ordered store: a release lets go of the lock once its write is given, and resolves once it is done', async (t) => {
  // deleteAddress is held until let go: the next request must not wait for it (decision 47)
  let hold = true;
  let letGo: () => void = () => undefined;
  class Ordered extends MemoryStore {
    readonly ordered = true;
    override deleteAddress(poolId: string, ip: string, cursor: Parameters<MemoryStore['deleteAddress']>[2]) {
      const done = super.deleteAddress(poolId, ip, cursor);
      return hold ? new Promise<void>((r) => (letGo = r)).then(() => done) : done;
    }
  }
  const store = new Ordered();
  const ipam = await DefaultIpam.load(store);
  const { poolId } = await ipam.requestPool(pr({ subnet: '10.42.0.0/24' }));
  await ipam.requestAddress(poolId, { owner: 'a' });
  let released = false;
  const release = ipam.releaseAddress(poolId, '10.42.0.2').then(() => (released = true));
  let next: { address: string } | undefined;
  void ipam.requestAddress(poolId, { owner: 'b' }).then((l) => (next = l));
  await new Promise((r) => setImmediate(r)); // one turn of the event loop: no disk in it
  t.deepEqual(next, { address: '10.42.0.3/24' }, 'the next request did not wait for the write');
  t.false(released, 'the release waits for its write');
  letGo();
  await release;
  t.deepEqual(
    ipam.listAddresses(poolId).map((x) => x.ip),
    ['10.42.0.3'],
  );
  // a failed write: the address stays free in memory (it may be handed out again meanwhile)
  hold = false;
  store.failNext('deleteAddress', new Error('disk full'));
  const err = await t.throwsAsync(ipam.releaseAddress(poolId, '10.42.0.3'));
  t.regex(err!.message, /persist release of 10\.42\.0\.3 in pool .*: disk full/);
  t.deepEqual(ipam.listAddresses(poolId), []);
});
