/**
 * Memory sizes as docker parses them (go-units RAMInBytes): a number (fractions allowed)
 * and an optional binary unit: `100` (bytes), `100b`, `512k`, `64m`, `64MB`, `1.5g`,
 * `2GiB`, `1t`, `1p`; case-insensitive; one space allowed before the unit.
 */
const UNITS: Record<string, number> = {
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

const SIZE = /^(\d+(?:\.\d*)?|\.\d+) ?(?:([kmgtp])(?:b|ib)?|b)?$/i;

/** Bytes, or throws Error('invalid size'). */
export function ramInBytes(text: string): number {
  const m = SIZE.exec(text);
  if (!m) throw new Error('invalid size');
  const value = Number(m[1]);
  const unit = m[2] === undefined ? 1 : UNITS[m[2].toLowerCase()]!;
  const bytes = Math.trunc(value * unit);
  if (!Number.isSafeInteger(bytes)) throw new Error('invalid size');
  return bytes;
}
