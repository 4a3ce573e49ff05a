/**
 * HTTP/JSON client of the daemon API (Docker Engine API v1.41 paths and shapes) over a
 * unix socket (or plain TCP), spoken by src/cli/http/ over one keep-alive net.Socket at a time
 * (node:http alone costs ~10 ms of start-up per command). Four ways to call:
 *   - json():    request → whole JSON answer;
 *   - send():    request → the response as soon as its headers arrive (streams: logs,
 *                wait, image import's progress);
 *   - upload():  like send() with a raw request body streamed from a Readable;
 *   - hijack():  `Connection: Upgrade` / `Upgrade: tcp`; on `101 UPGRADED` the socket
 *                becomes the raw stdio stream of attach / exec start.
 * Every status >= 400 becomes an ApiError carrying the body's `message` and `code`.
 */
import type { Duplex, Readable } from 'node:stream';
import { ApiError, CliError, DaemonUnreachableError, UsageError } from './errors.js';
import { type ApiResponse, Connection, type OutgoingRequest, type Outcome } from './http/connection.js';

export type { ApiResponse } from './http/connection.js';

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

/** A list value is sent as the parameter repeated (`changes=a&changes=b`). */
export type Query = Record<string, string | number | boolean | readonly string[] | undefined | null>;

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
    if (Array.isArray(v)) for (const x of v as readonly string[]) params.append(k, x);
    else params.set(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
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

/** Idle keep-alive connections older than this are closed instead of reused (the daemon may drop them). */
const REUSE_WITHIN_MS = 5_000;

export class ApiClient {
  readonly address: DaemonAddress;
  private readonly userAgent: string;
  /** Keep-alive connections waiting for the next request: one is enough for a command's requests. */
  private readonly idle: Connection[] = [];

  constructor(address: DaemonAddress, userAgent = 'tsnet-cli') {
    this.address = address;
    this.userAgent = userAgent;
  }

  private headers(extra: Record<string, string>, opts: RequestOptions): Record<string, string> {
    const host = this.address.socketPath !== undefined ? 'localhost' : `${this.address.hostname}:${this.address.port}`;
    return { Host: host, 'User-Agent': this.userAgent, ...extra, ...opts.headers };
  }

  /** An idle keep-alive connection, or a new one. */
  private connection(): Connection {
    while (this.idle.length > 0) {
      const c = this.idle.pop()!;
      if (c.usable && Date.now() - c.idleSince < REUSE_WITHIN_MS) return c;
      c.close();
    }
    const c = new Connection(this.address);
    c.onReusable = (conn) => this.idle.push(conn);
    this.made?.push(c);
    return c;
  }

  /** Close the idle connections (the process is about to exit anyway; they do not hold it up). */
  close(): void {
    for (const c of this.idle.splice(0)) c.close();
  }

  /** Every connection made from now on, for destroy() (the daemon's CLI host: a session's end). */
  private made: Connection[] | undefined;

  trackConnections(): void {
    this.made ??= [];
  }

  /** Close every connection made since trackConnections(), busy or idle (streams, hijacked ones too). */
  destroy(): void {
    this.idle.length = 0;
    for (const c of this.made?.splice(0) ?? []) c.close();
  }

  /** Map a connection-level failure to one clear error. */
  connectionError(err: NodeJS.ErrnoException): CliError {
    if (err instanceof CliError) return err;
    const where = this.address.display;
    if (err.code !== undefined && UNREACHABLE.has(err.code)) {
      return new DaemonUnreachableError(`cannot reach tsnetd at ${where}: is it running? (start it with: sudo tsnetd)`);
    }
    if (err.code === 'EACCES' || err.code === 'EPERM') {
      return new DaemonUnreachableError(`permission denied while connecting to tsnetd at ${where} (try again with sudo)`);
    }
    return new CliError(`error talking to tsnetd at ${where}: ${err.message}`);
  }

  /** One request; a status >= 400 rejects with an ApiError (its body read first). */
  private async dispatch(req: OutgoingRequest): Promise<Outcome> {
    let outcome: Outcome;
    try {
      outcome = await this.connection().request(req);
    } catch (err) {
      throw this.connectionError(err as NodeJS.ErrnoException);
    }
    if (outcome.kind === 'response' && outcome.response.statusCode >= 400) {
      const res = outcome.response;
      throw errorFromResponse(res.statusCode, res.statusMessage, await readBody(res));
    }
    return outcome;
  }

  /**
   * Send a request; resolve with the response once its headers arrive. Status >= 400
   * rejects with an ApiError (the error body is read first).
   */
  async send(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse> {
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const extra: Record<string, string> = {};
    if (payload) {
      extra['Content-Type'] = 'application/json';
      extra['Content-Length'] = String(payload.length);
    }
    const outcome = await this.dispatch({
      method,
      path: buildPath(path, opts.query),
      headers: this.headers(extra, opts),
      body: payload,
    });
    if (outcome.kind !== 'response') throw new CliError(`the daemon switched protocols on ${method} ${path}`);
    return outcome.response;
  }

  /** Send a request whose body is streamed from `source` (image import). */
  async upload(method: string, path: string, source: Readable, opts: UploadOptions): Promise<ApiResponse> {
    const extra: Record<string, string> = { 'Content-Type': opts.contentType };
    if (opts.contentLength !== undefined) extra['Content-Length'] = String(opts.contentLength);
    const outcome = await this.dispatch({
      method,
      path: buildPath(path, opts.query),
      headers: this.headers(extra, opts),
      body: source,
    });
    if (outcome.kind !== 'response') throw new CliError(`the daemon switched protocols on ${method} ${path}`);
    return outcome.response;
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
    return res.statusCode;
  }

  /**
   * Upgrade the connection (attach, exec start). Docker answers `101 UPGRADED` and then
   * the socket carries the raw stream in both directions.
   */
  async hijack(method: string, path: string, opts: RequestOptions = {}): Promise<HijackedStream> {
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const extra: Record<string, string> = { Connection: 'Upgrade', Upgrade: 'tcp' };
    if (payload) {
      extra['Content-Type'] = 'application/json';
      extra['Content-Length'] = String(payload.length);
    }
    const outcome = await this.dispatch({
      method,
      path: buildPath(path, opts.query),
      headers: this.headers(extra, opts),
      body: payload,
      upgrade: true,
    });
    if (outcome.kind === 'upgrade') return { stream: outcome.socket, upgraded: true };
    return { stream: outcome.response, upgraded: false };
  }
}
