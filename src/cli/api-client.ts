/**
 * HTTP/JSON client of the daemon API (Docker Engine API v1.41 paths and shapes) over a
 * unix socket (or plain TCP), with node:http only. Four ways to call:
 *   - json():    request → whole JSON answer;
 *   - send():    request → the response as soon as its headers arrive (streams: logs,
 *                wait, image import's progress);
 *   - upload():  like send() with a raw request body streamed from a Readable;
 *   - hijack():  `Connection: Upgrade` / `Upgrade: tcp`; on `101 UPGRADED` the socket
 *                becomes the raw stdio stream of attach / exec start.
 * Every status >= 400 becomes an ApiError carrying the body's `message` and `code`.
 */
import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { ApiError, CliError, DaemonUnreachableError, UsageError } from './errors.js';

export const DEFAULT_HOST = 'unix:///run/tsnet/tsnet.sock';

export interface DaemonAddress {
  socketPath?: string;
  hostname?: string;
  port?: number;
  /** How to name the daemon in messages: the socket path, or tcp://host:port. */
  display: string;
}

/** `unix:///path`, `unix://path`, `/path`, `tcp://host:port`, `http://host:port`. */
export function parseHost(raw: string): DaemonAddress {
  if (raw.startsWith('unix://')) {
    const socketPath = raw.slice('unix://'.length);
    if (socketPath === '') throw new UsageError(`invalid host ${JSON.stringify(raw)}: no socket path`);
    return { socketPath, display: socketPath };
  }
  if (raw.startsWith('/')) return { socketPath: raw, display: raw };
  const m = /^(?:tcp|http):\/\/(\[[0-9a-fA-F:.]+\]|[^:/[\]]+)(?::(\d{1,5}))?\/?$/.exec(raw);
  if (m) {
    const hostname = m[1]!.replace(/^\[|\]$/g, '');
    const port = m[2] === undefined ? 2375 : Number(m[2]);
    return { hostname, port, display: `tcp://${m[1]}:${port}` };
  }
  throw new UsageError(`invalid host ${JSON.stringify(raw)}: use unix:///path/to/socket or tcp://host:port`);
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export interface RequestOptions {
  query?: Query;
  /** JSON request body. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface UploadOptions extends RequestOptions {
  contentType: string;
  /** Sent as Content-Length when known; otherwise the body is chunked. */
  contentLength?: number;
}

export interface HijackedStream {
  /** The raw stream: duplex when the daemon upgraded the connection. */
  stream: Duplex | Readable;
  /** False when the daemon answered 2xx without upgrading: output only, no stdin. */
  upgraded: boolean;
}

const UNREACHABLE = new Set([
  'ENOENT',
  'ECONNREFUSED',
  'ENOTSOCK',
  'ENOTDIR',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * A name as a path segment, the way the docker client sends it: `/` and `:` stay as they
 * are (image references like `library/alpine:3`), only what would break the URL is escaped.
 */
export function seg(name: string): string {
  return encodeURI(name).replace(/[?#]/g, (c) => encodeURIComponent(c));
}

export function buildPath(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null) continue;
    params.set(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
  }
  const qs = params.toString();
  return qs === '' ? path : `${path}?${qs}`;
}

/** Read a whole response body. */
export function readBody(res: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
    res.on('aborted', () => reject(new CliError('the daemon closed the connection before the answer was complete')));
  });
}

/** Parse a JSON body; an empty body is `undefined`. */
export function parseJson<T>(buf: Buffer, what: string): T {
  const text = buf.toString('utf8').trim();
  if (text === '') return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new CliError(`the daemon sent invalid JSON for ${what}: ${text.slice(0, 200)}`);
  }
}

/** Turn an error response into an ApiError: `{"message", "code"}`, or the body's text. */
export function errorFromResponse(status: number, statusMessage: string | undefined, body: Buffer): ApiError {
  const text = body.toString('utf8').trim();
  let message = '';
  let code: string | undefined;
  if (text.startsWith('{')) {
    try {
      const parsed = JSON.parse(text) as { message?: unknown; code?: unknown };
      if (typeof parsed.message === 'string') message = parsed.message;
      if (typeof parsed.code === 'string') code = parsed.code;
    } catch {
      // not JSON after all: fall back to the text
    }
  }
  if (message === '') message = text.split('\n')[0] ?? '';
  if (message === '') message = `the daemon answered ${status}${statusMessage ? ` ${statusMessage}` : ''}`;
  return new ApiError(status, message, code);
}

export class ApiClient {
  readonly address: DaemonAddress;
  private readonly userAgent: string;

  constructor(address: DaemonAddress, userAgent = 'tsnet-cli') {
    this.address = address;
    this.userAgent = userAgent;
  }

  private options(method: string, path: string, opts: RequestOptions, extra: Record<string, string>): http.RequestOptions {
    const headers: Record<string, string> = { 'User-Agent': this.userAgent, ...extra, ...opts.headers };
    const base: http.RequestOptions = { method, path: buildPath(path, opts.query), headers };
    if (this.address.socketPath !== undefined) return { ...base, socketPath: this.address.socketPath };
    return { ...base, host: this.address.hostname, port: this.address.port };
  }

  /** Map a connection-level failure to one clear error. */
  connectionError(err: NodeJS.ErrnoException): CliError {
    const where = this.address.display;
    if (err.code !== undefined && UNREACHABLE.has(err.code)) {
      return new DaemonUnreachableError(`cannot reach tsnetd at ${where}: is it running? (start it with: sudo tsnetd)`);
    }
    if (err.code === 'EACCES' || err.code === 'EPERM') {
      return new DaemonUnreachableError(`permission denied while connecting to tsnetd at ${where} (try again with sudo)`);
    }
    return new CliError(`error talking to tsnetd at ${where}: ${err.message}`);
  }

  /**
   * Send a request; resolve with the response once its headers arrive. Status >= 400
   * rejects with an ApiError (the error body is read first).
   */
  send(method: string, path: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const extra: Record<string, string> = {};
    if (payload) {
      extra['Content-Type'] = 'application/json';
      extra['Content-Length'] = String(payload.length);
    }
    return this.dispatch(this.options(method, path, opts, extra), (req) => req.end(payload));
  }

  /** Send a request whose body is streamed from `source` (image import). */
  upload(method: string, path: string, source: Readable, opts: UploadOptions): Promise<IncomingMessage> {
    const extra: Record<string, string> = { 'Content-Type': opts.contentType };
    if (opts.contentLength !== undefined) extra['Content-Length'] = String(opts.contentLength);
    return this.dispatch(this.options(method, path, opts, extra), (req, fail) => {
      source.on('error', (err) => {
        fail(new CliError(`reading the request body: ${err.message}`));
        req.destroy();
      });
      source.pipe(req);
    });
  }

  private dispatch(
    options: http.RequestOptions,
    write: (req: http.ClientRequest, fail: (err: Error) => void) => void,
  ): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = http.request(options);
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        reject(err);
      };
      req.on('response', (res) => {
        if (settled) {
          res.resume();
          return;
        }
        settled = true;
        const status = res.statusCode ?? 0;
        if (status >= 400) {
          readBody(res).then(
            (body) => reject(errorFromResponse(status, res.statusMessage, body)),
            (err: unknown) => reject(err),
          );
          return;
        }
        resolve(res);
      });
      req.on('error', (err: NodeJS.ErrnoException) => fail(this.connectionError(err)));
      write(req, fail);
    });
  }

  /** Request → parsed JSON answer (undefined when the body is empty, e.g. 204/304). */
  async json<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, path, opts);
    const body = await readBody(res);
    return parseJson<T>(body, `${method} ${path}`);
  }

  /** Request and discard the answer; resolves with the status code. */
  async call(method: string, path: string, opts: RequestOptions = {}): Promise<number> {
    const res = await this.send(method, path, opts);
    await readBody(res);
    return res.statusCode ?? 0;
  }

  /**
   * Upgrade the connection (attach, exec start). Docker answers `101 UPGRADED` and then
   * the socket carries the raw stream in both directions.
   */
  hijack(method: string, path: string, opts: RequestOptions = {}): Promise<HijackedStream> {
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const extra: Record<string, string> = { Connection: 'Upgrade', Upgrade: 'tcp' };
    if (payload) {
      extra['Content-Type'] = 'application/json';
      extra['Content-Length'] = String(payload.length);
    }
    const options = { ...this.options(method, path, opts, extra), agent: false };
    return new Promise((resolve, reject) => {
      const req = http.request(options);
      let answered = false;
      req.on('upgrade', (_res: IncomingMessage, socket: Duplex, head: Buffer) => {
        answered = true;
        if (head.length > 0) socket.unshift(head);
        resolve({ stream: socket, upgraded: true });
      });
      req.on('response', (res) => {
        answered = true;
        const status = res.statusCode ?? 0;
        if (status >= 400) {
          readBody(res).then(
            (body) => reject(errorFromResponse(status, res.statusMessage, body)),
            (err: unknown) => reject(err),
          );
          return;
        }
        resolve({ stream: res, upgraded: false });
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (!answered) reject(this.connectionError(err));
      });
      req.end(payload);
    });
  }
}
