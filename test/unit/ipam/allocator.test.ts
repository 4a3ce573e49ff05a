import test from 'ava';
import { isTsnetError, type ErrorCode } from '../../../src/errors/index.js';
import { Allocator } from '../../../src/ipam/allocator.js';
import type { PoolRequest } from '../../../src/ipam/ipam-api.js';
import { DOCKER_DEFAULT_LOCAL_POOLS, type AddressPoolSpec } from '../../../src/ipam/pools.js';

const FIXED_NOW = (): Date => new Date('2025-01-01T00:00:00.000Z');

function alloc(pools: readonly AddressPoolSpec[] = DOCKER_DEFAULT_LOCAL_POOLS, denseLimit?: bigint): Allocator {
  return new Allocator({ defaultPools: pools, now: FIXED_NOW, ...(denseLimit ? { denseLimit } : {}) });
}

function req(over: Partial<PoolRequest> & { networkName?: string } = {}): PoolRequest {
  const name = over.networkName ?? 'net';
  return { v6: false, networkId: `id-${name}`, networkName: name, avoid: [], ...over };
}

/** planPool + addPool, as DefaultIpam does. */
function create(a: Allocator, r: PoolRequest): ReturnType<Allocator['planPool']> {
  const rec = a.planPool(r);
  a.addPool(rec);
  return rec;
}

function throwsCode(t: import('ava').ExecutionContext, fn: () => unknown, code: ErrorCode, message: string | RegExp): void {
  const err = t.throws(fn);
  t.true(isTsnetError(err, code), `expected ${code}, got ${(err as { code?: string })?.code}: ${err?.message}`);
  if (typeof message === 'string') t.is(err!.message, message);
  else t.regex(err!.message, message);
}

// ---------------------------------------------------------------------------------------------
// Pools with --subnet

test('explicit subnet: lease has Docker-style pool id, first host as gateway', (t) => {
  const a = alloc();
  const p = create(a, req({ subnet: '10.42.0.0/24', networkName: 'frontend' }));
  t.like(p, { poolId: 'LocalDefault/10.42.0.0/24', subnet: '10.42.0.0/24', gateway: '10.42.0.1', dynamic: false, family: 4 });
  const r = create(a, req({ subnet: '10.43.0.0/24', ipRange: '10.43.0.128/25', networkName: 'b' }));
  t.is(r.poolId, 'LocalDefault/10.43.0.0/24/10.43.0.128/25');
  t.is(r.ipRange, '10.43.0.128/25');
  t.is(r.gateway, '10.43.0.1'); // first host of the subnet, even with an ip-range
});

test('subnet with host bits set is refused, suggesting the canonical form', (t) => {
  throwsCode(
    t,
    () => alloc().planPool(req({ subnet: '10.42.0.5/24' })),
    'TSNET_BAD_CIDR',
    'subnet 10.42.0.5/24 has host bits set: use 10.42.0.0/24',
  );
  throwsCode(
    t,
    () => alloc().planPool(req({ subnet: '10.42.0.0/33' })),
    'TSNET_BAD_CIDR',
    /^invalid subnet "10\.42\.0\.0\/33": prefix length/,
  );
});

test('overlapping subnet is refused naming the other network; adjacent is fine', (t) => {
  const a = alloc();
  create(a, req({ subnet: '10.42.0.0/16', networkName: 'frontend' }));
  throwsCode(
    t,
    () => a.planPool(req({ subnet: '10.42.0.0/24', networkName: 'backend' })),
    'TSNET_SUBNET_OVERLAP',
    'subnet 10.42.0.0/24 overlaps with network "frontend" (10.42.0.0/16): choose another --subnet',
  );
  throwsCode(
    t,
    () => a.planPool(req({ subnet: '10.0.0.0/8', networkName: 'backend' })),
    'TSNET_SUBNET_OVERLAP',
    /overlaps with network "frontend"/,
  );
  t.notThrows(() => create(a, req({ subnet: '10.43.0.0/16', networkName: 'backend' })));
  // a v6 pool never overlaps a v4 one
  t.notThrows(() => create(a, req({ subnet: 'fd00:42::/64', v6: true, networkName: 'frontend' })));
});

test('family must match the v6 flag', (t) => {
  throwsCode(
    t,
    () => alloc().planPool(req({ subnet: 'fd00::/64' })),
    'TSNET_BAD_CIDR',
    /subnet fd00::\/64 is IPv6 but an IPv4 pool was requested/,
  );
  throwsCode(t, () => alloc().planPool(req({ subnet: '10.0.0.0/24', v6: true })), 'TSNET_BAD_CIDR', /is IPv4 but an IPv6 pool/);
});

test('gateway must be inside the subnet and not its network or broadcast address', (t) => {
  const a = alloc();
  throwsCode(
    t,
    () => a.planPool(req({ subnet: '10.42.0.0/24', gateway: '10.1.0.1' })),
    'TSNET_BAD_GATEWAY',
    'gateway 10.1.0.1 is not in subnet 10.42.0.0/24',
  );
  throwsCode(
    t,
    () => a.planPool(req({ subnet: '10.42.0.0/24', gateway: '10.42.0.0' })),
    'TSNET_BAD_GATEWAY',
    'gateway 10.42.0.0 is the network address of subnet 10.42.0.0/24: use a host address such as 10.42.0.1',
  );
  throwsCode(
    t,
    () => a.planPool(req({ subnet: '10.42.0.0/24', gateway: '10.42.0.255' })),
    'TSNET_BAD_GATEWAY',
    /is the broadcast address of subnet/,
  );
  throwsCode(
    t,
    () => a.planPool(req({ subnet: '10.42.0.0/24', gateway: '10.42.0.x' })),
    'TSNET_BAD_GATEWAY',
    /^invalid gateway "10\.42\.0\.x"/,
  );
  throwsCode(t, () => a.planPool(req({ subnet: '10.42.0.0/24', gateway: 'fd00::1' })), 'TSNET_BAD_GATEWAY', /not in subnet/);
  throwsCode(
    t,
    () => a.planPool(req({ subnet: 'fd00::/64', v6: true, gateway: 'fd00::' })),
    'TSNET_BAD_GATEWAY',
    /network address/,
  );
  t.is(a.planPool(req({ subnet: '10.42.0.0/24', gateway: '10.42.0.254' })).gateway, '10.42.0.254');
  t.is(
    a.planPool(req({ subnet: 'fd00::/64', v6: true, gateway: 'fd00::ffff:ffff:ffff:ffff' })).gateway,
    'fd00::ffff:ffff:ffff:ffff',
  );
  // RFC 3021 /31: both addresses are usable, the first is the default gateway
  t.is(a.planPool(req({ subnet: '10.9.0.0/31' })).gateway, '10.9.0.0');
  t.notThrows(() => a.planPool(req({ subnet: '10.9.0.0/31', gateway: '10.9.0.1' })));
});

test('ip-range must be canonical and inside the subnet; options need a subnet', (t) => {
  const a = alloc();
  throwsCode(
    t,
    () => a.planPool(req({ subnet: '10.42.0.0/24', ipRange: '10.43.0.0/25' })),
    'TSNET_BAD_CIDR',
    'ip-range 10.43.0.0/25 is not inside subnet 10.42.0.0/24: choose an --ip-range within it',
  );
  throwsCode(
    t,
    () => a.planPool(req({ subnet: '10.42.0.0/24', ipRange: '10.42.0.0/16' })),
    'TSNET_BAD_CIDR',
    /not inside subnet/,
  );
  throwsCode(
    t,
    () => a.planPool(req({ subnet: '10.42.0.0/24', ipRange: '10.42.0.130/25' })),
    'TSNET_BAD_CIDR',
    'ip-range 10.42.0.130/25 has host bits set: use 10.42.0.128/25',
  );
  throwsCode(
    t,
    () => a.planPool(req({ ipRange: '10.42.0.0/25' })),
    'TSNET_INVALID_ARGUMENT',
    '--ip-range 10.42.0.0/25 needs a --subnet: give the subnet it belongs to',
  );
  throwsCode(
    t,
    () => a.planPool(req({ gateway: '10.42.0.1' })),
    'TSNET_INVALID_ARGUMENT',
    /--gateway 10\.42\.0\.1 needs a --subnet/,
  );
  throwsCode(
    t,
    () => a.planPool(req({ auxAddresses: { h: '10.42.0.9' } })),
    'TSNET_INVALID_ARGUMENT',
    /--aux-address needs a --subnet/,
  );
});

test('aux addresses must be inside the subnet, distinct from gateway and edges, and are reserved', (t) => {
  const a = alloc();
  throwsCode(
    t,
    () => a.planPool(req({ subnet: '10.42.0.0/24', auxAddresses: { host1: '10.1.0.5' } })),
    'TSNET_BAD_IP',
    'auxiliary address host1=10.1.0.5 is not in subnet 10.42.0.0/24: choose an address inside it',
  );
  throwsCode(
    t,
    () => a.planPool(req({ subnet: '10.42.0.0/24', auxAddresses: { r: '10.42.0.1' } })),
    'TSNET_BAD_IP',
    'auxiliary address r=10.42.0.1 is the gateway of subnet 10.42.0.0/24: choose another address or set --gateway',
  );
  throwsCode(
    t,
    () => a.planPool(req({ subnet: '10.42.0.0/24', auxAddresses: { r: '10.42.0.255' } })),
    'TSNET_BAD_IP',
    /is the broadcast address/,
  );
  throwsCode(
    t,
    () => a.planPool(req({ subnet: '10.42.0.0/24', auxAddresses: { a: '10.42.0.9', b: '10.42.0.9' } })),
    'TSNET_BAD_IP',
    /b=10\.42\.0\.9 is the auxiliary address "a"/,
  );
  throwsCode(
    t,
    () => a.planPool(req({ subnet: '10.42.0.0/24', auxAddresses: { a: 'x' } })),
    'TSNET_BAD_IP',
    /^invalid auxiliary address a "x"/,
  );

  const p = create(a, req({ subnet: '10.42.0.0/29', auxAddresses: { host1: '10.42.0.2', host2: '10.42.0.4' } }));
  t.deepEqual(p.auxAddresses, { host1: '10.42.0.2', host2: '10.42.0.4' });
  const got = [1, 2, 3].map((i) => a.allocate(p.poolId, { owner: `ep${i}` }).address);
  t.deepEqual(got, ['10.42.0.3/29', '10.42.0.5/29', '10.42.0.6/29']); // .1 gw, .2 .4 aux, .7 broadcast
});

// ---------------------------------------------------------------------------------------------
// Pools chosen from the defaults

test('without a subnet: first default pool, skipping existing networks and the avoid list', (t) => {
  const a = alloc();
  t.is(create(a, req({ networkName: 'a' })).subnet, '172.17.0.0/16');
  const b = create(a, req({ networkName: 'b', avoid: ['172.18.0.0/16', '172.19.5.0/24', '8.8.8.8/32', 'fd00::/8'] }));
  t.is(b.subnet, '172.20.0.0/16'); // 172.18 (route) and 172.19 (partly covered by a route) skipped
  t.true(b.dynamic);
  t.is(b.gateway, '172.20.0.1');
  t.is(create(a, req({ networkName: 'c' })).subnet, '172.18.0.0/16'); // avoid-list is per request
  // a --subnet that takes part of a default pool makes it unavailable
  create(a, req({ networkName: 'd', subnet: '172.19.200.0/24' }));
  t.is(create(a, req({ networkName: 'e' })).subnet, '172.21.0.0/16');
});

test('a nameserver inside 192.168/16 only removes its /20', (t) => {
  const a = alloc([{ base: '192.168.0.0/16', size: 20 }]);
  t.is(create(a, req({ networkName: 'x', avoid: ['192.168.0.0/20', '192.168.16.53/32'] })).subnet, '192.168.32.0/20');
  t.is(create(a, req({ networkName: 'y', avoid: ['192.168.16.53/32'] })).subnet, '192.168.0.0/20');
});

test('freed subnets are reused; all 31 Docker defaults, then the exact exhaustion error', (t) => {
  const a = alloc();
  const ids: string[] = [];
  for (let i = 0; i < 31; i++) ids.push(create(a, req({ networkName: `n${i}` })).poolId);
  t.is(a.getPool(ids[30]!)!.subnet, '192.168.240.0/20');
  throwsCode(
    t,
    () => a.planPool(req({ networkName: 'n31' })),
    'TSNET_POOL_EXHAUSTED',
    'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network: configure more with tsnetd --default-address-pool',
  );
  a.removePool(ids[3]!);
  t.is(create(a, req({ networkName: 'again' })).subnet, '172.20.0.0/16');
});

test('custom default pools (--default-address-pool) are used in order, split by size', (t) => {
  const a = alloc([
    { base: '10.10.0.0/16', size: 24 },
    { base: '10.20.0.0/23', size: 24 },
  ]);
  t.is(create(a, req({ networkName: 'a' })).subnet, '10.10.0.0/24');
  t.is(create(a, req({ networkName: 'b' })).subnet, '10.10.1.0/24');
  t.is(create(a, req({ networkName: 'c', avoid: ['10.10.0.0/17'] })).subnet, '10.10.128.0/24');
  const small = alloc([
    { base: '10.20.0.0/23', size: 24 },
    { base: '10.30.0.0/16', size: 16 },
  ]);
  t.is(create(small, req({ networkName: 'a' })).subnet, '10.20.0.0/24');
  t.is(create(small, req({ networkName: 'b' })).subnet, '10.20.1.0/24');
  t.is(create(small, req({ networkName: 'c' })).subnet, '10.30.0.0/16');
  throwsCode(
    t,
    () => small.planPool(req({ networkName: 'd' })),
    'TSNET_POOL_EXHAUSTED',
    /^could not find an available, non-overlapping IPv4 address pool/,
  );
});

test('a huge pool with many allocations is walked by jumping over blockers', (t) => {
  const a = alloc([{ base: '10.0.0.0/8', size: 24 }]);
  // 50 existing /24s at the start + a /9 route: the next free one is 10.128.0.0/24
  for (let i = 0; i < 50; i++) create(a, req({ networkName: `b${i}`, subnet: `10.0.${i}.0/24` }));
  const p = create(a, req({ networkName: 'x', avoid: ['10.0.0.0/9'] }));
  t.is(p.subnet, '10.128.0.0/24');
});

test('IPv6: no default pool unless configured; given subnets get ::1 as gateway', (t) => {
  const a = alloc();
  throwsCode(
    t,
    () => a.planPool(req({ v6: true })),
    'TSNET_INVALID_ARGUMENT',
    'no default IPv6 address pools are configured: give an IPv6 --subnet, or configure one with tsnetd --default-address-pool base=fd00:1::/48,size=64',
  );
  const p = create(a, req({ v6: true, subnet: 'fd00:42::/64' }));
  t.like(p, { subnet: 'fd00:42::/64', gateway: 'fd00:42::1', family: 6, poolId: 'LocalDefault/fd00:42::/64' });
  const b = alloc([...DOCKER_DEFAULT_LOCAL_POOLS, { base: 'fd00:1::/48', size: 64 }]);
  create(b, req({ v6: true, networkName: 'x' }));
  t.is(create(b, req({ v6: true, networkName: 'y', avoid: ['fd00:1:0:1::53/128'] })).subnet, 'fd00:1:0:2::/64');
  t.is(create(b, req({ networkName: 'v4' })).subnet, '172.17.0.0/16'); // v4 choice unaffected
});

// ---------------------------------------------------------------------------------------------
// Addresses

test('serial allocation: never network/broadcast/gateway, a released address is not reused at once, wraps around', (t) => {
  const a = alloc();
  const p = create(a, req({ subnet: '10.42.0.0/29' })); // .1 gw, .2-.6 usable, .7 broadcast
  const ips = ['a', 'b', 'c'].map((o) => a.allocate(p.poolId, { owner: o }).address);
  t.deepEqual(ips, ['10.42.0.2/29', '10.42.0.3/29', '10.42.0.4/29']);
  t.truthy(a.release(p.poolId, '10.42.0.3'));
  t.is(a.allocate(p.poolId, { owner: 'd' }).address, '10.42.0.5/29'); // not .3 again
  t.is(a.allocate(p.poolId, { owner: 'e' }).address, '10.42.0.6/29');
  t.is(a.allocate(p.poolId, { owner: 'f' }).address, '10.42.0.3/29'); // wrapped around
  throwsCode(
    t,
    () => a.allocate(p.poolId, { owner: 'g' }),
    'TSNET_POOL_EXHAUSTED',
    'no free address left in 10.42.0.0/29 for network "net"',
  );
  a.release(p.poolId, '10.42.0.2/29'); // CIDR form accepted
  t.is(a.allocate(p.poolId, { owner: 'g' }).address, '10.42.0.2/29');
});

test('ip-range restricts dynamic allocation; exhaustion names the range', (t) => {
  const a = alloc();
  const p = create(a, req({ subnet: '10.42.0.0/24', ipRange: '10.42.0.8/30', networkName: 'x' }));
  const got = [1, 2, 3, 4].map((i) => a.allocate(p.poolId, { owner: `o${i}` }).address);
  t.deepEqual(got, ['10.42.0.8/24', '10.42.0.9/24', '10.42.0.10/24', '10.42.0.11/24']);
  throwsCode(
    t,
    () => a.allocate(p.poolId, { owner: 'o5' }),
    'TSNET_POOL_EXHAUSTED',
    'no free address left in 10.42.0.8/30 for network "x"',
  );
  // --ip outside the range but inside the subnet is allowed (Docker: static IPs outside --ip-range)
  t.is(a.allocate(p.poolId, { owner: 'static', ip: '10.42.0.100' }).address, '10.42.0.100/24');
});

test('--ip: exact address, refused outside the subnet, on reserved or used addresses', (t) => {
  const a = alloc();
  const p = create(a, req({ subnet: '10.42.0.0/24', networkName: 'x', auxAddresses: { nas: '10.42.0.50' } }));
  t.is(a.allocate(p.poolId, { owner: 'a', ip: '10.42.0.10' }).address, '10.42.0.10/24');
  throwsCode(
    t,
    () => a.allocate(p.poolId, { owner: 'b', ip: '10.42.0.10' }),
    'TSNET_ADDRESS_IN_USE',
    'IP address 10.42.0.10 is already in use in network "x": choose another address',
  );
  throwsCode(
    t,
    () => a.allocate(p.poolId, { owner: 'b', ip: '10.43.0.10' }),
    'TSNET_BAD_IP',
    'IP address 10.43.0.10 is not in subnet 10.42.0.0/24 of network "x": choose an address inside it',
  );
  throwsCode(t, () => a.allocate(p.poolId, { owner: 'b', ip: 'fd00::1' }), 'TSNET_BAD_IP', /is not in subnet/);
  throwsCode(
    t,
    () => a.allocate(p.poolId, { owner: 'b', ip: '10.42.0.1' }),
    'TSNET_ADDRESS_IN_USE',
    'IP address 10.42.0.1 is reserved as the gateway of network "x": choose another address',
  );
  throwsCode(
    t,
    () => a.allocate(p.poolId, { owner: 'b', ip: '10.42.0.50' }),
    'TSNET_ADDRESS_IN_USE',
    /reserved as the auxiliary address "nas" of network "x"/,
  );
  throwsCode(
    t,
    () => a.allocate(p.poolId, { owner: 'b', ip: '10.42.0.0' }),
    'TSNET_BAD_IP',
    /is the network address of subnet 10\.42\.0\.0\/24/,
  );
  throwsCode(t, () => a.allocate(p.poolId, { owner: 'b', ip: '10.42.0.255' }), 'TSNET_BAD_IP', /is the broadcast address/);
  throwsCode(
    t,
    () => a.allocate(p.poolId, { owner: 'b', ip: '10.42.0.256' }),
    'TSNET_BAD_IP',
    /^invalid IP address "10\.42\.0\.256"/,
  );
  // a static address does not move the serial cursor
  t.is(a.allocate(p.poolId, { owner: 'c' }).address, '10.42.0.2/24');
});

test('owner idempotency: the same endpoint gets its address back; a different --ip is refused', (t) => {
  const a = alloc();
  const p = create(a, req({ subnet: '10.42.0.0/24', networkName: 'x' }));
  const first = a.allocate(p.poolId, { owner: 'ep1' });
  const again = a.allocate(p.poolId, { owner: 'ep1' });
  t.true(first.fresh);
  t.false(again.fresh);
  t.is(again.address, first.address);
  t.is(a.allocate(p.poolId, { owner: 'ep1', ip: '10.42.0.2' }).address, '10.42.0.2/24');
  throwsCode(
    t,
    () => a.allocate(p.poolId, { owner: 'ep1', ip: '10.42.0.9' }),
    'TSNET_INVALID_ARGUMENT',
    /endpoint ep1 already has address 10\.42\.0\.2/,
  );
  throwsCode(t, () => a.allocate(p.poolId, { owner: '' }), 'TSNET_INVALID_ARGUMENT', /needs an owner/);
  throwsCode(
    t,
    () => a.allocate('LocalDefault/1.2.3.0/24', { owner: 'z' }),
    'TSNET_INVALID_ARGUMENT',
    /IPAM pool LocalDefault\/1\.2\.3\.0\/24 does not exist/,
  );
});

test('release is a no-op for unknown pools/addresses and for the gateway/aux', (t) => {
  const a = alloc();
  const p = create(a, req({ subnet: '10.42.0.0/24', auxAddresses: { x: '10.42.0.9' } }));
  t.is(a.release('nope', '10.42.0.5'), undefined);
  t.is(a.release(p.poolId, '10.42.0.5'), undefined);
  t.is(a.release(p.poolId, '10.99.0.5'), undefined);
  t.is(a.release(p.poolId, 'fd00::5'), undefined);
  t.is(a.release(p.poolId, '10.42.0.1'), undefined); // gateway stays reserved
  t.is(a.release(p.poolId, '10.42.0.9'), undefined); // aux stays reserved
  throwsCode(t, () => a.allocate(p.poolId, { owner: 'o', ip: '10.42.0.1' }), 'TSNET_ADDRESS_IN_USE', /gateway/);
  t.throws(() => a.release(p.poolId, 'garbage'), { code: 'TSNET_BAD_IP' } as never);
});

test('undo restores the address set and the serial cursor', (t) => {
  const a = alloc();
  const p = create(a, req({ subnet: '10.42.0.0/24' }));
  a.allocate(p.poolId, { owner: 'a' });
  const b = a.allocate(p.poolId, { owner: 'b' });
  t.is(b.address, '10.42.0.3/24');
  b.undo();
  t.deepEqual(a.cursor(p.poolId), { last: '10.42.0.2', serial: 1 });
  t.is(a.allocate(p.poolId, { owner: 'c' }).address, '10.42.0.3/24');
  const r = a.release(p.poolId, '10.42.0.2')!;
  r.undo();
  throwsCode(t, () => a.allocate(p.poolId, { owner: 'd', ip: '10.42.0.2' }), 'TSNET_ADDRESS_IN_USE', /already in use/);
});

test('IPv6 pools (sparse set): ::1 gateway, serial from ::2, --ip anywhere, subnet-router anycast refused', (t) => {
  const a = alloc();
  const p = create(a, req({ v6: true, subnet: 'fd00:42::/64', networkName: 'v6' }));
  t.is(a.allocate(p.poolId, { owner: 'a' }).address, 'fd00:42::2/64');
  t.is(a.allocate(p.poolId, { owner: 'b' }).address, 'fd00:42::3/64');
  t.is(a.allocate(p.poolId, { owner: 'c', ip: 'fd00:42::ffff:ffff:ffff:ffff' }).address, 'fd00:42::ffff:ffff:ffff:ffff/64');
  throwsCode(t, () => a.allocate(p.poolId, { owner: 'd', ip: 'fd00:42::' }), 'TSNET_BAD_IP', /network address/);
  throwsCode(t, () => a.allocate(p.poolId, { owner: 'd', ip: 'fd00:42::1' }), 'TSNET_ADDRESS_IN_USE', /gateway/);
  throwsCode(t, () => a.allocate(p.poolId, { owner: 'd', ip: '10.0.0.1' }), 'TSNET_BAD_IP', /not in subnet fd00:42::\/64/);
  t.deepEqual(a.usage(p.poolId), { used: 5, total: 1n << 64n });
});

test('small IPv6 pools exhaust and wrap like IPv4 (no broadcast reserved)', (t) => {
  const a = alloc(DOCKER_DEFAULT_LOCAL_POOLS, 4n); // force the sparse set on a tiny pool
  const p = create(a, req({ v6: true, subnet: 'fd00::/125', networkName: 'tiny' })); // ::0 anycast, ::1 gw
  const got = [2, 3, 4, 5, 6, 7].map((i) => a.allocate(p.poolId, { owner: `o${i}` }).address);
  t.deepEqual(got, ['fd00::2/125', 'fd00::3/125', 'fd00::4/125', 'fd00::5/125', 'fd00::6/125', 'fd00::7/125']);
  throwsCode(
    t,
    () => a.allocate(p.poolId, { owner: 'x' }),
    'TSNET_POOL_EXHAUSTED',
    'no free address left in fd00::/125 for network "tiny"',
  );
  a.release(p.poolId, 'fd00::4');
  t.is(a.allocate(p.poolId, { owner: 'x' }).address, 'fd00::4/125');
});

test('/31 and /32 subnets use every address (RFC 3021)', (t) => {
  const a = alloc();
  const p31 = create(a, req({ subnet: '10.9.0.0/31', networkName: 'p2p' }));
  t.is(a.allocate(p31.poolId, { owner: 'peer' }).address, '10.9.0.1/31');
  throwsCode(t, () => a.allocate(p31.poolId, { owner: 'x' }), 'TSNET_POOL_EXHAUSTED', /no free address left in 10\.9\.0\.0\/31/);
  const p32 = create(a, req({ subnet: '10.9.1.7/32', networkName: 'host' }));
  t.is(p32.gateway, '10.9.1.7');
  throwsCode(t, () => a.allocate(p32.poolId, { owner: 'x' }), 'TSNET_POOL_EXHAUSTED', /10\.9\.1\.7\/32/);
});

test('restoreAddress/restoreCursor rebuild serial state; bad records are refused', (t) => {
  const a = alloc();
  const p = create(a, req({ subnet: '10.42.0.0/24' }));
  a.restoreAddress(p.poolId, { ip: '10.42.0.7', owner: 'x', serial: 4 });
  a.restoreAddress(p.poolId, { ip: '10.42.0.3', owner: 'y', serial: 2 });
  a.restoreAddress(p.poolId, { ip: '10.42.0.200', owner: 'static' });
  t.deepEqual(a.cursor(p.poolId), { last: '10.42.0.7', serial: 4 });
  a.restoreCursor(p.poolId, { last: '10.42.0.9', serial: 6 }); // .8, .9 were released after .7
  t.is(a.allocate(p.poolId, { owner: 'n' }).address, '10.42.0.10/24');
  a.restoreCursor(p.poolId, { last: '10.42.0.4', serial: 1 }); // older: ignored
  t.is(a.allocate(p.poolId, { owner: 'm' }).address, '10.42.0.11/24');
  t.throws(() => a.restoreAddress(p.poolId, { ip: '10.42.0.1', owner: 'gw' }), { code: 'TSNET_ADDRESS_IN_USE' } as never);
  t.throws(() => a.restoreAddress(p.poolId, { ip: '10.50.0.1', owner: 'far' }), { code: 'TSNET_BAD_IP' } as never);
  t.throws(() => a.restoreAddress(p.poolId, { ip: '10.42.0.77', owner: 'x' }), { code: 'TSNET_INVALID_ARGUMENT' } as never);
});
