import test from 'ava';
import { KeyLayout } from '../../../src/store/cluster/keys.js';
import { StateMirror, type ClusterEvent } from '../../../src/store/cluster/mirror.js';
import { overlayNetworkRecord } from '../../helpers/cluster-records.js';
import { encodeRecord } from '../../../src/store/cluster/records.js';

const k = new KeyLayout();
const ep = (id: string, over: Record<string, unknown> = {}) => ({
  networkId: 'n1',
  endpointId: id,
  aliases: [],
  mac: '02:00:00:00:00:01',
  node: 'h2',
  vtep: '10.0.0.2',
  joined: true,
  address: '10.77.0.2/24',
  ...over,
});
const net = overlayNetworkRecord({ id: 'n1', name: 'appnet', vni: 4096, created: '' });
const kvEp = (id: string, rev: number, over: Record<string, unknown> = {}) => ({
  key: k.endpoint('n1', id),
  value: encodeRecord(ep(id, over)),
  modRevision: String(rev),
});
const summary = (evs: ClusterEvent[]) =>
  evs.map((e) =>
    e.kind === 'status'
      ? 'status'
      : `${e.kind}:${e.type}:${e.kind === 'endpoint' ? e.endpoint.endpointId : e.kind === 'network' ? e.network.id : e.node.id}`,
  );

test('a listing adds everything; a later listing reports only differences, removals first', (t) => {
  const m = new StateMirror(k);
  const first = m.replaceAll([
    kvEp('e1', 5),
    { key: k.network('n1'), value: encodeRecord(net), modRevision: '3' },
    { key: k.node('h2'), value: encodeRecord({ id: 'h2', advertiseAddr: '10.0.0.2', startedAt: '' }), modRevision: '2' },
    { key: k.vni(4096), value: 'n1', modRevision: '3' },
  ]);
  t.deepEqual(summary(first), ['node:added:h2', 'network:added:n1', 'endpoint:added:e1']);
  t.is(m.endpoints('n1').length, 1);
  t.is(m.network('n1')?.vni, 4096);
  const second = m.replaceAll([
    kvEp('e1', 8, { joined: false }),
    kvEp('e2', 9),
    { key: k.network('n1'), value: encodeRecord(net), modRevision: '3' },
  ]);
  t.deepEqual(summary(second), ['node:removed:h2', 'endpoint:updated:e1', 'endpoint:added:e2']);
  const upd = second.find((e) => e.kind === 'endpoint' && e.type === 'updated');
  t.true(upd?.kind === 'endpoint' && upd.previous?.joined === true && upd.endpoint.joined === false);
  t.deepEqual(
    m.replaceAll([
      kvEp('e2', 9),
      kvEp('e1', 8, { joined: false }),
      { key: k.network('n1'), value: encodeRecord(net), modRevision: '3' },
    ]),
    [],
    'same listing: nothing',
  );
});

test('watch events apply in revision order; stale ones are ignored', (t) => {
  const m = new StateMirror(k);
  t.deepEqual(summary(m.applyPut(kvEp('e1', 10))), ['endpoint:added:e1']);
  t.deepEqual(m.applyPut(kvEp('e1', 9, { address: '10.77.0.9/24' })), [], 'older put');
  t.deepEqual(m.applyDelete(k.endpoint('n1', 'e1'), '7'), [], 'older delete');
  t.deepEqual(summary(m.applyPut(kvEp('e1', 11, { address: '10.77.0.3/24' }))), ['endpoint:updated:e1']);
  t.deepEqual(m.applyPut(kvEp('e1', 12, { address: '10.77.0.3/24' })), [], 'same value: no event');
  t.deepEqual(summary(m.applyDelete(k.endpoint('n1', 'e1'), '13')), ['endpoint:removed:e1']);
  t.deepEqual(m.applyDelete(k.endpoint('n1', 'e1'), '13'), [], 'twice');
});

test('a local delete is not undone by the watch replaying an older put', (t) => {
  const m = new StateMirror(k);
  m.applyPut(kvEp('e1', 10));
  t.deepEqual(summary(m.applyDelete(k.endpoint('n1', 'e1'), '12', true)), ['endpoint:removed:e1']);
  t.deepEqual(m.applyPut(kvEp('e1', 10)), [], 'replayed put (rev 10 < delete at 12)');
  m.watchedTo('12');
  t.deepEqual(summary(m.applyPut(kvEp('e1', 14))), ['endpoint:added:e1'], 'a newer put after the tombstone');
});

test('undecodable records are skipped with a warning', (t) => {
  const m = new StateMirror(k);
  t.deepEqual(m.applyPut({ key: k.endpoint('n1', 'bad'), value: '{', modRevision: '3' }), []);
  t.is(m.warnings.length, 1);
  t.regex(m.warnings[0]!, /skipped .*bad/);
});
