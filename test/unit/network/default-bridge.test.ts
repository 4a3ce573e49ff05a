import test from 'ava';
import { isTsnetError } from '../../../src/errors/index.js';
import { defaultBridgeBody, defaultBridgeConfig, defaultBridgeMatches } from '../../../src/network/default-bridge.js';
import type { NetworkRecord } from '../../../src/network/network-record.js';

function rec(over: Partial<NetworkRecord>): NetworkRecord {
  return {
    id: 'x'.repeat(64),
    name: 'bridge',
    driver: 'bridge',
    scope: 'local',
    created: '',
    internal: false,
    attachable: false,
    enableIPv6: false,
    options: { 'com.docker.network.bridge.name': 'tsnet0', 'com.docker.network.bridge.default_bridge': 'true' },
    labels: {},
    ipam: { driver: 'default', options: {}, config: [] },
    pools: [{ poolId: 'p4', subnet: '172.17.0.0/16', gateway: '172.17.0.1', v6: false }],
    predefined: true,
    ...over,
  };
}

test('flags: --fixed-cidr-v6 needs --ipv6, an IPv6 subnet, canonical form', (t) => {
  t.deepEqual(defaultBridgeConfig('tsnet0', false), { name: 'tsnet0', ipv6: false });
  t.deepEqual(defaultBridgeConfig('tsnet0', true, 'fd00:1:0::/64'), { name: 'tsnet0', ipv6: true, fixedCidrV6: 'fd00:1::/64' });
  for (const [ipv6, cidr, re] of [
    [false, 'fd00:1::/64', /needs --ipv6/],
    [true, '10.0.0.0/24', /IPv6 subnet/],
    [true, 'fd00:1::5/64', /host bits|fd00:1::\/64/],
    [true, 'fd00:1::/127', /126/],
    [true, 'nonsense', /--fixed-cidr-v6/],
  ] as const) {
    const err = t.throws(() => defaultBridgeConfig('tsnet0', ipv6, cidr));
    t.true(isTsnetError(err), cidr);
    t.regex(err!.message, re, cidr);
  }
});

test('the create body and whether the stored bridge matches the flags', (t) => {
  const fixed = defaultBridgeConfig('tsnet0', true, 'fd00:77::/64');
  t.deepEqual(defaultBridgeBody(fixed).IPAM, { Config: [{ Subnet: 'fd00:77::/64' }] });
  t.true(defaultBridgeBody(fixed).EnableIPv6);
  t.is(defaultBridgeBody({ name: 'tsnet0', ipv6: true }).IPAM, undefined);
  const v4only = rec({});
  t.true(defaultBridgeMatches(v4only, { name: 'tsnet0', ipv6: false }));
  t.false(defaultBridgeMatches(v4only, { name: 'tsnet0', ipv6: true }));
  t.false(defaultBridgeMatches(v4only, { name: 'other0', ipv6: false }), 'a new --bridge-name');
  const withFixed = rec({
    enableIPv6: true,
    ipam: { driver: 'default', options: {}, config: [{ Subnet: 'fd00:77::/64' }] },
    pools: [...v4only.pools, { poolId: 'p6', subnet: 'fd00:77::/64', gateway: 'fd00:77::1', v6: true }],
  });
  t.true(defaultBridgeMatches(withFixed, fixed));
  t.false(defaultBridgeMatches(withFixed, { name: 'tsnet0', ipv6: true }), 'fixed → from the pools');
  t.false(defaultBridgeMatches(withFixed, { name: 'tsnet0', ipv6: false }));
  t.false(defaultBridgeMatches(withFixed, defaultBridgeConfig('tsnet0', true, 'fd00:78::/64')));
  const fromPool = rec({
    enableIPv6: true,
    pools: [...v4only.pools, { poolId: 'p6', subnet: 'fd12::/64', gateway: 'fd12::1', v6: true }],
  });
  t.true(defaultBridgeMatches(fromPool, { name: 'tsnet0', ipv6: true }));
  t.false(defaultBridgeMatches(fromPool, fixed));
});
