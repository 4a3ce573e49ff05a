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

/**
 * Docker's `filters` parameter: JSON `{"name": ["x"]}` or the old `{"name": {"x": true}}`;
 * empty or `null` is no filter. Keys outside `accepted` are refused as Docker does.
 */
export function filters(q: URLSearchParams, accepted?: readonly string[]): Record<string, string[]> {
  const raw = q.get('filters');
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new TsnetError('TSNET_INVALID_ARGUMENT', 'invalid filter');
  }
  if (parsed === null) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new TsnetError('TSNET_INVALID_ARGUMENT', 'invalid filter');
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (accepted && !accepted.includes(k)) throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid filter '${k}'`);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) out[k] = v;
    else if (v !== null && typeof v === 'object' && !Array.isArray(v)) out[k] = Object.keys(v);
    else throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid filter '${k}'`);
  }
  return out;
}

export function object<T>(body: unknown, what: string): T {
  if (body === undefined || body === null) return {} as T;
  if (typeof body !== 'object' || Array.isArray(body))
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `${what}: the body must be a JSON object`);
  return body as T;
}
