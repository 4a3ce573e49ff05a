/**
 * Registry credentials and challenges: the `X-Registry-Auth` header Docker clients send
 * (base64url JSON), and `WWW-Authenticate` challenges (`Basic realm=…`, `Bearer
 * realm=…,service=…,scope=…`). Pure, no I/O.
 */
import { TsnetError } from '../../../errors/index.js';

export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** A refresh token from an earlier login (OAuth2 `refresh_token` grant). */
  identityToken?: string;
  /** A bearer token to send as is. */
  registryToken?: string;
  serverAddress?: string;
}

const MAX_HEADER = 64 * 1024;

/**
 * Decode an `X-Registry-Auth` header. An absent or empty header (or `{}`) means anonymous.
 * Docker sends base64url with or without padding; plain base64 is accepted too.
 */
export function decodeRegistryAuth(header: string | undefined): RegistryCredentials {
  if (header === undefined || header.trim() === '') return {};
  if (header.length > MAX_HEADER) throw new TsnetError('TSNET_INVALID_ARGUMENT', 'the X-Registry-Auth header is too long');
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(header.trim(), 'base64').toString('utf8'));
  } catch {
    throw new TsnetError('TSNET_INVALID_ARGUMENT', 'the X-Registry-Auth header is not base64-encoded JSON');
  }
  return credentialsFrom(doc);
}

/** Credentials from a JSON object as Docker spells them (`username`, `password`, `identitytoken`, …). */
export function credentialsFrom(doc: unknown): RegistryCredentials {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new TsnetError('TSNET_INVALID_ARGUMENT', 'registry credentials must be a JSON object');
  }
  const o = doc as Record<string, unknown>;
  const pick = (...keys: string[]): string | undefined => {
    for (const k of keys) {
      const v = o[k];
      if (typeof v === 'string' && v !== '') return v;
    }
    return undefined;
  };
  const out: RegistryCredentials = {};
  const username = pick('username', 'Username');
  const password = pick('password', 'Password');
  const identityToken = pick('identitytoken', 'IdentityToken');
  const registryToken = pick('registrytoken', 'RegistryToken');
  const serverAddress = pick('serveraddress', 'ServerAddress');
  // `auth` is base64(user:password), as in a config.json entry.
  const auth = pick('auth', 'Auth');
  if (auth !== undefined && username === undefined) {
    const plain = Buffer.from(auth, 'base64').toString('utf8');
    const colon = plain.indexOf(':');
    if (colon > 0) {
      out.username = plain.slice(0, colon);
      out.password = plain.slice(colon + 1);
    }
  }
  if (username !== undefined) out.username = username;
  if (password !== undefined) out.password = password;
  if (identityToken !== undefined) out.identityToken = identityToken;
  if (registryToken !== undefined) out.registryToken = registryToken;
  if (serverAddress !== undefined) out.serverAddress = serverAddress;
  return out;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parse `WWW-Authenticate` values: `Scheme k="v", k2=v2, …` (several challenges possible). */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  const values = header === undefined ? [] : Array.isArray(header) ? header : [header];
  const out: Challenge[] = [];
  for (const value of values) {
    const re = /\s*([A-Za-z][A-Za-z0-9_-]*)(?:\s+|$)|\s*([A-Za-z0-9_.-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^,\s]*)\s*,?/gy;
    let current: Challenge | undefined;
    let last = 0;
    while (last < value.length) {
      const m = re.exec(value);
      if (m === null || m.index !== last || m[0] === '') break;
      last = re.lastIndex;
      if (m[1] !== undefined) {
        current = { scheme: m[1].toLowerCase(), params: {} };
        out.push(current);
      } else if (current && m[2] !== undefined) {
        current.params[m[2].toLowerCase()] = m[4] !== undefined ? m[4].replace(/\\(.)/g, '$1') : (m[3] ?? '');
      }
    }
  }
  return out;
}
