/**
 * `--cpus` → HostConfig.NanoCpus, exactly: a decimal (`1`, `0.5`, `.25`, `1.000000001`)
 * or a fraction (`1/3` is too precise, `3/2` is fine), times 10^9, which must be whole.
 */
const DECIMAL = /^(\d*)(?:\.(\d*))?$/;
const FRACTION = /^(\d+)\/(\d+)$/;
const NANO = 1_000_000_000n;

export function parseNanoCpus(text: string): number {
  let nanos: bigint;
  const frac = FRACTION.exec(text);
  const dec = DECIMAL.exec(text);
  if (frac) {
    const num = BigInt(frac[1]!);
    const den = BigInt(frac[2]!);
    if (den === 0n) throw new Error(`failed to parse ${text} as a rational number`);
    if ((num * NANO) % den !== 0n) throw new Error('value is too precise');
    nanos = (num * NANO) / den;
  } else if (dec && (dec[1] !== '' || (dec[2] ?? '') !== '')) {
    const whole = BigInt(dec[1] === '' ? '0' : dec[1]!);
    const digits = (dec[2] ?? '').replace(/0+$/, '');
    if (digits.length > 9) throw new Error('value is too precise');
    nanos = whole * NANO + BigInt(digits.padEnd(9, '0') || '0');
  } else {
    throw new Error(`failed to parse ${text} as a rational number`);
  }
  if (nanos > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('value is too large');
  return Number(nanos);
}
