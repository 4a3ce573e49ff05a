/**
 * The forwarder against fake upstreams on 127.0.0.1 in the test's own namespace (no root, no
 * real DNS server is ever contacted).
 */
import test, { type ExecutionContext } from 'ava';
import dgram from 'node:dgram';
import net from 'node:net';
import { isTsnetError } from '../../../src/errors/index.js';
import { createForwarder, formatUpstream, parseUpstream, type Upstream } from '../../../src/network/dns/forwarder.js';
import { buildQuery, CLASS_IN, decodeMessage, encodeMessage, RCODE, TYPE } from '../../../src/network/dns/message.js';

type Mode = 'answer' | 'silent' | 'servfail' | 'spoof-first';

interface Fake {
  upstream: string;
  seenIds: number[];
  count(): number;
}

function reply(raw: Buffer, rcode: number, withAnswer: boolean, idOverride?: number): Buffer {
  const q = decodeMessage(raw);
  return encodeMessage({
    ...q,
    id: idOverride ?? q.id,
    flags: { ...q.flags, qr: true, ra: true, rcode },
    answers: withAnswer
      ? [{ name: q.questions[0]!.name, type: TYPE.A, class: CLASS_IN, ttl: 30, data: { kind: 'A', address: '192.0.2.7' } }]
      : [],
    additionals: [],
  });
}

async function fakeUdp(t: ExecutionContext, mode: Mode, delayMs = 0): Promise<Fake> {
  const sock = dgram.createSocket('udp4');
  const seenIds: number[] = [];
  sock.on('message', (msg, rinfo) => {
    seenIds.push(msg.readUInt16BE(0));
    if (mode === 'silent') return;
    const send = (b: Buffer): void => void sock.send(b, rinfo.port, rinfo.address);
    setTimeout(() => {
      if (mode === 'spoof-first') send(reply(msg, RCODE.NOERROR, false, (msg.readUInt16BE(0) + 1) & 0xffff));
      send(reply(msg, mode === 'servfail' ? RCODE.SERVFAIL : RCODE.NOERROR, mode !== 'servfail'));
    }, delayMs);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  t.teardown(() => sock.close());
  return { upstream: `127.0.0.1:${sock.address().port}`, seenIds, count: () => seenIds.length };
}

async function fakeTcp(t: ExecutionContext): Promise<Fake> {
  const seenIds: number[] = [];
  const server = net.createServer((c) => {
    let buf = Buffer.alloc(0);
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        seenIds.push(msg.readUInt16BE(0));
        const r = reply(Buffer.from(msg), RCODE.NOERROR, true);
        const frame = Buffer.alloc(2);
        frame.writeUInt16BE(r.length);
        c.write(Buffer.concat([frame, r]));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  return { upstream: `127.0.0.1:${(server.address() as net.AddressInfo).port}`, seenIds, count: () => seenIds.length };
}

/** A UDP port with nothing bound on it (ICMP port unreachable). */
async function closedPort(): Promise<string> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(r));
  return `127.0.0.1:${port}`;
}

const ups = (...list: string[]): Upstream[] => list.map(parseUpstream);

test('parseUpstream', (t) => {
  t.deepEqual(parseUpstream('10.0.0.1'), { host: '10.0.0.1', port: 53, family: 4 });
  t.deepEqual(parseUpstream('10.0.0.1:5353'), { host: '10.0.0.1', port: 5353, family: 4 });
  t.deepEqual(parseUpstream('fd00::1'), { host: 'fd00::1', port: 53, family: 6 });
  t.deepEqual(parseUpstream('[fd00::1]:54'), { host: 'fd00::1', port: 54, family: 6 });
  t.is(formatUpstream(parseUpstream('[fd00::1]:54')), '[fd00::1]:54');
  for (const bad of ['', 'dns.google', '10.0.0.1:0', '10.0.0.1:x', '10.0.0.1:70000', '[fd00::1]:', '1.2.3']) {
    t.true(
      isTsnetError(
        t.throws(() => parseUpstream(bad)),
        'TSNET_INVALID_ARGUMENT',
      ),
      bad,
    );
  }
});

test('UDP: forwards with a fresh random id and gives the reply back with the client id', async (t) => {
  const up = await fakeUdp(t, 'answer');
  const f = createForwarder({ upstreams: ups(up.upstream), timeoutMs: 2000, maxInFlight: 10 });
  t.teardown(() => f.close());
  const ids = new Set<number>();
  for (let i = 0; i < 5; i++) {
    const raw = await f.forward(buildQuery(0x1111, 'example.org', TYPE.A), 'udp');
    t.truthy(raw);
    const m = decodeMessage(raw!);
    t.is(m.id, 0x1111);
    t.deepEqual(m.answers[0]?.data, { kind: 'A', address: '192.0.2.7' });
    ids.add(up.seenIds[i]!);
  }
  t.true(ids.size >= 4, 'ids sent upstream are random');
});

test('UDP: a reply with the wrong id is ignored', async (t) => {
  const up = await fakeUdp(t, 'spoof-first');
  const f = createForwarder({ upstreams: ups(up.upstream), timeoutMs: 2000, maxInFlight: 10 });
  const m = decodeMessage((await f.forward(buildQuery(5, 'example.org', TYPE.A), 'udp'))!);
  t.is(m.answers.length, 1, 'the spoofed empty reply was not taken');
});

test('UDP: a silent first upstream is skipped after its share of the time', async (t) => {
  const silent = await fakeUdp(t, 'silent');
  const good = await fakeUdp(t, 'answer');
  const f = createForwarder({ upstreams: ups(silent.upstream, good.upstream), timeoutMs: 1000, maxInFlight: 10 });
  // had the silent one been given the whole second, the good one would never have been asked
  const raw = await f.forward(buildQuery(9, 'example.org', TYPE.A), 'udp');
  t.truthy(raw);
  t.is(decodeMessage(raw!).answers.length, 1);
  t.is(silent.count(), 1);
  t.is(good.count(), 1);
});

test('UDP: a late answer from a slow first upstream still wins while the next one is silent', async (t) => {
  const slow = await fakeUdp(t, 'answer', 700);
  const silent = await fakeUdp(t, 'silent');
  const f = createForwarder({ upstreams: ups(slow.upstream, silent.upstream), timeoutMs: 2000, maxInFlight: 10 });
  const raw = await f.forward(buildQuery(9, 'example.org', TYPE.A), 'udp');
  t.truthy(raw);
  t.is(decodeMessage(raw!).answers.length, 1);
});

test('UDP: a closed port (ICMP unreachable) and SERVFAIL move on at once', async (t) => {
  // each upstream's share of the deadline is 20 s, longer than the test may run: only moving on
  // at once (not waiting out a share) gets the answer in time
  t.timeout(10_000);
  const closed = await closedPort();
  const sf = await fakeUdp(t, 'servfail');
  const good = await fakeUdp(t, 'answer');
  const f = createForwarder({ upstreams: ups(closed, sf.upstream, good.upstream), timeoutMs: 60_000, maxInFlight: 10 });
  const raw = await f.forward(buildQuery(9, 'example.org', TYPE.A), 'udp');
  t.is(decodeMessage(raw!).flags.rcode, RCODE.NOERROR);
  t.is(sf.count(), 1);
});

test('UDP: only SERVFAIL upstreams: their SERVFAIL comes back; none answering: undefined at the deadline', async (t) => {
  const sf = await fakeUdp(t, 'servfail');
  const f1 = createForwarder({ upstreams: ups(sf.upstream), timeoutMs: 2000, maxInFlight: 10 });
  const raw = await f1.forward(buildQuery(77, 'example.org', TYPE.A), 'udp');
  t.is(decodeMessage(raw!).flags.rcode, RCODE.SERVFAIL);
  t.is(decodeMessage(raw!).id, 77);

  const s1 = await fakeUdp(t, 'silent');
  const s2 = await fakeUdp(t, 'silent');
  const f2 = createForwarder({ upstreams: ups(s1.upstream, s2.upstream), timeoutMs: 600, maxInFlight: 10 });
  t.is(await f2.forward(buildQuery(1, 'example.org', TYPE.A), 'udp'), undefined);
  t.is(s1.count(), 1);
  t.is(s2.count(), 1);

  const none = createForwarder({ upstreams: [], timeoutMs: 600, maxInFlight: 10 });
  t.is(await none.forward(buildQuery(1, 'example.org', TYPE.A), 'udp'), undefined);
});

test('TCP queries are forwarded over TCP', async (t) => {
  const up = await fakeTcp(t);
  const f = createForwarder({ upstreams: ups(up.upstream), timeoutMs: 2000, maxInFlight: 10 });
  const raw = await f.forward(buildQuery(0x2222, 'example.org', TYPE.A), 'tcp');
  const m = decodeMessage(raw!);
  t.is(m.id, 0x2222);
  t.is(m.answers.length, 1);
  t.is(up.count(), 1);
  t.not(up.seenIds[0], 0x2222);
});

test('TCP: a refused connection moves to the next upstream', async (t) => {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  const up = await fakeTcp(t);
  // a 30 s share each: only moving on at once answers within the test's timeout
  t.timeout(10_000);
  const f = createForwarder({ upstreams: ups(`127.0.0.1:${port}`, up.upstream), timeoutMs: 60_000, maxInFlight: 10 });
  t.is(decodeMessage((await f.forward(buildQuery(3, 'example.org', TYPE.A), 'tcp'))!).answers.length, 1);
  t.is(up.count(), 1);
});

test('maxInFlight refuses extra forwards; close() aborts those in flight', async (t) => {
  const silent = await fakeUdp(t, 'silent');
  // the silent upstream would hold them for 60 s, past the test's timeout: close() must end them
  t.timeout(10_000);
  const f = createForwarder({ upstreams: ups(silent.upstream), timeoutMs: 60_000, maxInFlight: 2 });
  const a = f.forward(buildQuery(1, 'a.example', TYPE.A), 'udp');
  const b = f.forward(buildQuery(2, 'b.example', TYPE.A), 'udp');
  t.is(await f.forward(buildQuery(3, 'c.example', TYPE.A), 'udp'), undefined);
  f.close();
  t.deepEqual(await Promise.all([a, b]), [undefined, undefined]);
  t.is(await f.forward(buildQuery(4, 'd.example', TYPE.A), 'udp'), undefined);
});
