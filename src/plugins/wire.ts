/**
 * Reading plugin replies the way Docker does: Go's encoding/json matches field names
 * case-insensitively, so plugins in the wild get away with "err", "value" or "self". These
 * helpers read a field by its canonical name, whatever its case, and check its type.
 */

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The value of `key` in `obj` (exact match first, then case-insensitive). */
export function field(obj: JsonObject | undefined | null, key: string): unknown {
  if (!obj) return undefined;
  if (Object.hasOwn(obj, key)) return obj[key];
  const lower = key.toLowerCase();
  for (const k of Object.keys(obj)) if (k.toLowerCase() === lower) return obj[k];
  return undefined;
}

export class WireTypeError extends Error {}

/** A string field; null/absent → ''. Anything else → WireTypeError naming the field. */
export function str(obj: JsonObject | undefined | null, key: string): string {
  const v = field(obj, key);
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new WireTypeError(`"${key}" must be a string, got ${JSON.stringify(v)}`);
  return v;
}

export function bool(obj: JsonObject | undefined | null, key: string): boolean {
  const v = field(obj, key);
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new WireTypeError(`"${key}" must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}

export function num(obj: JsonObject | undefined | null, key: string): number {
  const v = field(obj, key);
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new WireTypeError(`"${key}" must be a number, got ${JSON.stringify(v)}`);
  return v;
}

/** An object field; null/absent → undefined. */
export function obj(o: JsonObject | undefined | null, key: string): JsonObject | undefined {
  const v = field(o, key);
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new WireTypeError(`"${key}" must be an object, got ${JSON.stringify(v)}`);
  return v;
}

/** An array field; null/absent → []. */
export function arr(o: JsonObject | undefined | null, key: string): unknown[] {
  const v = field(o, key);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new WireTypeError(`"${key}" must be an array, got ${JSON.stringify(v)}`);
  return v;
}

/** A map of strings (e.g. IPAM `Data`); null/absent → {}. Non-string values are stringified. */
export function strMap(o: JsonObject | undefined | null, key: string): Record<string, string> {
  const v = obj(o, key);
  const out: Record<string, string> = {};
  if (!v) return out;
  for (const [k, x] of Object.entries(v)) {
    if (x === null || x === undefined) continue;
    out[k] = typeof x === 'string' ? x : JSON.stringify(x);
  }
  return out;
}
