/**
 * Request schemas: every route declares one schema for its path params, query and body
 * (TypeBox, compiled once when the route is added). The server checks a request against it
 * before the handler runs; the first violation becomes one 400 line naming the field.
 */
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { ValueError } from '@sinclair/typebox/errors';
import { TsnetError } from '../../errors/index.js';

export interface RouteSchema {
  /** Path params (`{id}`, `{name*}`); default: every param is a `Ref`. */
  params?: TSchema;
  /** Query parameters, first value of each key (as Go's `Form.Get`); default: any string values. */
  query?: TSchema;
  /** The JSON body; default: ignored (the handler never reads it). */
  body?: TSchema;
}

export interface CompiledSchema {
  params?: TypeCheck<TSchema>;
  query?: TypeCheck<TSchema>;
  body?: TypeCheck<TSchema>;
  /** foldKeys for the body's schema, its per-schema lookups kept between requests. */
  foldBody?: (value: unknown) => unknown;
}

export function compileSchema(s: RouteSchema): CompiledSchema {
  const body = s.body;
  const lookups = new WeakMap<TSchema, Map<string, string>>();
  return {
    ...(s.params ? { params: TypeCompiler.Compile(s.params) } : {}),
    ...(s.query ? { query: TypeCompiler.Compile(s.query) } : {}),
    ...(body ? { body: TypeCompiler.Compile(body), foldBody: (value: unknown) => foldKeys(body, value, lookups) } : {}),
  };
}

/** Throws TSNET_INVALID_ARGUMENT with one line when `value` does not match. */
export function check(compiled: TypeCheck<TSchema> | undefined, value: unknown, where: 'path' | 'query' | 'body'): void {
  if (!compiled || compiled.Check(value)) return;
  const top = compiled.Errors(value).First();
  if (!top) throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid request ${where}`);
  const first = innermost(top);
  const field = fieldName(first.path, where);
  throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid ${field}: ${explain(first)}${shown(first.value)}`);
}

/** The innermost schema that failed may carry a hint ("an IP address"); else TypeBox's text. */
function explain(e: ValueError): string {
  if (e.message === 'Expected required property') return 'this field is required';
  if (e.message === 'Unexpected property')
    return typeof e.schema.keyHint === 'string' ? `keys must be ${e.schema.keyHint}` : 'unexpected key';
  if (typeof e.schema.hint === 'string') return `must be ${e.schema.hint}`;
  return lower(e.message);
}

/**
 * A union (`X | null`, `string | string[]`) fails as a whole; the useful line is the branch
 * that got furthest into the value, not "expected null".
 */
function innermost(e: ValueError): ValueError {
  if (e.errors.length === 0) return e;
  const branches = e.errors.map((it) => it.First()).filter((b): b is ValueError => b !== undefined && b.schema.type !== 'null');
  if (branches.length === 0) return e;
  branches.sort((a, b) => b.path.length - a.path.length);
  return innermost(branches[0]!);
}

/** `/HostConfig/Dns/0` → `HostConfig.Dns[0]`; the root is "request body" / "query" / "path". */
function fieldName(pointer: string, where: string): string {
  if (pointer === '') return where === 'body' ? 'request body' : where === 'query' ? 'query' : 'path';
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let out = where === 'query' ? 'query parameter ' : where === 'path' ? 'path parameter ' : '';
  for (const [i, p] of parts.entries()) {
    if (/^\d+$/.test(p)) out += `[${p}]`;
    else if (/^[A-Za-z_][\w]*$/.test(p)) out += i === 0 ? p : `.${p}`;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out;
}

function lower(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/** The offending value, short and on one line (JSON escapes control characters). */
function shown(v: unknown): string {
  if (v === undefined) return '';
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    return '';
  }
  if (text.length > 80) text = `${text.slice(0, 77)}...`;
  return ` (got ${text})`;
}

/**
 * Go's JSON decoder matches a struct field's name case-insensitively when no key matches it
 * exactly (the Python SDK sends `detachKeys` in an exec create body, and Docker takes it as
 * DetachKeys). Object keys that name a schema property in another case are renamed to it, at
 * every depth the schema describes, before the body is checked — so the checks see them. Map keys
 * (labels, options, network names) are left as they are, as Go does. Returns the same value,
 * changed in place.
 */
export function foldKeys(
  schema: TSchema,
  value: unknown,
  /** Each object schema's properties by lower-case name (kept by the caller between calls). */
  lookups = new WeakMap<TSchema, Map<string, string>>(),
): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const items = branch(schema, 'array')?.items as TSchema | undefined;
    if (items) for (const v of value) foldKeys(items, v, lookups);
    return value;
  }
  const s = branch(schema, 'object');
  if (!s) return value;
  const obj = value as Record<string, unknown>;
  const props = s.properties as Record<string, TSchema> | undefined;
  if (props) {
    let byLower = lookups.get(s);
    for (const k of Object.keys(obj)) {
      if (Object.hasOwn(props, k)) continue;
      if (!byLower) {
        byLower = new Map(Object.keys(props).map((p) => [p.toLowerCase(), p]));
        lookups.set(s, byLower);
      }
      const p = byLower.get(k.toLowerCase());
      if (p === undefined || Object.hasOwn(obj, p)) continue;
      obj[p] = obj[k];
      delete obj[k];
    }
    // the value's keys, not the schema's (a create body has a few of HostConfig's ~80 fields)
    for (const k of Object.keys(obj)) {
      const ps = Object.hasOwn(props, k) ? props[k] : undefined;
      if (ps) foldKeys(ps, obj[k], lookups);
    }
  }
  const pattern = s.patternProperties as Record<string, TSchema> | undefined;
  const mapValues = pattern ? Object.values(pattern)[0] : undefined;
  if (mapValues) for (const v of Object.values(obj)) foldKeys(mapValues, v, lookups);
  return value;
}

/** The schema itself, or the branch of a union, that describes a value of this JSON type. */
function branch(schema: TSchema, type: 'object' | 'array'): TSchema | undefined {
  if (schema.type === type) return schema;
  const anyOf = schema.anyOf as TSchema[] | undefined;
  return anyOf?.find((b) => b.type === type);
}
