/**
 * A client of one repository on an OCI distribution (v2) registry: ping `/v2/` (picking
 * https, or http for insecure registries), authenticate (anonymous, Basic, or Bearer tokens
 * from the challenge's realm with scope `repository:NAME:pull`), fetch manifests and blobs.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { TsnetError } from '../../../errors/index.js';
import { parseChallenges, type Challenge, type RegistryCredentials } from './auth.js';
import { discard, httpRequest, readLimited, type HttpOptions } from './http-request.js';
import { MANIFEST_ACCEPT } from './manifest.js';

export interface RegistryClientOptions {
  /** host[:port] to talk to. */
  host: string;
  /** The registry as the user named it, for messages and `tsnet login` hints. */
  registry: string;
  /** Repository path, e.g. `library/busybox`; undefined for a login check. */
  repository?: string;
  credentials: RegistryCredentials;
  /** Whether plain http (and unchecked TLS) may be used for this host. */
  insecure: boolean;
  signal?: AbortSignal;
  userAgent: string;
}

const MAX_MANIFEST = 4 * 1024 * 1024;
const MAX_TOKEN = 1024 * 1024;

/** Connection-level failures: the next scheme may be tried for an insecure registry. */
function isConnectionError(err: unknown): boolean {
  return !(err instanceof TsnetError) && (err as Error | null)?.name !== 'AbortError';
}

export function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The first message of a registry's JSON error body (`{"errors":[{"code","message"}]}`). */
async function registryMessage(res: IncomingMessage): Promise<string> {
  const body = await readLimited(res, 64 * 1024, 'error body').catch(() => Buffer.alloc(0));
  try {
    const doc = JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: string; message?: string }> };
    const e = doc.errors?.[0];
    if (e) {
      const code = e.code?.toLowerCase().replace(/_/g, ' ');
      return code !== undefined && code !== e.message && e.message ? `${code}: ${e.message}` : (e.message ?? code ?? '');
    }
  } catch {}
  const text = body.toString('utf8').trim().split('\n')[0] ?? '';
  return text.slice(0, 200) || `HTTP ${res.statusCode}`;
}

export class RegistryClient {
  private base: URL | undefined;
  private challenge: Challenge | undefined;
  private authorization: string | undefined;

  constructor(private readonly opts: RegistryClientOptions) {}

  private get loginHint(): string {
    return `tsnet login ${this.opts.registry === 'docker.io' ? '' : this.opts.registry}`.trim();
  }

  private httpOptions(extra: HttpOptions = {}): HttpOptions {
    return {
      ...extra,
      headers: {
        'User-Agent': this.opts.userAgent,
        ...(this.authorization ? { Authorization: this.authorization } : {}),
        ...extra.headers,
      },
      insecureTls: this.opts.insecure,
      ...(this.opts.signal ? { signal: this.opts.signal } : {}),
    };
  }

  private unreachable(err: unknown, scheme: string): TsnetError {
    if (err instanceof TsnetError) return err;
    if ((err as Error | null)?.name === 'AbortError')
      return new TsnetError('TSNET_REGISTRY_UNAVAILABLE', 'the pull was cancelled');
    const e = err as NodeJS.ErrnoException;
    // A TLS failure (a plain-http server answering, a bad certificate) gets the hint; a name
    // that does not resolve or a refused connection does not.
    const tls =
      e.code === 'EPROTO' || (e.code ?? '').startsWith('ERR_SSL') || /SSL|TLS|certificate|wrong version/i.test(e.message ?? '');
    const hint =
      scheme === 'https' && !this.opts.insecure && tls
        ? ` (if it serves plain http, start tsnetd with --insecure-registry ${this.opts.host})`
        : '';
    return new TsnetError(
      'TSNET_REGISTRY_UNAVAILABLE',
      `cannot reach registry ${this.opts.host} over ${scheme}: ${e.message || e.code || String(err)}${hint}`,
      { cause: err },
    );
  }

  /** GET /v2/: choose the scheme and learn the auth challenge. */
  async ping(): Promise<void> {
    if (this.base) return;
    const schemes = this.opts.insecure ? ['https', 'http'] : ['https'];
    let lastError: unknown;
    for (const scheme of schemes) {
      const base = new URL(`${scheme}://${this.opts.host}/v2/`);
      let res: IncomingMessage;
      try {
        res = await httpRequest(base, this.httpOptions({ idleMs: 30_000 }));
      } catch (err) {
        lastError = err;
        if (isConnectionError(err)) continue;
        throw this.unreachable(err, scheme);
      }
      const status = res.statusCode ?? 0;
      if (status === 401) {
        this.challenge = parseChallenges(res.headers['www-authenticate']).find(
          (c) => c.scheme === 'bearer' || c.scheme === 'basic',
        );
        discard(res);
      } else if (status >= 200 && status < 300) {
        discard(res);
      } else {
        const why = await registryMessage(res);
        throw new TsnetError(
          'TSNET_REGISTRY_ERROR',
          `${this.opts.host} is not a v2 registry: GET /v2/ answered ${status} (${why})`,
        );
      }
      this.base = base;
      return;
    }
    throw this.unreachable(lastError, schemes[schemes.length - 1]!);
  }

  /** Get the Authorization header for the pull scope (or for a login check without one). */
  async authorize(): Promise<void> {
    await this.ping();
    const c = this.challenge;
    const creds = this.opts.credentials;
    if (!c) return;
    if (c.scheme === 'basic') {
      if (creds.username === undefined) return;
      this.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password ?? ''}`).toString('base64')}`;
      return;
    }
    if (creds.registryToken !== undefined) {
      this.authorization = `Bearer ${creds.registryToken}`;
      return;
    }
    this.authorization = `Bearer ${await this.fetchToken(c)}`;
  }

  private async fetchToken(c: Challenge): Promise<string> {
    const realm = c.params.realm;
    if (!realm) throw new TsnetError('TSNET_REGISTRY_ERROR', `${this.opts.host} asked for a bearer token but named no realm`);
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new TsnetError('TSNET_REGISTRY_ERROR', `${this.opts.host} named an invalid token realm ${JSON.stringify(realm)}`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new TsnetError('TSNET_REGISTRY_ERROR', `${this.opts.host} named a token realm that is not http(s): ${realm}`);
    }
    const creds = this.opts.credentials;
    const scope = this.opts.repository !== undefined ? `repository:${this.opts.repository}:pull` : undefined;
    const service = c.params.service;
    let res: IncomingMessage;
    const plainOk = { insecureTls: this.opts.insecure, ...(this.opts.signal ? { signal: this.opts.signal } : {}) };
    try {
      if (creds.identityToken !== undefined) {
        const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'tsnet' });
        if (service) form.set('service', service);
        if (scope) form.set('scope', scope);
        res = await httpRequest(url, {
          ...plainOk,
          method: 'POST',
          headers: { 'User-Agent': this.opts.userAgent, 'Content-Type': 'application/x-www-form-urlencoded' },
          body: form.toString(),
        });
      } else {
        if (service) url.searchParams.set('service', service);
        if (scope) url.searchParams.set('scope', scope);
        const headers: Record<string, string> = { 'User-Agent': this.opts.userAgent };
        if (creds.username !== undefined) {
          url.searchParams.set('account', creds.username);
          headers.Authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password ?? ''}`).toString('base64')}`;
        }
        res = await httpRequest(url, { ...plainOk, headers });
      }
    } catch (err) {
      if (err instanceof TsnetError) throw err;
      throw new TsnetError(
        'TSNET_REGISTRY_UNAVAILABLE',
        `cannot reach the token server ${url.host} of ${this.opts.host}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const status = res.statusCode ?? 0;
    if (status === 401 || status === 403) {
      const why = await registryMessage(res);
      throw new TsnetError(
        'TSNET_REGISTRY_UNAUTHORIZED',
        creds.username !== undefined || creds.identityToken !== undefined
          ? `the token server of ${this.opts.host} refused the credentials (${why}): log in again with ${this.loginHint}`
          : `the token server of ${this.opts.host} refused an anonymous token (${why}): log in with ${this.loginHint}`,
      );
    }
    if (status < 200 || status >= 300) {
      throw new TsnetError(
        'TSNET_REGISTRY_ERROR',
        `the token server of ${this.opts.host} answered ${status}: ${await registryMessage(res)}`,
      );
    }
    const body = await readLimited(res, MAX_TOKEN, 'token answer');
    let doc: { token?: unknown; access_token?: unknown };
    try {
      doc = JSON.parse(body.toString('utf8')) as typeof doc;
    } catch {
      throw new TsnetError('TSNET_REGISTRY_ERROR', `the token server of ${this.opts.host} sent no JSON`);
    }
    const token = typeof doc.token === 'string' && doc.token !== '' ? doc.token : doc.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new TsnetError('TSNET_REGISTRY_ERROR', `the token server of ${this.opts.host} sent no token`);
    }
    return token;
  }

  /** GET /v2/ with the credentials: a login check. */
  async checkLogin(): Promise<void> {
    await this.ping();
    let res: IncomingMessage;
    try {
      res = await httpRequest(this.base!, this.httpOptions({ idleMs: 30_000 }));
    } catch (err) {
      throw this.unreachable(err, this.base!.protocol.replace(':', ''));
    }
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) {
      discard(res);
      return;
    }
    const why = await registryMessage(res);
    if (status === 401 || status === 403) {
      throw new TsnetError('TSNET_REGISTRY_UNAUTHORIZED', `login to ${this.opts.host} failed: ${why}`);
    }
    throw new TsnetError('TSNET_REGISTRY_ERROR', `login to ${this.opts.host}: GET /v2/ answered ${status} (${why})`);
  }

  /** After the ping: whether the registry asks for credentials at all. */
  get requiresAuth(): boolean {
    return this.challenge !== undefined;
  }

  /** GET a path under /v2/<repository>/; errors become one clear line. */
  private async get(path: string, headers: Record<string, string>, what: (name: string) => string): Promise<IncomingMessage> {
    await this.ping();
    if (this.opts.repository === undefined) throw new TsnetError('TSNET_INTERNAL', 'registry client without a repository');
    const url = new URL(`${this.opts.repository}/${path}`, this.base);
    let res: IncomingMessage;
    for (let attempt = 0; ; attempt++) {
      try {
        res = await httpRequest(url, this.httpOptions({ headers }));
      } catch (err) {
        throw this.unreachable(err, this.base!.protocol.replace(':', ''));
      }
      // A bearer token may expire during a long pull: get a new one once.
      if (res.statusCode !== 401 || attempt > 0 || this.challenge?.scheme !== 'bearer' || this.opts.credentials.registryToken)
        break;
      discard(res);
      this.authorization = `Bearer ${await this.fetchToken(this.challenge)}`;
    }
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return res;
    const why = await registryMessage(res);
    const name =
      this.opts.registry === 'docker.io'
        ? this.opts.repository.replace(/^library\//, '')
        : `${this.opts.registry}/${this.opts.repository}`;
    if (status === 401 || status === 403) {
      throw new TsnetError(
        'TSNET_REGISTRY_UNAUTHORIZED',
        this.opts.credentials.username === undefined && this.opts.credentials.identityToken === undefined
          ? `pull access denied for ${name}: the repository does not exist or needs credentials (${why}); log in with ${this.loginHint}`
          : `pull access denied for ${name}: the registry refused the credentials (${why})`,
      );
    }
    if (status === 404) throw new TsnetError('TSNET_IMAGE_NOT_FOUND', `${what(name)} not found: ${why}`);
    throw new TsnetError('TSNET_REGISTRY_ERROR', `${this.opts.host} answered ${status} for ${what(name)}: ${why}`);
  }

  /** A manifest by tag or digest: its bytes, content type and digest (checked when asked by digest). */
  async manifest(reference: string): Promise<{ bytes: Buffer; contentType: string | undefined; digest: string }> {
    const sep = reference.startsWith('sha256:') ? '@' : ':';
    const what = `manifest for ${reference}`;
    const res = await this.get(
      `manifests/${reference}`,
      { Accept: MANIFEST_ACCEPT.join(', ') },
      (name) => `manifest for ${name}${sep}${reference}`,
    );
    const bytes = await readLimited(res, MAX_MANIFEST, what);
    const digest = sha256(bytes);
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new TsnetError('TSNET_IMAGE_INVALID', `manifest ${reference} from ${this.opts.host} hashes to ${digest}: refused`);
    }
    const contentType = res.headers['content-type'];
    return { bytes, digest, contentType };
  }

  /** A small blob (an image config) read whole and checked against its digest. */
  async blobBytes(digest: string, max: number, what: string): Promise<Buffer> {
    const res = await this.get(`blobs/${digest}`, {}, () => what);
    const bytes = await readLimited(res, max, what);
    const actual = sha256(bytes);
    if (actual !== digest) {
      throw new TsnetError('TSNET_IMAGE_INVALID', `${what} from ${this.opts.host} hashes to ${actual}, not ${digest}: refused`);
    }
    return bytes;
  }

  /** A blob as a stream (layers); the caller checks the digest. */
  blobStream(digest: string, what: string): Promise<IncomingMessage> {
    return this.get(`blobs/${digest}`, {}, () => what);
  }
}
