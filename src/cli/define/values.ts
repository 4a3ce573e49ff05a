/** Flag value parsers shared by the commander tree and the fast path (no commander here). */
import { invalidArgument } from '../errors.js';
import { parseNanoCpus } from '../parse/cpus.js';
import { ramInBytes } from '../parse/size.js';

/** Repeatable flag: collects values in order. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `-m, --memory 64m` → bytes. */
export function sizeArg(flag: string): (value: string) => number {
  return (value) => {
    try {
      return ramInBytes(value);
    } catch (err) {
      throw invalidArgument(value, flag, (err as Error).message);
    }
  };
}

/** `--cpus 1.5` → NanoCpus. */
export function cpusArg(flag: string): (value: string) => number {
  return (value) => {
    try {
      return parseNanoCpus(value);
    } catch (err) {
      throw invalidArgument(value, flag, (err as Error).message);
    }
  };
}

/** An integer flag; `min` bounds it. */
export function intArg(flag: string, min = Number.MIN_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
      throw invalidArgument(value, flag, 'not an integer');
    }
    const n = Number(value);
    if (n < min) throw invalidArgument(value, flag, `must be at least ${min}`);
    return n;
  };
}

/** `--memory-swap 1g` → bytes; -1 is unlimited. */
export function swapArg(flag: string): (value: string) => number {
  const size = sizeArg(flag);
  return (value) => (value === '-1' ? -1 : size(value));
}
