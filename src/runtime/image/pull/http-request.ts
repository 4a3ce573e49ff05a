/**
 * One HTTP(S) request to a registry with node:http, following redirects (blob downloads
 * are often redirected to object storage). The Authorization header is dropped when a
 * redirect leaves the host it was meant for, as Docker does.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { TsnetError } from '../../../errors/index.js';

export interface HttpOptions {
  method?: 'GET' | 'HEAD' | 'POST';
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Skip TLS certificate checks (insecure registries). */
  insecureTls?: boolean;
  signal?: AbortSignal;
  /** Socket inactivity limit. */
  idleMs?: number;
}

const MAX_REDIRECTS = 10;
const DEFAULT_IDLE_MS = 60_000;

function once(url: URL, opts: HttpOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, {
      method: opts.method ?? 'GET',
      headers: opts.headers ?? {},
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(url.protocol === 'https:' ? { rejectUnauthorized: opts.insecureTls !== true } : {}),
    });
    const idle = opts.idleMs ?? DEFAULT_IDLE_MS;
    req.setTimeout(idle, () => req.destroy(Object.assign(new Error(`no answer for ${idle / 1000} s`), { code: 'ETIMEDOUT' })));
    req.once('error', reject);
    req.once('response', (res) => {
      // The idle limit keeps applying while the body streams.
      res.socket?.setTimeout(idle);
      resolve(res);
    });
    req.end(opts.body);
  });
}

/** Drain and forget a response body. */
export function discard(res: IncomingMessage): void {
  res.resume();
  res.once('error', () => undefined);
}

/** Read a whole body, refusing more than `max` bytes. */
export async function readLimited(res: IncomingMessage, max: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    res.destroy();
    throw new TsnetError('TSNET_REGISTRY_ERROR', `${what} is too large (${declared} bytes, at most ${max})`);
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) {
      res.destroy();
      throw new TsnetError('TSNET_REGISTRY_ERROR', `${what} is too large (more than ${max} bytes)`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** Send a request; follow redirects; resolve with the final response (any status). */
export async function httpRequest(url: URL, opts: HttpOptions = {}): Promise<IncomingMessage> {
  let current = url;
  let headers = { ...opts.headers };
  for (let i = 0; i <= MAX_REDIRECTS; i++) {
    const res = await once(current, { ...opts, headers });
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (![301, 302, 303, 307, 308].includes(status) || location === undefined) return res;
    discard(res);
    const next = new URL(location, current);
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw new TsnetError('TSNET_REGISTRY_ERROR', `the registry redirected to an unsupported URL scheme ${next.protocol}`);
    }
    if (next.host !== url.host) {
      const { Authorization: _dropped, authorization: _dropped2, ...rest } = headers;
      headers = rest;
    }
    current = next;
  }
  throw new TsnetError('TSNET_REGISTRY_ERROR', `too many redirects from ${url.host}`);
}
