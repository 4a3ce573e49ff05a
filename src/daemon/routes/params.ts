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

const MAX_CHANGES = 64;

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/**
 * Every `changes` value of a commit or import (Dockerfile instructions; the query may repeat it
 * and the request schema checks only the first).
 */
export function changesOf(query: URLSearchParams): string[] {
  const all = query.getAll('changes').filter((c) => c !== '');
  if (all.length > MAX_CHANGES) throw new TsnetError('TSNET_INVALID_ARGUMENT', `at most ${MAX_CHANGES} changes in one request`);
  for (const c of all)
    if (c.length > 4096 || hasControl(c))
      throw new TsnetError(
        'TSNET_INVALID_ARGUMENT',
        'a change is one Dockerfile instruction of at most 4096 characters, without control characters',
      );
  return all;
}

/** `repo` and `tag` of the query as one `repo[:tag]` reference; undefined without a repo. */
export function repoTagParam(query: URLSearchParams): string | undefined {
  const repo = query.get('repo') ?? '';
  const tag = query.get('tag') ?? '';
  return repo ? (tag ? `${repo}:${tag}` : repo) : undefined;
}

/** Docker's `label=K` (K is set) or `label=K=V` (K is V) against a label map. */
export function labelMatch(labels: Record<string, string> | null | undefined, want: string): boolean {
  if (!labels) return false;
  const i = want.indexOf('=');
  return i < 0 ? Object.hasOwn(labels, want) : labels[want.slice(0, i)] === want.slice(i + 1);
}
