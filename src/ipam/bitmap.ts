/**
 * Sets of used address offsets inside one pool, with a fast "next free offset in [from, to]".
 *
 * - DenseBitmap: one bit per address plus a summary bit per full 32-bit word, so finding the
 *   next free offset skips 1024 used addresses per summary word. Used for pools up to
 *   DENSE_LIMIT addresses (an IPv4 /8 costs 2 MiB + 64 KiB).
 * - SparseSet: a Set of bigint offsets for larger pools (IPv6). Finding the next free offset
 *   probes at most (used + 1) offsets.
 */

export interface OffsetSet {
  /** Number of addressable offsets (the pool size). */
  readonly size: bigint;
  /** Number of offsets marked used. */
  readonly count: number;
  has(offset: bigint): boolean;
  add(offset: bigint): void;
  delete(offset: bigint): void;
  /** First unused offset in [from, to], or undefined. */
  nextFree(from: bigint, to: bigint): bigint | undefined;
}

/** Pools with at most this many addresses get a DenseBitmap. */
export const DENSE_LIMIT = 1n << 24n;

export function createOffsetSet(size: bigint, denseLimit: bigint = DENSE_LIMIT): OffsetSet {
  return size <= denseLimit ? new DenseBitmap(Number(size)) : new SparseSet(size);
}

const FULL = -1; // a 32-bit word with every bit set, as Int32Array reads it

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

export class DenseBitmap implements OffsetSet {
  readonly size: bigint;
  private readonly n: number;
  private readonly words: Int32Array;
  /** Bit w set when words[w] is full. */
  private readonly full: Int32Array;
  private used = 0;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`bitmap size ${size}`);
    this.n = size;
    this.size = BigInt(size);
    const wordCount = Math.ceil(size / 32);
    this.words = new Int32Array(wordCount);
    this.full = new Int32Array(Math.ceil(wordCount / 32));
    // Bits past the end of the last word count as used, so they are never handed out.
    const tail = size % 32;
    if (tail !== 0) {
      this.words[wordCount - 1] = ~((1 << tail) - 1);
    }
    for (let w = 0; w < wordCount; w++) this.updateSummary(w);
  }

  get count(): number {
    return this.used;
  }

  has(offset: bigint): boolean {
    const i = Number(offset);
    if (i < 0 || i >= this.n) return false;
    return (this.words[i >>> 5]! & (1 << (i & 31))) !== 0;
  }

  add(offset: bigint): void {
    const i = this.check(offset);
    const w = i >>> 5;
    const bit = 1 << (i & 31);
    if ((this.words[w]! & bit) !== 0) return;
    this.words[w]! |= bit;
    this.used++;
    this.updateSummary(w);
  }

  delete(offset: bigint): void {
    const i = this.check(offset);
    const w = i >>> 5;
    const bit = 1 << (i & 31);
    if ((this.words[w]! & bit) === 0) return;
    this.words[w]! &= ~bit;
    this.used--;
    this.updateSummary(w);
  }

  nextFree(fromB: bigint, toB: bigint): bigint | undefined {
    let from = Math.max(0, Number(fromB));
    const to = Math.min(this.n - 1, Number(toB));
    while (from <= to) {
      const w = from >>> 5;
      const below = (from & 31) === 0 ? 0 : (1 << (from & 31)) - 1;
      const word = this.words[w]! | below;
      if (word !== FULL) {
        const i = w * 32 + ctz32(~word);
        return i <= to ? BigInt(i) : undefined;
      }
      const next = this.nextNonFullWord(w + 1);
      if (next < 0) return undefined;
      from = next * 32;
    }
    return undefined;
  }

  private nextNonFullWord(start: number): number {
    const wordCount = this.words.length;
    let s = start >>> 5;
    if (start >= wordCount) return -1;
    let summary = this.full[s]! | ((start & 31) === 0 ? 0 : (1 << (start & 31)) - 1);
    for (;;) {
      if (summary !== FULL) {
        const w = s * 32 + ctz32(~summary);
        return w < wordCount ? w : -1;
      }
      s++;
      if (s >= this.full.length) return -1;
      summary = this.full[s]!;
    }
  }

  private updateSummary(w: number): void {
    const bit = 1 << (w & 31);
    if (this.words[w] === FULL) this.full[w >>> 5]! |= bit;
    else this.full[w >>> 5]! &= ~bit;
  }

  private check(offset: bigint): number {
    const i = Number(offset);
    if (i < 0 || i >= this.n) throw new RangeError(`offset ${offset} outside bitmap of ${this.n}`);
    return i;
  }
}

export class SparseSet implements OffsetSet {
  readonly size: bigint;
  private readonly set = new Set<bigint>();

  constructor(size: bigint) {
    this.size = size;
  }

  get count(): number {
    return this.set.size;
  }

  has(offset: bigint): boolean {
    return this.set.has(offset);
  }

  add(offset: bigint): void {
    if (offset < 0n || offset >= this.size) throw new RangeError(`offset ${offset} outside set of ${this.size}`);
    this.set.add(offset);
  }

  delete(offset: bigint): void {
    this.set.delete(offset);
  }

  nextFree(from: bigint, to: bigint): bigint | undefined {
    let i = from < 0n ? 0n : from;
    const end = to >= this.size ? this.size - 1n : to;
    // At most count+1 probes: each used offset can block one step.
    for (; i <= end; i++) {
      if (!this.set.has(i)) return i;
    }
    return undefined;
  }
}
