import test from 'ava';
import { isTsnetError } from '../../../src/errors/index.js';
import {
  buildQuery,
  CLASS_IN,
  decodeHeader,
  decodeMessage,
  encodeMessage,
  findOpt,
  nameToLabels,
  normalizeName,
  NO_FLAGS,
  readName,
  TYPE,
  type DnsMessage,
} from '../../../src/network/dns/message.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const label = (s: string): string => Buffer.concat([Buffer.from([s.length]), Buffer.from(s, 'latin1')]).toString('hex');

/** What `dig example.com` (BIND 9.18) sends: RD+AD, EDNS 1232 with a client cookie. */
const DIG_QUERY = hex(
  '1234 0120 0001 0000 0000 0001' +
    label('example') +
    label('com') +
    '00 0001 0001' +
    '00 0029 04d0 00000000 000c 000a 0008 0102030405060708',
);

test('decodes a dig query: header, question, EDNS OPT with a cookie', (t) => {
  const m = decodeMessage(DIG_QUERY);
  t.is(m.id, 0x1234);
  t.deepEqual(m.flags, { ...NO_FLAGS, rd: true, ad: true });
  t.deepEqual(m.questions, [{ name: 'example.com', type: TYPE.A, class: CLASS_IN }]);
  t.is(m.answers.length, 0);
  const opt = findOpt(m);
  t.truthy(opt);
  t.is(opt?.name, '');
  t.is(opt?.class, 1232);
  t.is(opt?.ttl, 0);
  t.deepEqual(opt?.data, { kind: 'raw', bytes: new Uint8Array(hex('000a 0008 0102030405060708')) });
});

test('a decoded query re-encodes to the same bytes (OPT passed through unchanged)', (t) => {
  t.deepEqual(encodeMessage(decodeMessage(DIG_QUERY)), DIG_QUERY);
  // busybox/glibc-style: no EDNS, RD only, upper case kept
  const plain = hex(`beef 0100 0001 0000 0000 0000${label('WeB')}00 001c 0001`);
  const m = decodeMessage(plain);
  t.is(m.questions[0]?.name, 'WeB');
  t.is(m.questions[0]?.type, TYPE.AAAA);
  t.deepEqual(encodeMessage(m), plain);
});

test('buildQuery produces what a stub resolver sends', (t) => {
  const q = buildQuery(0x1234, 'example.com', TYPE.A, { udpSize: 1232 });
  t.deepEqual(q, hex(`1234 0100 0001 0000 0000 0001${label('example')}${label('com')}00 0001 0001 00 0029 04d0 00000000 0000`));
});

test('follows compression pointers on decode (answers, CNAME, SRV, PTR data)', (t) => {
  // Reply to "www.example.com A": www CNAME web.example.com; web.example.com A 10.0.0.2;
  // an AAAA; an SRV whose target is compressed; a PTR.
  const q = `0007 8180 0001 0005 0000 0000${label('www')}${label('example')}${label('com')}00 0001 0001`;
  // offsets: header 12, "www" at 12, "example" at 16, "com" at 24, end 28, qtype/class to 33
  const cname = `c00c 0005 0001 00000258 0006${label('web')}c010`; // rdata starts at 45: "web" at 45
  const a = 'c02d 0001 0001 00000258 0004 0a000002';
  const aaaa = 'c02d 001c 0001 00000258 0010 fd000000000000000000000000000002';
  const srv = `c00c 0021 0001 0000003c 0008 000a 0005 1f90 c02d`;
  const ptr = `c00c 000c 0001 0000003c 0002 c010`;
  const m = decodeMessage(hex(q + cname + a + aaaa + srv + ptr));
  t.true(m.flags.qr);
  t.true(m.flags.ra);
  t.deepEqual(
    m.answers.map((r) => [r.name, r.ttl, r.data]),
    [
      ['www.example.com', 600, { kind: 'CNAME', target: 'web.example.com' }],
      ['web.example.com', 600, { kind: 'A', address: '10.0.0.2' }],
      ['web.example.com', 600, { kind: 'AAAA', address: 'fd00::2' }],
      ['www.example.com', 60, { kind: 'SRV', priority: 10, weight: 5, port: 8080, target: 'web.example.com' }],
      ['www.example.com', 60, { kind: 'PTR', target: 'example.com' }],
    ],
  );
});

test('encoding compresses repeated names and decodes back to the same message', (t) => {
  const msg: DnsMessage = {
    id: 7,
    flags: { ...NO_FLAGS, qr: true, aa: true, rd: true, ra: true },
    questions: [{ name: 'Web.MyNet', type: TYPE.A, class: CLASS_IN }],
    answers: [
      { name: 'Web.MyNet', type: TYPE.A, class: CLASS_IN, ttl: 600, data: { kind: 'A', address: '172.18.0.2' } },
      { name: 'Web.MyNet', type: TYPE.A, class: CLASS_IN, ttl: 600, data: { kind: 'A', address: '172.18.0.3' } },
      { name: 'x.Web.MyNet', type: TYPE.CNAME, class: CLASS_IN, ttl: 1, data: { kind: 'CNAME', target: 'Web.MyNet' } },
      {
        name: '_http._tcp.MyNet',
        type: TYPE.SRV,
        class: CLASS_IN,
        ttl: 1,
        data: { kind: 'SRV', priority: 1, weight: 2, port: 80, target: 'Web.MyNet' },
      },
    ],
    authorities: [],
    additionals: [],
  };
  const wire = encodeMessage(msg);
  // The first answer's owner is a pointer to the question name at offset 12.
  const q = 12 + 1 + 3 + 1 + 5 + 1 + 4;
  t.is(wire.readUInt16BE(q), 0xc00c);
  t.deepEqual(decodeMessage(wire), msg);
  // Two A answers of 16 bytes each, not 27.
  t.true(wire.length < 12 + 15 + 4 + 2 * 16 + 40 + 40);
});

test('names: escapes round-trip, case is kept, normalizeName lower-cases and drops the dot', (t) => {
  const raw = hex('0001 0000 0001 0000 0000 0000 03 612e62 02 5c41 02 00ff 00 0001 0001');
  const m = decodeMessage(raw);
  t.is(m.questions[0]?.name, 'a\\.b.\\\\A.\\000\\255');
  t.deepEqual(encodeMessage(m), raw);
  t.is(normalizeName('WEB.MyNet.'), 'web.mynet');
  t.is(normalizeName('a\\.'), 'a\\.');
  t.deepEqual(nameToLabels('.'), []);
  t.deepEqual(nameToLabels(''), []);
  t.deepEqual(nameToLabels('web.'), [Uint8Array.from([0x77, 0x65, 0x62])]);
});

test('invalid names are refused on encode', (t) => {
  for (const bad of ['a..b', `${'x'.repeat(64)}.com`, `${'abcdefghi.'.repeat(26)}com`, 'caf\u00e9', 'x\\']) {
    const err = t.throws(() => nameToLabels(bad), undefined, bad);
    t.true(isTsnetError(err, 'TSNET_DNS'), bad);
  }
  t.notThrows(() => nameToLabels(`${'x'.repeat(63)}.com`));
});

test('malformed messages are rejected with TSNET_DNS, never anything else', (t) => {
  const head = (qd: number, an = 0) =>
    `0001 0000 ${qd.toString(16).padStart(4, '0')} ${an.toString(16).padStart(4, '0')} 0000 0000`;
  const cases: Array<[string, string]> = [
    ['empty', ''],
    ['short header', '0001 0100 0001'],
    ['question missing', head(1)],
    ['label runs past end', `${head(1)}05 6162`],
    ['name without end', head(1) + label('web')],
    ['question type cut', `${head(1) + label('web')}00 0001`],
    ['pointer to itself', `${head(1)}c00c 0001 0001`],
    ['forward pointer', `${head(1)}c010 0001 0001 00`],
    ['pointer loop', `${head(1)}01 61 c00c 0001 0001`],
    ['pointer cut short', `${head(1)}c0`],
    ['extended label type', `${head(1)}41 00 0001 0001`],
    ['name longer than 255', `${head(1) + `3f${'61'.repeat(63)}`.repeat(4)}00 0001 0001`],
    ['trailing bytes', `${head(1) + label('web')}00 0001 0001 ff`],
    ['answer missing', `${head(1, 1) + label('web')}00 0001 0001`],
    ['rdata past end', `${head(1, 1) + label('web')}00 0001 0001 c00c 0001 0001 00000001 0004 0a00`],
    ['A with 5 bytes', `${head(1, 1) + label('web')}00 0001 0001 c00c 0001 0001 00000001 0005 0a00000201`],
    ['AAAA with 4 bytes', `${head(1, 1) + label('web')}00 0001 0001 c00c 001c 0001 00000001 0004 0a000002`],
    ['CNAME spilling out of rdata', `${head(1, 1) + label('web')}00 0001 0001 c00c 0005 0001 00000001 0001 03`],
    ['huge counts', 'ffff 0000 ffff ffff ffff ffff 00 0001 0001'],
  ];
  for (const [what, bytes] of cases) {
    const err = t.throws(() => decodeMessage(hex(bytes)), undefined, what);
    t.true(isTsnetError(err, 'TSNET_DNS'), what);
  }
  t.throws(() => decodeHeader(hex('00')));
  t.throws(() => readName(hex('c000'), 0));
});

test('random garbage never escapes as anything but TSNET_DNS', (t) => {
  let seed = 42;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const base = encodeMessage(decodeMessage(DIG_QUERY));
  let decoded = 0;
  let rejected = 0;
  const unexpected: string[] = [];
  for (let i = 0; i < 5000; i++) {
    const b = Buffer.from(i % 2 === 0 ? base : Buffer.alloc(rnd() % 80));
    for (let k = 0; k < 1 + (rnd() % 6); k++) if (b.length > 0) b[rnd() % b.length] = rnd() & 0xff;
    try {
      const m = decodeMessage(b);
      if (!Buffer.isBuffer(encodeMessage(m))) unexpected.push(`re-encode gave no buffer for ${b.toString('hex')}`);
      decoded++;
    } catch (err) {
      if (isTsnetError(err, 'TSNET_DNS')) rejected++;
      else unexpected.push(`${String(err)} for ${b.toString('hex')}`);
    }
  }
  t.deepEqual(unexpected, []);
  // both paths were exercised: some mutations still parse, others are rejected cleanly
  t.true(decoded > 0, `${decoded} decoded`);
  t.true(rejected > 0, `${rejected} rejected`);
});
