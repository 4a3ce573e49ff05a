import test from 'ava';
import { buildReply, errorReply, udpLimit } from '../../../src/network/dns/answer.js';
import { buildQuery, CLASS_IN, decodeMessage, findOpt, RCODE, TYPE, type DnsQuestion } from '../../../src/network/dns/message.js';
import { ipToPtrName, ptrNameToIp, resolveLocal, type LocalSource } from '../../../src/network/dns/records.js';

const table: Record<string, { A?: string[]; AAAA?: string[] }> = {
  web: { A: ['172.18.0.2'] },
  'web.mynet': { A: ['172.18.0.2'] },
  db: { A: ['172.18.0.3'], AAAA: ['FD00:0:0:0::3'] },
  v6only: { AAAA: ['fd00::9'] },
  many: { A: Array.from({ length: 100 }, (_, i) => `10.1.${i >> 8}.${i & 255}`) },
  broken: { A: ['not-an-ip', 'fd00::1', '10.0.0.1'] },
};
const asked: string[] = [];
const bad: string[] = [];
const src: LocalSource = {
  lookup: (name, type) => {
    asked.push(`${name}/${type}`);
    return table[name]?.[type] ?? [];
  },
  reverse: (ip) => ({ '172.18.0.2': 'web.mynet', 'fd00::3': 'db.mynet' })[ip],
  ttl: 600,
  onBadAddress: (n, t, a) => bad.push(`${n}/${t}/${a}`),
};
const q = (name: string, type: number, klass = CLASS_IN): DnsQuestion => ({ name, type, class: klass });

test.serial('A for a container name: answers with the lookup addresses, TTL 600, owner as asked', (t) => {
  asked.length = 0;
  const d = resolveLocal(q('WEB.', TYPE.A), src);
  t.deepEqual(d, {
    kind: 'answer',
    records: [{ name: 'WEB.', type: TYPE.A, class: CLASS_IN, ttl: 600, data: { kind: 'A', address: '172.18.0.2' } }],
  });
  t.deepEqual(asked, ['web/A'], 'lookup gets the lower-cased name without the trailing dot');
});

test('AAAA for an IPv4-only name is NODATA, not forwarded; canonical IPv6 text', (t) => {
  t.deepEqual(resolveLocal(q('web', TYPE.AAAA), src), { kind: 'answer', records: [] });
  t.deepEqual(resolveLocal(q('v6only', TYPE.A), src), { kind: 'answer', records: [] });
  const d = resolveLocal(q('db', TYPE.AAAA), src);
  t.is(d.kind, 'answer');
  t.deepEqual(d.kind === 'answer' ? d.records.map((r) => r.data) : [], [{ kind: 'AAAA', address: 'fd00::3' }]);
});

test('unknown names, other classes and the root are forwarded', (t) => {
  t.deepEqual(resolveLocal(q('example.com', TYPE.A), src), { kind: 'forward' });
  t.deepEqual(resolveLocal(q('example.com', TYPE.MX), src), { kind: 'forward' });
  t.deepEqual(resolveLocal(q('web', TYPE.A, 3 /* CH */), src), { kind: 'forward' });
  t.deepEqual(resolveLocal(q('', TYPE.A), src), { kind: 'forward' });
});

test('other types of our names: NODATA; ANY: A and AAAA', (t) => {
  t.deepEqual(resolveLocal(q('web', TYPE.MX), src), { kind: 'answer', records: [] });
  t.deepEqual(resolveLocal(q('web', TYPE.TXT), src), { kind: 'answer', records: [] });
  const any = resolveLocal(q('db', TYPE.ANY), src);
  t.deepEqual(any.kind === 'answer' ? any.records.map((r) => r.type) : [], [TYPE.A, TYPE.AAAA]);
});

test('PTR: container IPs through reverse, others forwarded', (t) => {
  t.deepEqual(resolveLocal(q('2.0.18.172.in-addr.arpa', TYPE.PTR), src), {
    kind: 'answer',
    records: [
      { name: '2.0.18.172.in-addr.arpa', type: TYPE.PTR, class: CLASS_IN, ttl: 600, data: { kind: 'PTR', target: 'web.mynet' } },
    ],
  });
  const v6 = ipToPtrName('fd00::3')!;
  t.is(v6, '3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa');
  const d = resolveLocal(q(v6.toUpperCase(), TYPE.PTR), src);
  t.deepEqual(d.kind === 'answer' ? d.records[0]?.data : undefined, { kind: 'PTR', target: 'db.mynet' });
  t.deepEqual(resolveLocal(q('9.9.9.9.in-addr.arpa', TYPE.PTR), src), { kind: 'forward' });
  t.deepEqual(resolveLocal(q('18.172.in-addr.arpa', TYPE.PTR), src), { kind: 'forward' });
  t.deepEqual(resolveLocal(q('2.0.18.172.in-addr.arpa', TYPE.A), src), { kind: 'forward' });
  t.deepEqual(resolveLocal(q('2.0.18.172.in-addr.arpa', TYPE.PTR), { ...src, reverse: undefined }), { kind: 'forward' });
  t.is(ptrNameToIp('4.3.2.1.in-addr.arpa.'), '1.2.3.4');
  t.is(ptrNameToIp('256.3.2.1.in-addr.arpa'), undefined);
  t.is(ptrNameToIp('x.ip6.arpa'), undefined);
  t.is(ipToPtrName('1.2.3.4'), '4.3.2.1.in-addr.arpa');
  t.is(ipToPtrName('nope'), undefined);
});

test.serial('invalid addresses from lookup are skipped and reported', (t) => {
  bad.length = 0;
  const d = resolveLocal(q('broken', TYPE.A), src);
  t.deepEqual(d.kind === 'answer' ? d.records.map((r) => r.data) : [], [{ kind: 'A', address: '10.0.0.1' }]);
  t.deepEqual(bad, ['broken/A/not-an-ip', 'broken/A/fd00::1']);
});

test('buildReply: NOERROR reply echoing the question and RD, AA+RA set, OPT when asked', (t) => {
  const query = decodeMessage(buildQuery(0xabcd, 'Web', TYPE.A, { udpSize: 1232 }));
  const d = resolveLocal(query.questions[0]!, src);
  const wire = buildReply(query, RCODE.NOERROR, d.kind === 'answer' ? d.records : [], {
    maxSize: udpLimit(query),
    authoritative: true,
  });
  const r = decodeMessage(wire);
  t.is(r.id, 0xabcd);
  t.like(r.flags, { qr: true, aa: true, rd: true, ra: true, tc: false, rcode: RCODE.NOERROR });
  t.deepEqual(r.questions, [{ name: 'Web', type: TYPE.A, class: CLASS_IN }]);
  t.deepEqual(
    r.answers.map((a) => [a.name, a.ttl, a.data]),
    [['Web', 600, { kind: 'A', address: '172.18.0.2' }]],
  );
  t.is(findOpt(r)?.class, 1232);
  t.is(wire.length, 12 + 9 + 16 + 11); // header, question, one compressed A, OPT
  // Without EDNS in the query: no OPT in the reply.
  const plain = decodeMessage(buildReply(decodeMessage(buildQuery(1, 'web', TYPE.A)), RCODE.NOERROR, [], { maxSize: 512 }));
  t.is(findOpt(plain), undefined);
});

test('buildReply truncates to the UDP limit with TC; TCP-sized limit keeps everything', (t) => {
  const query = decodeMessage(buildQuery(1, 'many', TYPE.A));
  t.is(udpLimit(query), 512);
  const d = resolveLocal(query.questions[0]!, src);
  const records = d.kind === 'answer' ? d.records : [];
  t.is(records.length, 100);
  const small = buildReply(query, RCODE.NOERROR, records, { maxSize: 512 });
  t.true(small.length <= 512);
  const r = decodeMessage(small);
  t.true(r.flags.tc);
  t.is(r.answers.length, Math.floor((512 - 12 - 10) / 16));
  const big = decodeMessage(buildReply(query, RCODE.NOERROR, records, { maxSize: 65535 }));
  t.false(big.flags.tc);
  t.is(big.answers.length, 100);
  // EDNS raises the limit (capped at 4096), never below 512.
  t.is(udpLimit(decodeMessage(buildQuery(1, 'x', TYPE.A, { udpSize: 100 }))), 512);
  t.is(udpLimit(decodeMessage(buildQuery(1, 'x', TYPE.A, { udpSize: 65000 }))), 4096);
  const edns = decodeMessage(buildQuery(1, 'many', TYPE.A, { udpSize: 4096 }));
  t.false(decodeMessage(buildReply(edns, RCODE.NOERROR, records, { maxSize: udpLimit(edns) })).flags.tc);
  const edns1232 = decodeMessage(buildQuery(1, 'many', TYPE.A, { udpSize: 1232 }));
  const r1232 = decodeMessage(buildReply(edns1232, RCODE.NOERROR, records, { maxSize: udpLimit(edns1232) }));
  t.true(r1232.flags.tc);
  t.is(r1232.answers.length, Math.floor((1232 - 12 - 10 - 11) / 16));
});

test('errorReply keeps id, opcode and RD; undefined for less than a header', (t) => {
  const raw = buildQuery(0x4242, 'x', TYPE.A);
  const r = decodeMessage(errorReply(raw, RCODE.FORMERR)!);
  t.is(r.id, 0x4242);
  t.like(r.flags, { qr: true, rd: true, rcode: RCODE.FORMERR });
  t.is(r.questions.length, 0);
  const s = decodeMessage(errorReply(raw, RCODE.SERVFAIL, [q('x', TYPE.A)], true)!);
  t.is(s.flags.rcode, RCODE.SERVFAIL);
  t.is(s.questions.length, 1);
  t.truthy(findOpt(s));
  t.is(errorReply(raw.subarray(0, 11), RCODE.FORMERR), undefined);
});
