/**
 * Registry credentials on the client, stored the way the docker CLI stores them: a
 * `config.json` with `{"auths": {"<server>": {"auth": base64("user:password")}}}` in
 * `$TSNET_CONFIG` or `~/.tsnet` (directory 0700, file 0600). Docker Hub's key is
 * `https://index.docker.io/v1/`, as docker writes it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CliError } from './errors.js';

export const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

interface ConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string }>;
  [key: string]: unknown;
}

export function configPath(env: NodeJS.ProcessEnv): string {
  const dir = env.TSNET_CONFIG || path.join(env.HOME || os.homedir(), '.tsnet');
  return path.join(dir, 'config.json');
}

/** The registry part of an image reference (`docker.io` when it names none). */
export function registryOf(reference: string): string {
  const slash = reference.indexOf('/');
  if (slash === -1) return 'docker.io';
  const first = reference.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : 'docker.io';
}

/** The config.json key of a registry or server address. */
export function serverKey(server: string): string {
  const host = server.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
  if (host === 'docker.io' || host === 'index.docker.io' || host === 'registry-1.docker.io') return DOCKER_HUB_KEY;
  return host;
}

function read(file: string): ConfigFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    const doc = JSON.parse(text) as unknown;
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('not a JSON object');
    return doc as ConfigFile;
  } catch (err) {
    throw new CliError(`${file} is not valid JSON (${(err as Error).message}): fix or remove it`);
  }
}

function write(file: string, doc: ConfigFile): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(doc, null, '\t')}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

export interface StoredCredentials {
  username?: string;
  password?: string;
  identitytoken?: string;
  serveraddress: string;
}

/** The stored credentials for a registry, if any. */
export function loadCredentials(env: NodeJS.ProcessEnv, registry: string): StoredCredentials | undefined {
  const key = serverKey(registry);
  const entry = read(configPath(env)).auths?.[key];
  if (!entry) return undefined;
  const out: StoredCredentials = { serveraddress: key };
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = plain.indexOf(':');
    if (colon > 0) {
      out.username = plain.slice(0, colon);
      out.password = plain.slice(colon + 1);
    }
  }
  if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') out.identitytoken = entry.identitytoken;
  return out.username !== undefined || out.identitytoken !== undefined ? out : undefined;
}

export function saveCredentials(env: NodeJS.ProcessEnv, server: string, username: string, password: string): string {
  const file = configPath(env);
  const doc = read(file);
  doc.auths = { ...doc.auths, [serverKey(server)]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } };
  write(file, doc);
  return file;
}

/** Remove a registry's entry; false when there was none. */
export function removeCredentials(env: NodeJS.ProcessEnv, server: string): boolean {
  const file = configPath(env);
  const doc = read(file);
  const key = serverKey(server);
  if (!doc.auths?.[key]) return false;
  const { [key]: _removed, ...rest } = doc.auths;
  doc.auths = rest;
  write(file, doc);
  return true;
}

/** The X-Registry-Auth header value (base64url JSON), as the docker CLI sends it. */
export function registryAuthHeader(creds: StoredCredentials | undefined): string {
  return Buffer.from(JSON.stringify(creds ?? {})).toString('base64url');
}

/** `detachKeys` of the config file (as docker's `~/.docker/config.json`), when it has one. */
export function configDetachKeys(env: NodeJS.ProcessEnv): string | undefined {
  try {
    const v = read(configPath(env)).detachKeys;
    return typeof v === 'string' && v !== '' ? v : undefined;
  } catch {
    return undefined;
  }
}
