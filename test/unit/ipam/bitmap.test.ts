import test from 'ava';
import { createOffsetSet, DenseBitmap, SparseSet, type OffsetSet } from '../../../src/ipam/bitmap.js';

/** Reference model: a plain array scan. */
function naiveNextFree(used: Set<number>, from: number, to: number): number | undefined {
  for (let i = from; i <= to; i++) if (!used.has(i)) return i;
  return undefined;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

for (const [label, make] of [
  ['dense', (n: number): OffsetSet => new DenseBitmap(n)],
  ['sparse', (n: number): OffsetSet => new SparseSet(BigInt(n))],
] as const) {
  test(`${label}: nextFree agrees with a naive scan on random sets`, (t) => {
    const rnd = lcg(label.length * 7919);
    for (const size of [1, 31, 32, 33, 1000, 1024, 1025, 5000, 40000]) {
      const set = make(size);
      const model = new Set<number>();
      // fill densely in runs so whole words and summary words become full
      for (let k = 0; k < size * 2; k++) {
        const i = rnd() % size;
        if (rnd() % 5 === 0) {
          set.delete(BigInt(i));
          model.delete(i);
        } else {
          set.add(BigInt(i));
          model.add(i);
        }
      }
      t.is(set.count, model.size);
      for (let q = 0; q < 200; q++) {
        const a = rnd() % size;
        const b = a + (rnd() % (size - a));
        const got = set.nextFree(BigInt(a), BigInt(b));
        const want = naiveNextFree(model, a, b);
        t.is(got === undefined ? undefined : Number(got), want, `size ${size} [${a}, ${b}]`);
      }
    }
  });

  test(`${label}: full set has no free offset; freeing one finds exactly it`, (t) => {
    const size = 3000;
    const set = make(size);
    for (let i = 0; i < size; i++) set.add(BigInt(i));
    t.is(set.count, size);
    t.is(set.nextFree(0n, BigInt(size - 1)), undefined);
    set.delete(2047n);
    t.is(set.nextFree(0n, BigInt(size - 1)), 2047n);
    t.is(set.nextFree(2048n, BigInt(size - 1)), undefined);
    t.false(set.has(2047n));
    t.true(set.has(2046n));
  });
}

test('dense bitmap never returns offsets past its size (tail bits)', (t) => {
  const set = new DenseBitmap(37);
  for (let i = 0; i < 37; i++) set.add(BigInt(i));
  t.is(set.nextFree(0n, 1000n), undefined);
  t.is(set.count, 37);
  t.throws(() => set.add(37n), { instanceOf: RangeError });
});

test('createOffsetSet picks a bitmap for small pools and a sparse set for huge ones', (t) => {
  t.true(createOffsetSet(65536n) instanceof DenseBitmap);
  t.true(createOffsetSet(1n << 64n) instanceof SparseSet);
  t.true(createOffsetSet(1024n, 512n) instanceof SparseSet);
});
