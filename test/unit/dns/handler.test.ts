/** The query → reply logic of the resolver, with a fake forwarder (no sockets). */
import test from 'ava';
import type { Forwarder } from '../../../src/network/dns/forwarder.js';
import { buildQuery, CLASS_IN, decodeMessage, encodeMessage, RCODE, TYPE } from '../../../src/network/dns/message.js';
import type { LookupFn } from '../../../src/network/dns/records.js';
import { createHandler } from '../../../src/network/dns/resolver-server.js';
import { NOOP_LOGGER } from '../../../src/lib/logger.js';

function setup(opts: { lookup?: LookupFn; upstream?: (raw: Uint8Array, transport: string) => Buffer | undefined } = {}) {
  const forwarded: string[] = [];
  const forwarder: Forwarder = {
    forward: async (raw, transport) => {
      forwarded.push(`${decodeMessage(raw).questions[0]?.name}/${transport}`);
      return opts.upstream?.(raw, transport);
    },
    close: () => {},
  };
  const lookup: LookupFn = opts.lookup ?? ((name, type) => (name === 'web' && type === 'A' ? ['172.18.0.2'] : []));
  const logs: string[] = [];
  const h = createHandler({ lookup, ttl: 600 }, forwarder, {
    ...NOOP_LOGGER,
    debug: (m) => {
      logs.push(m);
    },
  });
  const ask = async (raw: Buffer, transport: 'udp' | 'tcp' = 'udp') => {
    const r = await h.handle(raw, transport);
    return r === undefined ? undefined : decodeMessage(r);
  };
  return { h, ask, forwarded, logs };
}

test('local names are answered without forwarding; AAAA of a v4 name is NODATA', async (t) => {
  const { ask, forwarded } = setup();
  const a = await ask(buildQuery(1, 'WEB.', TYPE.A));
  t.is(a?.flags.rcode, RCODE.NOERROR);
  t.deepEqual(
    a?.answers.map((r) => r.data),
    [{ kind: 'A', address: '172.18.0.2' }],
  );
  t.is(a?.answers[0]?.ttl, 600);
  const aaaa = await ask(buildQuery(2, 'web', TYPE.AAAA));
  t.is(aaaa?.flags.rcode, RCODE.NOERROR);
  t.is(aaaa?.answers.length, 0);
  t.deepEqual(forwarded, []);
});

test('local answers are synchronous (no promise on the hot path)', (t) => {
  const { h } = setup();
  t.false(h.handle(buildQuery(1, 'web', TYPE.A), 'udp') instanceof Promise);
});

test('unknown names are forwarded over the same transport; no answer → SERVFAIL', async (t) => {
  const upstreamReply = encodeMessage({
    ...decodeMessage(buildQuery(9, 'example.org', TYPE.A)),
    flags: { qr: true, opcode: 0, aa: false, tc: false, rd: true, ra: true, ad: false, cd: false, rcode: 0 },
  });
  const { ask, forwarded } = setup({ upstream: (_raw, tr) => (tr === 'tcp' ? upstreamReply : undefined) });
  const viaTcp = await ask(buildQuery(9, 'example.org', TYPE.A), 'tcp');
  t.is(viaTcp?.flags.rcode, RCODE.NOERROR);
  const viaUdp = await ask(buildQuery(10, 'example.org', TYPE.A, { udpSize: 1232 }), 'udp');
  t.is(viaUdp?.id, 10);
  t.is(viaUdp?.flags.rcode, RCODE.SERVFAIL);
  t.deepEqual(viaUdp?.questions, [{ name: 'example.org', type: TYPE.A, class: CLASS_IN }]);
  t.is(viaUdp?.additionals[0]?.type, TYPE.OPT);
  t.deepEqual(forwarded, ['example.org/tcp', 'example.org/udp']);
});

test('malformed queries get FORMERR (or are dropped) and never throw', async (t) => {
  const { h, ask, logs } = setup();
  t.is(await h.handle(Buffer.alloc(0), 'udp'), undefined);
  t.is(await h.handle(Buffer.from('0001', 'hex'), 'udp'), undefined);
  const bad = Buffer.from('abcd01000001000000000000c00c00010001', 'hex'); // pointer to itself
  const r = await ask(bad);
  t.is(r?.id, 0xabcd);
  t.is(r?.flags.rcode, RCODE.FORMERR);
  t.true(r?.flags.rd);
  t.true(logs.some((l) => l.includes('malformed')));
  // Two questions: FORMERR. No question: FORMERR.
  const two = decodeMessage(buildQuery(3, 'web', TYPE.A));
  two.questions.push({ name: 'db', type: TYPE.A, class: CLASS_IN });
  t.is((await ask(encodeMessage(two)))?.flags.rcode, RCODE.FORMERR);
  t.is((await ask(Buffer.from('000401000000000000000000', 'hex')))?.flags.rcode, RCODE.FORMERR);
  // Random bytes: whatever happens, no exception.
  for (let i = 0; i < 2000; i++) {
    const b = Buffer.alloc(12 + (i % 40));
    for (let k = 0; k < b.length; k++) b[k] = (i * 31 + k * 17) & 0xff;
    b[2] = b[2]! & 0x7f;
    await t.notThrowsAsync(async () => h.handle(b, i % 2 ? 'udp' : 'tcp'));
  }
});

test('responses are ignored; other opcodes get NOTIMP', async (t) => {
  const { h, ask } = setup();
  const resp = buildQuery(1, 'web', TYPE.A);
  resp[2] = resp[2]! | 0x80;
  t.is(await h.handle(resp, 'udp'), undefined);
  const notify = buildQuery(2, 'web', TYPE.SOA);
  notify[2] = (notify[2]! & 0x87) | (4 << 3); // opcode NOTIFY
  t.is((await ask(notify))?.flags.rcode, RCODE.NOTIMP);
});

test('a throwing lookup gives SERVFAIL', async (t) => {
  const { ask, logs } = setup({
    lookup: () => {
      throw new Error('store is gone');
    },
  });
  const r = await ask(buildQuery(5, 'web', TYPE.A));
  t.is(r?.flags.rcode, RCODE.SERVFAIL);
  t.true(logs.some((l) => l.includes('store is gone')));
});

test('big local answers are truncated over UDP, complete over TCP', async (t) => {
  const many = Array.from({ length: 80 }, (_, i) => `10.0.0.${i + 1}`);
  const { ask } = setup({ lookup: (n, ty) => (n === 'svc' && ty === 'A' ? many : []) });
  const udp = await ask(buildQuery(1, 'svc', TYPE.A), 'udp');
  t.true(udp?.flags.tc);
  t.true((udp?.answers.length ?? 0) < 80);
  const tcp = await ask(buildQuery(1, 'svc', TYPE.A), 'tcp');
  t.false(tcp?.flags.tc);
  t.is(tcp?.answers.length, 80);
});
