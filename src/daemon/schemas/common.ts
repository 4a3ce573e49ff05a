/**
 * Building blocks of the API's request schemas (TypeBox). Limits are here, in one place: what
 * reaches a file (/etc/hosts, resolv.conf, hostname, the NUL-separated spec) never holds a
 * control character, and names, labels and lists have a length limit.
 */
import { FormatRegistry, type TSchema, Type, type StringOptions } from '@sinclair/typebox';
import { tryParseIp } from '../../lib/cidr.js';

/** Longest name of a container or network, and longest key of a label or option. */
export const MAX_NAME = 255;
export const MAX_KEY = 1024;
/** Longest value of a label, option, env entry or command argument. */
export const MAX_VALUE = 64 * 1024;
/** Most items in one list (Env, Cmd, Binds, Dns, …) or entries in one map (Labels, Options, …). */
export const MAX_ITEMS = 4096;

// Formats are TypeBox's registry: set once, the same values every time (idempotent).
FormatRegistry.Set('ip', (v) => tryParseIp(v) !== undefined);
FormatRegistry.Set('ipv4', (v) => tryParseIp(v)?.family === 4);
FormatRegistry.Set('ip-or-empty', (v) => v === '' || tryParseIp(v) !== undefined);
FormatRegistry.Set('docker-filters', validFilters);
FormatRegistry.Set('extra-host', validExtraHost);

const NO_CONTROL = '^[^\\x00-\\x1f\\x7f]*$';
const NO_NUL = '^[^\\x00]*$';

/** A string with no control characters (tab, newline, NUL, …). */
export function Text(opts: StringOptions & { hint?: string } = {}) {
  return Type.String({ maxLength: MAX_VALUE, pattern: NO_CONTROL, hint: 'text without control characters', ...opts });
}

/** A string with no NUL (multi-line values are fine: env values, command arguments). */
export function NoNul(opts: StringOptions & { hint?: string } = {}) {
  return Type.String({ maxLength: MAX_VALUE, pattern: NO_NUL, hint: 'a string without NUL characters', ...opts });
}

/** A token: no whitespace, no control characters (hostnames, aliases, DNS search domains, …). */
export function Token(hint: string, maxLength = MAX_NAME) {
  return Type.String({ minLength: 1, maxLength, pattern: '^[^\\s\\x00-\\x1f\\x7f]+$', hint });
}

export const Ip = Type.String({ format: 'ip', maxLength: 64, hint: 'an IP address' });
export const IpOrEmpty = Type.String({ format: 'ip-or-empty', maxLength: 64, hint: 'an IP address or empty' });
export const Cidr = Type.String({
  maxLength: 64,
  pattern: '^[0-9a-fA-F.:]+/[0-9]{1,3}$',
  hint: 'a CIDR (address/prefix)',
});

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
export const Opt = <T extends TSchema>(t: T) => Type.Optional(Nullable(t));

/** A list of `item`, or null. */
export const List = <T extends TSchema>(item: T, maxItems = MAX_ITEMS) => Opt(Type.Array(item, { maxItems }));

/** A string-to-string map (labels, driver options), or null. */
export function StringMap(keyHint = 'text without control characters, at most 1024 characters') {
  return Opt(
    Type.Record(Type.String({ pattern: `^[^\\x00-\\x1f\\x7f]{1,${MAX_KEY}}$` }), Text(), {
      additionalProperties: false,
      maxProperties: MAX_ITEMS,
      keyHint,
    }),
  );
}

/** A reference in the path: a name, an id or an id prefix. */
export const Ref = Type.String({ minLength: 1, maxLength: 512, pattern: NO_CONTROL, hint: 'a name or an id' });
export const RefParams = Type.Object({ id: Ref });
export const NameParams = Type.Object({ name: Ref });

/** Query values are strings; these are the shapes Docker parses. */
export const QInt = Type.String({ pattern: '^-?[0-9]{1,15}$', hint: 'an integer' });
export const QUint = Type.String({ pattern: '^[0-9]{1,15}$', hint: 'a non-negative integer' });
export const QBool = Text({ maxLength: 16 });
export const QFilters = Type.String({
  maxLength: MAX_VALUE,
  format: 'docker-filters',
  hint: 'JSON of the form {"name":["value"]}',
});

/** A query object: the given keys checked, other keys allowed (Docker ignores unknown ones). */
export function Query(props: Record<string, TSchema>) {
  const optional: Record<string, TSchema> = {};
  for (const [k, v] of Object.entries(props)) optional[k] = Type.Optional(v);
  return Type.Object(optional, { additionalProperties: Text() });
}

/** Docker's filters: `{"k":["v"]}`, the legacy `{"k":{"v":true}}`, or null (= none). */
function validFilters(raw: string): boolean {
  if (raw === '') return true;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return false;
  }
  if (v === null) return true;
  if (typeof v !== 'object' || Array.isArray(v)) return false;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (k.length > MAX_KEY) return false;
    if (Array.isArray(x)) {
      if (!x.every((s) => typeof s === 'string')) return false;
    } else if (x !== null && typeof x === 'object') {
      if (!Object.values(x as Record<string, unknown>).every((b) => typeof b === 'boolean')) return false;
    } else return false;
  }
  return true;
}

/** `--add-host`: `NAME:IP` split at the first colon (IPv6 after it), or `NAME:host-gateway`. */
function validExtraHost(v: string): boolean {
  const i = v.indexOf(':');
  if (i <= 0) return false;
  const name = v.slice(0, i);
  const ip = v.slice(i + 1).replace(/^\[(.*)\]$/, '$1');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (!/^[^\s\x00-\x1f\x7f]+$/.test(name)) return false;
  return ip === 'host-gateway' || tryParseIp(ip) !== undefined;
}
