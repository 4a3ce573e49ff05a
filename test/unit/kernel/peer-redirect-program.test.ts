import test from 'ava';
import { peerEntry, peerRedirectProgram } from '../../../src/kernel/peer-redirect-program.js';

const insns = (b: Buffer) =>
  Array.from({ length: b.length / 8 }, (_, i) => ({
    code: b[i * 8]!,
    dst: b[i * 8 + 1]! & 0xf,
    src: b[i * 8 + 1]! >> 4,
    off: b.readInt16LE(i * 8 + 2),
    imm: b.readInt32LE(i * 8 + 4),
  }));

test('every conditional jump lands on the pass tail (TCX_NEXT, exit); the map fd is loaded as a map', (t) => {
  const p = insns(peerRedirectProgram(41));
  const pass = p.length - 2;
  t.deepEqual([p[pass]!.code, p[pass]!.imm, p[pass + 1]!.code], [0xb7, -1, 0x95]);
  const jumps = p.map((x, i) => ({ ...x, i })).filter((x) => (x.code & 0x07) === 0x05 && x.code !== 0x85 && x.code !== 0x95);
  t.is(jumps.length, 6);
  for (const j of jumps) t.is(j.i + 1 + j.off, pass, `jump at ${j.i}`);
  const ld = p.findIndex((x) => x.code === 0x18);
  t.deepEqual([p[ld]!.src, p[ld]!.imm, p[ld + 1]!.code], [1, 41, 0]);
  // the helpers called: map lookup, then redirect_peer
  t.deepEqual(
    p.filter((x) => x.code === 0x85).map((x) => x.imm),
    [1, 155],
  );
});

test('an entry: the address in network order; the ifindex in host order, then the MAC', (t) => {
  const e = peerEntry('10.1.2.3', 0x01020304, '02:42:0a:01:02:03');
  t.is(e.key.toString('hex'), '0a010203');
  t.is(e.value.toString('hex'), '0403020102420a0102030000');
});
