/**
 * The daemon's HTTP server on a unix socket. Every request goes the same way: path and
 * version → route (404 / 405 / 400), body read with a size and depth limit, path params,
 * query and body checked against the route's schema, then the handler. Typed errors map to
 * {message, code} with the category's status. Connection hijacking for attach/exec (Docker's
 * `Upgrade: tcp` → `101 UPGRADED`, or a plain hijack for clients that do not ask).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type net from 'node:net';
import { Duplex, PassThrough } from 'node:stream';
import { TsnetError, asTsnetError } from '../../errors/index.js';
import { flushTiming, timingLine, timingOn } from '../../errors/rollback.js';
import type { Logger } from '../../lib/logger.js';
import { parseJsonBody, readBody } from './body.js';
import type { Reply, Router } from './router.js';
import { check } from './schema.js';
import { listenUnix, type SocketOptions } from './socket.js';
import { holdUntilHeadRead } from './head-gate.js';
import { handshake, websocketSession } from './websocket.js';
import { API_VERSION, versionLess } from './version.js';

export { API_VERSION } from './version.js';

export interface ServerOptions extends SocketOptions {
  router: Router;
  logger: Logger;
  /**
   * Called before each request's handler: a promise makes the request wait for it (the daemon's
   * restore, see main.ts); undefined lets it through at once.
   */
  gate?: (method: string) => Promise<void> | undefined;
  /**
   * Bytes a socket sent that its peer has not read (kernel/socket-queue.ts): a hijacked
   * connection's output waits for the client to read the 101 head (http/head-gate.ts).
   */
  unreadBytes?: (fd: number) => number;
}

export async function startServer(opts: ServerOptions): Promise<http.Server> {
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    void handle(opts, req, res, undefined, undefined);
  });
  server.on('upgrade', (req: IncomingMessage, socket: net.Socket, head: Buffer) => {
    void handle(opts, req, undefined, socket, head);
  });
  // CONNECT is a method like any other to the API: a known path answers 405, others 404.
  server.on('connect', (req: IncomingMessage, socket: net.Socket) => {
    const m = safeMatch(opts.router, 'CONNECT', req.url ?? '/');
    rawAnswer(socket, m === 'method' ? 405 : m === 'bad' ? 400 : 404, m === 'method' ? 'CONNECT' : undefined);
  });
  // The parser refuses what it cannot read (a method it does not know, a header too large):
  // answer like Go's server does instead of dropping the connection.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    if (!socket.writable) return socket.destroy();
    if (err.code === 'HPE_INVALID_METHOD') {
      const line = /^([^\s]*)\s+([^\s]+)/.exec(String((err as { rawPacket?: Buffer }).rawPacket ?? ''));
      const m = line ? safeMatch(opts.router, 'UNKNOWN', line[2]!) : undefined;
      return rawAnswer(socket, m === 'method' ? 405 : m === 'bad' ? 400 : 404, line?.[1]);
    }
    if (err.code === 'HPE_HEADER_OVERFLOW') return rawAnswer(socket, 431);
    rawAnswer(socket, 400);
  });
  await listenUnix(server, opts);
  return server;
}

function safeMatch(router: Router, method: string, url: string): ReturnType<Router['match']> | 'bad' {
  try {
    return router.match(method, url.split('?')[0] ?? '/');
  } catch {
    return 'bad';
  }
}

/** A complete answer written straight to a socket the HTTP parser gave up on. */
function rawAnswer(socket: net.Socket, status: number, method?: string): void {
  const message =
    status === 405
      ? `method ${method ?? ''} is not allowed on this path`.replace('  ', ' ')
      : status === 404
        ? 'page not found'
        : status === 431
          ? 'request headers too large'
          : 'malformed HTTP request';
  const body = JSON.stringify({ message });
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\nApi-Version: ${API_VERSION}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Path and query of the request target (never parsed as a URL: `//x` is a path, not a host). */
function splitTarget(target: string): { path: string; search: string } {
  const i = target.indexOf('?');
  const path = i < 0 ? target : target.slice(0, i);
  const search = i < 0 ? '' : target.slice(i + 1);
  if (!path.startsWith('/')) throw new TsnetError('TSNET_INVALID_ARGUMENT', 'the request path must start with /');
  if (/%(?![0-9A-Fa-f]{2})/.test(search))
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid escape in the query string: ${JSON.stringify(search.slice(0, 80))}`);
  return { path, search };
}

/** Go's `Form.Get`: the first value of each key. */
function queryObject(q: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of q) if (!(k in out)) out[k] = v;
  return out;
}

async function handle(
  opts: ServerOptions,
  req: IncomingMessage,
  res: ServerResponse | undefined,
  upgradeSocket: net.Socket | undefined,
  head: Buffer | undefined,
): Promise<void> {
  const method = req.method ?? 'GET';
  const target = req.url ?? '/';
  const started = process.hrtime.bigint();
  const send = (reply: Reply): void => writeReply(req, res, upgradeSocket, reply);
  try {
    const { path, search } = splitTarget(target);
    const m = opts.router.match(method, path);
    if (m === undefined) throw new TsnetError('TSNET_PAGE_NOT_FOUND', 'page not found');
    if (m === 'method') throw new TsnetError('TSNET_METHOD_NOT_ALLOWED', `method ${method} is not allowed on ${path}`);
    const query = new URLSearchParams(search);
    check(m.schema.params, m.params, 'path');
    check(m.schema.query, queryObject(query), 'query');
    let body: unknown;
    if (!m.route.rawBody) {
      const buf = await readBody(req, upgradeSocket && head ? { socket: upgradeSocket, head } : undefined);
      if (buf.length > 0 && (req.headers['content-type'] ?? 'application/json').includes('json')) body = parseJsonBody(buf);
      if (m.schema.body && m.schema.foldBody) check(m.schema.body, m.schema.foldBody(body ?? {}), 'body');
    }
    const hijack = async (o?: { multiplexed?: boolean; websocketKey?: string }): Promise<Duplex> => {
      if (o?.websocketKey === undefined)
        return doHijack(req, res, upgradeSocket, o?.multiplexed === true && !versionLess(m.apiVersion, '1.42'), opts.unreadBytes);
      if (!upgradeSocket) throw new TsnetError('TSNET_INVALID_ARGUMENT', 'a websocket session needs an upgrade request');
      upgradeSocket.write(handshake(o.websocketKey));
      upgradeSocket.setNoDelay(true);
      return websocketSession(upgradeSocket);
    };
    const wait = opts.gate?.(method);
    if (wait) await wait;
    const reply = await m.route.handler({ req, params: m.params, query, body, apiVersion: m.apiVersion, hijack, res });
    if (reply && !('handled' in reply)) send(reply);
  } catch (err) {
    const e = asTsnetError(err);
    if (e.category === 'internal') opts.logger.error(`${method} ${target.slice(0, 200)}: ${e.message}`);
    if (!res?.headersSent && !upgradeSocket?.destroyed) {
      // Docker's 404 and 405 carry only a message.
      const json = e.code === 'TSNET_PAGE_NOT_FOUND' ? { message: e.message } : { message: e.message, code: e.code };
      send({ status: e.httpStatus, json });
    } else if (res && !res.writableEnded) res.end();
  } finally {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    opts.logger.debug(`${method} ${target.slice(0, 200)} ${ms.toFixed(1)}ms`);
    if (timingOn) {
      timingLine(`request ${method} ${target.slice(0, 80)}`, performance.now() - ms);
      flushTiming();
    }
  }
}

function writeReply(req: IncomingMessage, res: ServerResponse | undefined, sock: net.Socket | undefined, reply: Reply): void {
  if ('handled' in reply) return;
  const payload: string | Buffer =
    'jsonBytes' in reply
      ? reply.jsonBytes
      : 'json' in reply
        ? reply.json === undefined
          ? ''
          : JSON.stringify(reply.json)
        : 'text' in reply
          ? reply.text
          : '';
  const headers: Record<string, string> = {
    'Api-Version': API_VERSION,
    'Docker-Experimental': 'false',
    Ostype: 'linux',
    Server: 'tsnetd',
    ...(payload.length && ('json' in reply || 'jsonBytes' in reply) ? { 'Content-Type': 'application/json' } : {}),
    ...(payload.length && 'text' in reply ? { 'Content-Type': 'text/plain; charset=utf-8' } : {}),
    ...reply.headers,
  };
  if (res) {
    // a known length instead of chunked encoding: one write, no terminating chunk for the client
    // to wait for (no Content-Length on 204/304, as HTTP says)
    if (reply.status !== 204 && reply.status !== 304 && !('Content-Length' in headers) && !headers['Transfer-Encoding'])
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    res.writeHead(reply.status, headers);
    res.end(req.method === 'HEAD' ? undefined : payload);
    return;
  }
  if (sock && !sock.destroyed) {
    const lines = [`HTTP/1.1 ${reply.status} ${http.STATUS_CODES[reply.status] ?? ''}`];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    lines.push(`Content-Length: ${Buffer.byteLength(payload)}`, 'Connection: close', '', '');
    const head = lines.join('\r\n');
    sock.end(typeof payload === 'string' ? head + payload : Buffer.concat([Buffer.from(head), payload]));
  }
}

/**
 * Take over the connection: answer 101 (or 200 for non-upgrade clients) and hand back the raw
 * socket. As Docker (API 1.42+), an upgraded session whose output is framed says so in its
 * Content-Type; a plain hijack always says raw-stream.
 */
async function doHijack(
  req: IncomingMessage,
  res: ServerResponse | undefined,
  upgradeSocket: net.Socket | undefined,
  multiplexed: boolean,
  unreadBytes?: (fd: number) => number,
): Promise<Duplex> {
  const wantsUpgrade = (req.headers.upgrade ?? '').toLowerCase() === 'tcp';
  const contentType =
    multiplexed && (upgradeSocket || wantsUpgrade)
      ? 'application/vnd.docker.multiplexed-stream'
      : 'application/vnd.docker.raw-stream';
  if (upgradeSocket) {
    upgradeSocket.write(
      `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nApi-Version: ${API_VERSION}\r\n\r\n`,
    );
    upgradeSocket.setNoDelay(true);
    if (unreadBytes) holdUntilHeadRead(upgradeSocket, unreadBytes);
    return upgradeSocket;
  }
  if (!res) throw new TsnetError('TSNET_INTERNAL', 'cannot hijack this connection');
  // A client that did not ask for an upgrade: stream on the response, read stdin from the request.
  res.writeHead(wantsUpgrade ? 101 : 200, { 'Content-Type': contentType, 'Api-Version': API_VERSION });
  res.flushHeaders();
  const input = new PassThrough();
  req.pipe(input);
  return Duplex.from({ readable: input, writable: res });
}
