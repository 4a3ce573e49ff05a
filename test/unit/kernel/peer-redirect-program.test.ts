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

test('the jumps land on the pass tail (no verdict, exit), the IPv6 or IPv4 key or the lookup; the map fd is loaded as a map', (t) => {
  const p = insns(peerRedirectProgram(41));
  const pass = p.length - 2;
  t.deepEqual([p[pass]!.code, p[pass]!.imm, p[pass + 1]!.code], [0xb7, -1, 0x95]);
  const ld = p.findIndex((x) => x.code === 0x18);
  const v4 = p.findIndex((x, i) => x.code === 0x07 && x.imm === 34 && i > 0) - 1; // r4 = r2 before r4 += 34
  const v6 = p.findIndex((x, i) => x.code === 0x61 && x.off === 38 && p[i + 1]!.code === 0x63); // the IPv6 key's first word
  const jumps = p.map((x, i) => ({ ...x, i })).filter((x) => (x.code & 0x07) === 0x05 && x.code !== 0x85 && x.code !== 0x95);
  t.is(jumps.length, 15);
  for (const j of jumps) t.true([pass, v4, v6, ld].includes(j.i + 1 + j.off), `jump at ${j.i} lands on ${j.i + 1 + j.off}`);
  // a VLAN tag (skb->vlan_present, read first) and an IPv4-mapped IPv6 destination go to the pass tail
  t.deepEqual([p[1]!.code, p[1]!.off, p[2]!.code, p[2]!.imm, 2 + 1 + p[2]!.off], [0x61, 20, 0x55, 0, pass]);
  const mapped = p.findIndex((x) => x.code === 0x69 && x.off === 48);
  t.deepEqual([p[mapped + 1]!.imm, mapped + 2 + p[mapped + 1]!.off], [0xffff, v6]);
  t.is(p[mapped + 7]!.code, 0x15, 'the last of the ::ffff: checks passes on equality');
  t.is(mapped + 8 + p[mapped + 7]!.off, pass);
  t.deepEqual([p[ld]!.src, p[ld]!.imm, p[ld + 1]!.code], [1, 41, 0]);
  // the key on the stack is 16 bytes at r10-16, for both families
  t.deepEqual(
    p.filter((x) => x.code === 0x63 || x.code === 0x7b).map((x) => x.off),
    [-16, -12, -8, -4, -16, -8, -4],
  );
  // the helpers called: map lookup, then redirect_peer
  t.deepEqual(
    p.filter((x) => x.code === 0x85).map((x) => x.imm),
    [1, 155],
  );
});

test('an entry: the address as in the packet (IPv4 as ::ffff:a.b.c.d); the ifindex in host order, then the MAC', (t) => {
  const e = peerEntry('10.1.2.3', 0x01020304, '02:42:0a:01:02:03');
  t.is(e.key.toString('hex'), '00000000000000000000ffff0a010203');
  t.is(e.value.toString('hex'), '0403020102420a0102030000');
  t.is(peerEntry('fd00::1:2', 1, '02:00:00:00:00:01').key.toString('hex'), 'fd000000000000000000000000010002');
});
