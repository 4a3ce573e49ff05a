import test from 'ava';
import { isTsnetError } from '../../../src/errors/index.js';
import {
  DOCKER_DEFAULT_LOCAL_POOLS,
  hostAvoidList,
  parseAddressPoolFlag,
  parseAddressPoolFlags,
  poolSubnetCount,
  resolveDefaultPools,
  deriveUlaPool,
  validatePoolSpecs,
} from '../../../src/ipam/pools.js';

test('Docker default local pools: 15 x /16 in 172.17-172.31 plus 16 x /20 in 192.168/16 = 31 networks', (t) => {
  const total = DOCKER_DEFAULT_LOCAL_POOLS.reduce((n, s) => n + poolSubnetCount(s), 0n);
  t.is(total, 31n);
  t.deepEqual(DOCKER_DEFAULT_LOCAL_POOLS[0], { base: '172.17.0.0/16', size: 16 });
  t.deepEqual(DOCKER_DEFAULT_LOCAL_POOLS.at(-1), { base: '192.168.0.0/16', size: 20 });
  t.true(Object.isFrozen(DOCKER_DEFAULT_LOCAL_POOLS));
});

test('--default-address-pool base=…,size=… parses (keys any order and case)', (t) => {
  t.deepEqual(parseAddressPoolFlag('base=10.10.0.0/16,size=24'), { base: '10.10.0.0/16', size: 24 });
  t.deepEqual(parseAddressPoolFlag('SIZE=26, Base=10.20.0.0/16'), { base: '10.20.0.0/16', size: 26 });
  t.deepEqual(parseAddressPoolFlag('base=fd00:1::/48,size=64'), { base: 'fd00:1::/48', size: 64 });
  t.deepEqual(parseAddressPoolFlag('base=10.30.0.0/16,size=16'), { base: '10.30.0.0/16', size: 16 });
});

test('--default-address-pool errors say what is wrong and show an example', (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['base=10.10.0.0/16', 'TSNET_INVALID_ARGUMENT', /missing size, expected e\.g\. base=10\.10\.0\.0\/16,size=24/],
    ['size=24', 'TSNET_INVALID_ARGUMENT', /missing base/],
    ['base=10.10.0.0/16,size=24,gw=1', 'TSNET_INVALID_ARGUMENT', /unexpected "gw=1"/],
    ['base=10.10.0.0/16,size=big', 'TSNET_INVALID_ARGUMENT', /size "big" is not a prefix length/],
    ['base=10.10.0.0/16,size=8', 'TSNET_INVALID_ARGUMENT', /size 8 must be a prefix length from 16 \(the base's\) to 32/],
    ['base=10.10.0.0/16,size=33', 'TSNET_INVALID_ARGUMENT', /from 16 \(the base's\) to 32/],
    ['base=10.10.1.0/16,size=24', 'TSNET_BAD_CIDR', /base 10\.10\.1\.0\/16 has host bits set: use 10\.10\.0\.0\/16/],
    ['base=10.10.0.0,size=24', 'TSNET_BAD_CIDR', /missing prefix length/],
  ];
  for (const [value, code, why] of cases) {
    const err = t.throws(() => parseAddressPoolFlag(value), undefined, value);
    t.true(isTsnetError(err, code as never), `${value}: ${err!.message}`);
    t.regex(err!.message, why, value);
    t.true(err!.message.startsWith(`invalid --default-address-pool "${value}": `), err!.message);
  }
});

test('flags replace the defaults, keep their order and drop exact duplicates', (t) => {
  t.deepEqual(resolveDefaultPools([]), [...DOCKER_DEFAULT_LOCAL_POOLS]);
  t.deepEqual(resolveDefaultPools(['base=10.10.0.0/16,size=24', 'base=10.0.0.0/16,size=24', 'base=10.10.0.0/16,size=24']), [
    { base: '10.10.0.0/16', size: 24 },
    { base: '10.0.0.0/16', size: 24 },
  ]);
  t.deepEqual(parseAddressPoolFlags([]), []);
  t.throws(() => validatePoolSpecs([{ base: '10.0.0.0/8', size: 4 }]), { message: /default address pool #1: size 4/ });
});

test('hostAvoidList: on-link routes canonicalised, nameservers as /32 or /128, junk and default routes dropped', (t) => {
  t.deepEqual(
    hostAvoidList(
      ['172.17.0.0/16', '192.168.1.7/24', '0.0.0.0/0', '::/0', 'garbage', 'fd00:aa::/64', '172.17.0.0/16'],
      ['192.168.1.1', ' 8.8.8.8 ', 'fe80::1%eth0', 'nameserver', '2001:4860:4860::8888'],
    ),
    [
      '172.17.0.0/16',
      '192.168.1.0/24',
      'fd00:aa::/64',
      '192.168.1.1/32',
      '8.8.8.8/32',
      'fe80::1/128',
      '2001:4860:4860::8888/128',
    ],
  );
  t.deepEqual(hostAvoidList([], []), []);
});

test("the host ULA pool: Docker's derivation (low 40 bits of sha256(host id) after fd), /48 split into /64s", (t) => {
  // expected values computed independently (python hashlib) from the same rule
  t.deepEqual(deriveUlaPool('test-host'), { base: 'fd83:80a:15df::/48', size: 64 });
  t.deepEqual(deriveUlaPool('0e5a2c3e-8a3b-4c5d-9e6f-1a2b3c4d5e6f'), { base: 'fd50:95f8:1692::/48', size: 64 });
  // added after the IPv4 pools when none of the pools is IPv6; not when one is
  t.deepEqual(resolveDefaultPools([], 'test-host'), [...DOCKER_DEFAULT_LOCAL_POOLS, { base: 'fd83:80a:15df::/48', size: 64 }]);
  t.deepEqual(resolveDefaultPools(['base=10.10.0.0/16,size=24'], 'test-host'), [
    { base: '10.10.0.0/16', size: 24 },
    { base: 'fd83:80a:15df::/48', size: 64 },
  ]);
  t.deepEqual(resolveDefaultPools(['base=10.10.0.0/16,size=24', 'base=fd12:3456::/48,size=64'], 'test-host'), [
    { base: '10.10.0.0/16', size: 24 },
    { base: 'fd12:3456::/48', size: 64 },
  ]);
});
