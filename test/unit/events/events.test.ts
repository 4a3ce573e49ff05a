import test from 'ava';
import { EventEmitter } from 'node:events';
import { EventBus } from '../../../src/events/bus.js';
import { eventFilter, stripTag } from '../../../src/events/filter.js';
import { eventJson } from '../../../src/events/json.js';
import { SubscriberQueue } from '../../../src/events/subscriber-queue.js';
import { parseEventTime } from '../../../src/events/time.js';
import type { EventMessage } from '../../../src/events/types.js';

function clock(start = 1_700_000_000_000_000_000n) {
  let now = start;
  return { nowNs: () => now, advance: (ns: bigint) => (now += ns) };
}

const ev = (over: Partial<EventMessage> & { attrs?: Record<string, string>; id?: string }): EventMessage => ({
  Type: over.Type ?? 'container',
  Action: over.Action ?? 'start',
  Actor: { ID: over.id ?? 'c0ffee00', Attributes: over.attrs ?? { name: 'web', image: 'busybox:latest' } },
  scope: 'local',
  time: 1,
  timeNano: 1n,
});

test('bus: subscribers get later events; since replays the ring, until bounds it', (t) => {
  const c = clock();
  const bus = new EventBus({ keep: 3, nowNs: c.nowNs });
  for (const a of ['create', 'start', 'die', 'destroy']) {
    bus.publish('container', a, { ID: 'x', Attributes: {} });
    c.advance(1_000_000_000n);
  }
  const seen: string[] = [];
  const sub = bus.subscribe(
    () => true,
    (e) => seen.push(e.Action),
    1n,
    1_700_000_002_000_000_000n,
  );
  t.deepEqual(
    sub.buffered.map((e) => e.Action),
    ['start', 'die'],
    'oldest dropped from a ring of 3; until excludes later ones',
  );
  bus.publish('container', 'rename', { ID: 'x', Attributes: {} });
  t.deepEqual(seen, ['rename']);
  sub.close();
  bus.publish('container', 'stop', { ID: 'x', Attributes: {} });
  t.deepEqual(seen, ['rename']);
  t.is(bus.subscriberCount, 0);
});

test('bus: timestamps strictly increase even when the clock does not move; a throwing subscriber is contained', (t) => {
  const c = clock();
  const bus = new EventBus({ nowNs: c.nowNs });
  const got: EventMessage[] = [];
  bus.subscribe(
    () => true,
    () => {
      throw new Error('broken client');
    },
  );
  bus.subscribe(
    () => true,
    (e) => got.push(e),
  );
  bus.publish('network', 'create', { ID: 'n', Attributes: {} });
  bus.publish('network', 'destroy', { ID: 'n', Attributes: {} });
  t.is(got.length, 2);
  t.true(got[1]!.timeNano > got[0]!.timeNano);
  t.is(got[0]!.time, 1_700_000_000);
});

test('filters: type, event (exact and exec_* prefix), container by name or id prefix, label, image', (t) => {
  t.true(eventFilter({ type: ['container'] })(ev({})));
  t.false(eventFilter({ type: ['network'] })(ev({})));
  t.true(eventFilter({ event: ['start', 'die'] })(ev({})));
  t.false(eventFilter({ event: ['star'] })(ev({})), 'event is exact');
  t.true(eventFilter({ event: ['exec_create'] })(ev({ Action: 'exec_create: sh -c ls' })));
  t.true(eventFilter({ container: ['web'] })(ev({})));
  t.true(eventFilter({ container: ['c0f'] })(ev({})));
  t.false(eventFilter({ container: ['db'] })(ev({})));
  t.false(
    eventFilter({ container: ['web'] })(ev({ Type: 'network', id: 'n1', attrs: { name: 'front', container: 'c0ffee00' } })),
    'container= keeps only events whose actor is that container, as Docker',
  );
  t.true(eventFilter({ network: ['front'] })(ev({ Type: 'network', id: 'n1', attrs: { name: 'front' } })));
  t.true(eventFilter({ label: ['tier'] })(ev({ attrs: { name: 'web', tier: 'db' } })));
  t.true(eventFilter({ label: ['tier=db'] })(ev({ attrs: { name: 'web', tier: 'db' } })));
  t.false(eventFilter({ label: ['tier=web'] })(ev({ attrs: { name: 'web', tier: 'db' } })));
  t.true(eventFilter({ image: ['busybox'] })(ev({})));
  t.true(eventFilter({ image: ['busybox:latest'] })(ev({})));
  t.false(eventFilter({ image: ['alpine'] })(ev({})));
  t.is(stripTag('docker.io/library/busybox:1.36'), 'busybox');
  t.is(stripTag('localhost:5000/app'), 'localhost:5000/app');
});

test('json: Docker shape with the legacy fields for containers and images, exact timeNano', (t) => {
  const e = { ...ev({}), time: 1_733_000_000, timeNano: 1_733_000_000_123_456_789n };
  const j = JSON.parse(eventJson(e));
  t.is(j.status, 'start');
  t.is(j.id, 'c0ffee00');
  t.is(j.from, 'busybox:latest');
  t.is(j.Type, 'container');
  t.deepEqual(j.Actor, { ID: 'c0ffee00', Attributes: { name: 'web', image: 'busybox:latest' } });
  t.true(eventJson(e).endsWith('"timeNano":1733000000123456789}'));
  const n = JSON.parse(eventJson({ ...e, Type: 'network' }));
  t.is(n.status, undefined);
});

test('time: Unix seconds with fractions, RFC 3339; bad values are one clear error', (t) => {
  t.is(parseEventTime('since', null), 0n);
  t.is(parseEventTime('since', '1700000000'), 1_700_000_000_000_000_000n);
  t.is(parseEventTime('since', '1700000000.5'), 1_700_000_000_500_000_000n);
  t.is(parseEventTime('since', '1700000000.000000001'), 1_700_000_000_000_000_001n);
  t.is(parseEventTime('since', '2023-11-14T22:13:20Z'), 1_700_000_000_000_000_000n);
  const err = t.throws(() => parseEventTime('until', 'yesterday'));
  t.regex(err!.message, /invalid until value "yesterday"/);
});

class FakeSocket extends EventEmitter {
  written: string[] = [];
  full = false;
  destroyed = false;
  write(chunk: string): boolean {
    this.written.push(chunk);
    return !this.full;
  }
}

test('subscriber queue: writes through, queues while the socket pushes back, drops past the bound', (t) => {
  const s = new FakeSocket();
  const q = new SubscriberQueue(s, 3);
  q.push('a');
  s.full = true;
  q.push('b'); // written, but the socket says stop
  for (const x of ['c', 'd', 'e', 'f']) q.push(x);
  t.deepEqual(s.written, ['a', 'b']);
  t.is(q.queued, 3);
  t.is(q.dropped, 1, 'the fourth waiting line is dropped');
  s.full = false;
  s.emit('drain');
  t.deepEqual(s.written, ['a', 'b', 'c', 'd', 'e']);
  q.push('g');
  t.deepEqual(s.written.at(-1), 'g');
});

test('subscriber queue: the byte bound holds too', (t) => {
  const s = new FakeSocket();
  s.full = true;
  const q = new SubscriberQueue(s, 100, 10);
  q.push('first'); // written; blocks
  q.push('123456');
  q.push('123456');
  t.is(q.queued, 1);
  t.is(q.dropped, 1);
});
