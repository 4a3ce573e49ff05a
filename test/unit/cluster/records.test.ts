import test from 'ava';
import { decodeEndpoint, decodeNetwork, decodeNode, encodeRecord } from '../../../src/store/cluster/records.js';

test('records round-trip through stable JSON', (t) => {
  const ep = {
    networkId: 'n',
    endpointId: 'e',
    aliases: ['web'],
    mac: '02:00:00:00:00:01',
    node: '10.0.0.1',
    vtep: '10.0.0.1',
    joined: true,
    address: '10.77.0.2/24',
    name: 'a',
  };
  const text = encodeRecord(ep);
  t.is(text, encodeRecord({ ...ep, aliases: ['web'] }));
  t.true(text.indexOf('"address"') < text.indexOf('"aliases"'), 'keys sorted');
  t.deepEqual(decodeEndpoint(text), { ok: true, value: ep });
});

test('records that do not fit are refused, not trusted', (t) => {
  t.false(decodeEndpoint('not json').ok);
  t.false(decodeEndpoint('[]').ok);
  t.false(decodeEndpoint(JSON.stringify({ networkId: 'n', endpointId: 'e', mac: 'm', node: 'x' })).ok, 'no vtep');
  t.false(decodeNetwork(JSON.stringify({ id: 'n', name: 'x', driver: 'overlay', vni: 0 })).ok);
  t.false(decodeNetwork(JSON.stringify({ id: 'n', name: 'x', driver: 'overlay', vni: 2 ** 24 })).ok);
  t.false(decodeNode(JSON.stringify({ id: 'n' })).ok);
  const n = decodeNetwork(
    JSON.stringify({
      id: 'n',
      name: 'x',
      driver: 'overlay',
      vni: 4096,
      ipv4: [{ pool: '10.77.0.0/24', gateway: '10.77.0.1/24' }, { bad: 1 }],
      options: { a: 'b', c: 1 },
    }),
  );
  t.true(n.ok);
  if (n.ok) {
    t.deepEqual(n.value.ipv4, [{ pool: '10.77.0.0/24', gateway: '10.77.0.1/24' }]);
    t.deepEqual(n.value.options, { a: 'b' });
    t.is(n.value.internal, false);
  }
  const e = decodeEndpoint(
    JSON.stringify({ networkId: 'n', endpointId: 'e', mac: 'm', node: 'x', vtep: 'v', aliases: ['a', 3], joined: 'yes' }),
  );
  t.true(e.ok && e.value.joined === false && e.value.aliases.length === 1);
});

test('a network record carries its pools for the other hosts', (t) => {
  const pools = [
    { poolId: 'GlobalDefault/10.77.0.0/24', subnet: '10.77.0.0/24', gateway: '10.77.0.1', v6: false },
    { poolId: 'x' },
  ];
  const n = decodeNetwork(JSON.stringify({ id: 'n', name: 'x', driver: 'overlay', pools }));
  t.true(n.ok && n.value.pools?.length === 1 && n.value.pools[0]!.gateway === '10.77.0.1');
});
