import test from 'ava';
import { PeerTable, peerOf } from '../../../src/network/drivers/overlay/peers.js';

const P = (ip: string, mac: string, vtep: string) => ({ ip, mac, vtep });

test("a peer is another host's joined endpoint with an address", (t) => {
  const rec = {
    networkId: 'n',
    endpointId: 'e',
    aliases: [],
    mac: '02:AA:00:00:00:01',
    node: 'h2',
    vtep: '10.0.0.2',
    joined: true,
    address: '10.77.0.5/24',
  };
  t.deepEqual(peerOf(rec, 'h1'), { ip: '10.77.0.5', mac: '02:aa:00:00:00:01', vtep: '10.0.0.2' });
  t.is(peerOf(rec, 'h2'), undefined, 'own endpoint');
  t.is(peerOf({ ...rec, joined: false }, 'h1'), undefined);
  const { address: _a, ...noAddr } = rec;
  t.is(peerOf(noAddr, 'h1'), undefined);
});

test('upsert and remove give neighbour + FDB changes', (t) => {
  const pt = new PeerTable();
  t.deepEqual(pt.upsert('e1', P('10.0.0.5', 'm1', 'v1')), [
    { op: 'neigh-set', ip: '10.0.0.5', mac: 'm1' },
    { op: 'fdb-set', mac: 'm1', vtep: 'v1' },
  ]);
  t.deepEqual(pt.upsert('e1', P('10.0.0.5', 'm1', 'v1')), [], 'no change');
  t.deepEqual(
    pt.upsert('e1', P('10.0.0.5', 'm1', 'v2')),
    [
      { op: 'neigh-set', ip: '10.0.0.5', mac: 'm1' },
      { op: 'fdb-set', mac: 'm1', vtep: 'v2' },
    ],
    'moved host',
  );
  t.deepEqual(pt.remove('e1'), [
    { op: 'neigh-del', ip: '10.0.0.5' },
    { op: 'fdb-del', mac: 'm1' },
  ]);
  t.deepEqual(pt.remove('e1'), []);
});

test("address reuse: removing a stale record keeps its successor's entries", (t) => {
  const pt = new PeerTable();
  pt.upsert('old', P('10.0.0.5', 'm-old', 'v1'));
  pt.upsert('new', P('10.0.0.5', 'm-new', 'v2'));
  t.deepEqual(pt.desired().neigh.get('10.0.0.5'), 'm-new');
  // the old record is withdrawn late: the IP goes on pointing at the new MAC
  t.deepEqual(pt.remove('old'), [
    { op: 'neigh-set', ip: '10.0.0.5', mac: 'm-new' },
    { op: 'fdb-del', mac: 'm-old' },
  ]);
  // same MAC on two records (e.g. a re-created endpoint): the newest VTEP wins, a late delete keeps it
  pt.upsert('a', P('10.0.0.7', 'mx', 'v1'));
  pt.upsert('b', P('10.0.0.8', 'mx', 'v3'));
  t.deepEqual(pt.remove('a'), [
    { op: 'neigh-del', ip: '10.0.0.7' },
    { op: 'fdb-set', mac: 'mx', vtep: 'v3' },
  ]);
  t.deepEqual(
    [...pt.desired().fdb],
    [
      ['m-new', 'v2'],
      ['mx', 'v3'],
    ],
  );
});

test('an endpoint that changes address releases the old one', (t) => {
  const pt = new PeerTable();
  pt.upsert('e', P('10.0.0.5', 'm', 'v'));
  t.deepEqual(pt.upsert('e', P('10.0.0.6', 'm', 'v')), [
    { op: 'neigh-del', ip: '10.0.0.5' },
    { op: 'neigh-set', ip: '10.0.0.6', mac: 'm' },
    { op: 'fdb-set', mac: 'm', vtep: 'v' },
  ]);
});

test('replaceAll keeps what is unchanged and drops what is gone', (t) => {
  const pt = new PeerTable();
  pt.upsert('a', P('10.0.0.1', 'ma', 'v'));
  pt.upsert('b', P('10.0.0.2', 'mb', 'v'));
  pt.replaceAll(
    new Map([
      ['b', P('10.0.0.2', 'mb', 'v')],
      ['c', P('10.0.0.3', 'mc', 'w')],
    ]),
  );
  t.is(pt.size, 2);
  t.deepEqual([...pt.desired().neigh.keys()].sort(), ['10.0.0.2', '10.0.0.3']);
});

test('a dual-stack peer has a neighbour entry per address; an IPv6-only one too', (t) => {
  const rec = {
    networkId: 'n',
    endpointId: 'e',
    aliases: [],
    mac: '02:aa:00:00:00:01',
    node: 'h2',
    vtep: '10.0.0.2',
    joined: true,
    address: '10.77.0.5/24',
    addressV6: 'fd00:77::5/64',
  };
  const p = peerOf(rec, 'h1')!;
  t.deepEqual(p, { ip: '10.77.0.5', ip6: 'fd00:77::5', mac: '02:aa:00:00:00:01', vtep: '10.0.0.2' });
  const { address: _a, ...v6only } = rec;
  t.deepEqual(peerOf(v6only, 'h1'), { ip: 'fd00:77::5', mac: '02:aa:00:00:00:01', vtep: '10.0.0.2' });
  const pt = new PeerTable();
  t.deepEqual(pt.upsert('e', p), [
    { op: 'neigh-set', ip: '10.77.0.5', mac: '02:aa:00:00:00:01' },
    { op: 'neigh-set', ip: 'fd00:77::5', mac: '02:aa:00:00:00:01' },
    { op: 'fdb-set', mac: '02:aa:00:00:00:01', vtep: '10.0.0.2' },
  ]);
  t.deepEqual([...pt.desired().neigh.keys()], ['10.77.0.5', 'fd00:77::5']);
  // losing the IPv6 address releases its entry only
  t.deepEqual(pt.upsert('e', { ip: '10.77.0.5', mac: '02:aa:00:00:00:01', vtep: '10.0.0.2' }), [
    { op: 'neigh-del', ip: 'fd00:77::5' },
    { op: 'neigh-set', ip: '10.77.0.5', mac: '02:aa:00:00:00:01' },
    { op: 'fdb-set', mac: '02:aa:00:00:00:01', vtep: '10.0.0.2' },
  ]);
  t.deepEqual(pt.remove('e'), [
    { op: 'neigh-del', ip: '10.77.0.5' },
    { op: 'fdb-del', mac: '02:aa:00:00:00:01' },
  ]);
});
