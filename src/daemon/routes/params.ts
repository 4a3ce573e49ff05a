/** Query-string helpers with Docker's conventions (1/true/yes are true). */
import { TsnetError } from '../../errors/index.js';

export function bool(q: URLSearchParams, key: string, fallback = false): boolean {
  const v = q.get(key);
  if (v === null) return fallback;
  return v === '1' || v.toLowerCase() === 'true' || v.toLowerCase() === 'yes';
}

export function int(q: URLSearchParams, key: string): number | undefined {
  const v = q.get(key);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid value for ${key}: ${v}`);
  return n;
}

/** Docker's `filters` parameter: JSON `{"name": ["x"]}` or the old `{"name": {"x": true}}`. */
export function filters(q: URLSearchParams): Record<string, string[]> {
  const raw = q.get('filters');
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid filters: ${raw}`);
  }
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    out[k] = Array.isArray(v) ? v.map(String) : Object.keys(v as object);
  }
  return out;
}

export function object<T>(body: unknown, what: string): T {
  if (body === undefined || body === null) return {} as T;
  if (typeof body !== 'object' || Array.isArray(body))
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `${what}: the body must be a JSON object`);
  return body as T;
}
