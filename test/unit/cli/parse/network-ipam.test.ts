import test from 'ava';
import { buildIpamConfig } from '../../../../src/cli/parse/ipam.js';
import { parseFilters, parseKeyValues } from '../../../../src/cli/parse/kv.js';
import { buildNetworkConfig } from '../../../../src/cli/parse/network.js';
import { splitRepoTag } from '../../../../src/cli/parse/ref.js';
import { parseTimestamp } from '../../../../src/cli/parse/time.js';

const ep = (Aliases: string[] = [], IPv4Address = '', IPv6Address = '') => ({
  Aliases,
  IPAMConfig: { IPv4Address, IPv6Address },
});

test('networks: none → default mode, no endpoints', (t) => {
  t.deepEqual(buildNetworkConfig({ networks: [], aliases: [] }), { NetworkMode: 'default', EndpointsConfig: {} });
});

test('networks: first is the mode, all are endpoints, endpoint flags go to the first', (t) => {
  t.deepEqual(buildNetworkConfig({ networks: ['a', 'b'], aliases: ['x'], ip: '10.0.0.2', ip6: 'fd00::2' }), {
    NetworkMode: 'a',
    EndpointsConfig: { a: ep(['x'], '10.0.0.2', 'fd00::2'), b: ep() },
  });
});

test('networks: advanced syntax per network', (t) => {
  t.deepEqual(buildNetworkConfig({ networks: ['name=a,alias=x,alias=y,ip=10.0.0.2', 'name=b,ip6=fd00::9'], aliases: [] }), {
    NetworkMode: 'a',
    EndpointsConfig: { a: ep(['x', 'y'], '10.0.0.2'), b: ep([], '', 'fd00::9') },
  });
});

test('networks: errors', (t) => {
  t.throws(() => buildNetworkConfig({ networks: ['a', 'a'], aliases: [] }), {
    message: 'network "a" is specified multiple times',
  });
  t.throws(() => buildNetworkConfig({ networks: ['host', 'a'], aliases: [] }), { message: /user-defined and non-user-defined/ });
  t.throws(() => buildNetworkConfig({ networks: ['a'], aliases: [], ip: '10.0.0' }), {
    message: '"10.0.0" is not an IPv4 address',
  });
  t.throws(() => buildNetworkConfig({ networks: ['a'], aliases: [], ip6: '10.0.0.1' }), {
    message: '"10.0.0.1" is not an IPv6 address',
  });
  t.throws(() => buildNetworkConfig({ networks: ['name=a,foo=1'], aliases: [] }), { message: /unknown field "foo"/ });
  t.throws(() => buildNetworkConfig({ networks: ['alias=x'], aliases: [] }), { message: 'missing name=NETWORK' });
});

test('IPAM: gateways, ranges and aux addresses go to their subnet', (t) => {
  t.deepEqual(
    buildIpamConfig(
      ['10.1.0.0/16', '2001:db8:1::/64'],
      ['10.1.2.0/24'],
      ['2001:db8:1::1', '10.1.0.1'],
      [
        ['r', '10.1.0.3'],
        ['r6', '2001:db8:1::ffff:1.2.3.4'],
      ],
    ),
    [
      { Subnet: '10.1.0.0/16', IPRange: '10.1.2.0/24', Gateway: '10.1.0.1', AuxiliaryAddresses: { r: '10.1.0.3' } },
      { Subnet: '2001:db8:1::/64', Gateway: '2001:db8:1::1', AuxiliaryAddresses: { r6: '2001:db8:1::ffff:1.2.3.4' } },
    ],
  );
  t.deepEqual(buildIpamConfig([], [], [], []), []);
});

test('IPAM: docker errors', (t) => {
  t.throws(() => buildIpamConfig([], [], ['10.0.0.1'], []), {
    message: 'every ip-range or gateway must have a corresponding subnet',
  });
  t.throws(() => buildIpamConfig(['10.0.0.0/8', '10.1.0.0/16'], [], [], []), { message: /overlapping subnets/ });
  t.throws(() => buildIpamConfig(['10.0.0.0/24'], [], ['10.0.1.1'], []), { message: 'no matching subnet for gateway 10.0.1.1' });
  t.throws(() => buildIpamConfig(['10.0.0.0/24'], ['10.0.1.0/25'], [], []), {
    message: 'no matching subnet for range 10.0.1.0/25',
  });
  t.throws(() => buildIpamConfig(['10.0.0.0/24', '10.0.1.0/24'], [], ['10.0.0.1', '10.0.0.2'], []), {
    message: /multiple gateways/,
  });
  t.throws(() => buildIpamConfig(['10.0.0.0/24'], [], [], [['a', '10.9.0.1']]), {
    message: 'no matching subnet for aux-address 10.9.0.1',
  });
  t.throws(() => buildIpamConfig(['10.0.0.0'], [], [], []), { message: 'invalid subnet "10.0.0.0"' });
  t.throws(() => buildIpamConfig(['10.0.0.0/33'], [], [], []), { message: /invalid subnet/ });
});

test('key=value lists, filters, references, timestamps', (t) => {
  t.deepEqual(parseKeyValues(['a=1', 'b', 'c=x=y', 'a=2']), { a: '2', b: '', c: 'x=y' });
  t.throws(() => parseKeyValues(['=v']), { message: /empty key/ });
  t.is(parseFilters([]), undefined);
  t.is(parseFilters(['name=web', 'label=a=b', 'name=db']), '{"name":["web","db"],"label":["a=b"]}');
  t.throws(() => parseFilters(['web']), { message: /expected name=value/ });
  t.deepEqual(splitRepoTag('alpine'), { repo: 'alpine', tag: undefined });
  t.deepEqual(splitRepoTag('alpine:3.19'), { repo: 'alpine', tag: '3.19' });
  t.deepEqual(splitRepoTag('localhost:5000/team/img'), { repo: 'localhost:5000/team/img', tag: undefined });
  t.deepEqual(splitRepoTag('localhost:5000/img:v1'), { repo: 'localhost:5000/img', tag: 'v1' });
  t.throws(() => splitRepoTag('img:'));
  const now = 1_700_000_000_000;
  t.is(parseTimestamp('1699999999'), '1699999999');
  t.is(parseTimestamp('10m', now), '1699999400.000');
  t.is(parseTimestamp('1h30m', now), `${String(1_700_000_000 - 5400)}.000`);
  t.is(parseTimestamp('2023-11-14T22:13:20Z'), '1700000000');
  t.throws(() => parseTimestamp('yesterday'));
});
