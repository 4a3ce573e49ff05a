/**
 * The daemon's HTTP server on a unix socket. Handles JSON replies, typed-error mapping
 * ({message, code} with the category's status), and connection hijacking for attach/exec
 * (Docker's `Upgrade: tcp` → `101 UPGRADED`, or a plain hijack for clients that do not ask).
 */
import fs from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import { Duplex, PassThrough } from 'node:stream';
import { TsnetError, asTsnetError } from '../../errors/index.js';
import type { Logger } from '../logger.js';
import type { Reply, Router } from './router.js';

export const API_VERSION = '1.41';

export interface ServerOptions {
  socketPath: string;
  router: Router;
  logger: Logger;
  mode?: number;
}

export async function startServer(opts: ServerOptions): Promise<http.Server> {
  await removeStaleSocket(opts.socketPath);
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    void handle(opts, req, res, undefined, undefined);
  });
  server.on('upgrade', (req: IncomingMessage, socket: net.Socket, head: Buffer) => {
    void handle(opts, req, undefined, socket, head);
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.socketPath, () => resolve());
  });
  fs.chmodSync(opts.socketPath, opts.mode ?? 0o660);
  return server;
}

async function removeStaleSocket(socketPath: string): Promise<void> {
  if (!fs.existsSync(socketPath)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const c = net.connect(socketPath);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive) throw new TsnetError('TSNET_INVALID_ARGUMENT', `another tsnetd is already serving ${socketPath}`);
  fs.rmSync(socketPath, { force: true });
}

async function readBody(req: IncomingMessage, upgrade?: { socket: net.Socket; head: Buffer }): Promise<Buffer> {
  if (!upgrade) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }
  // Upgrade requests: node hands us the socket; the body (if any) follows the headers.
  const len = Number(req.headers['content-length'] ?? 0) || 0;
  let buf = upgrade.head;
  while (buf.length < len) {
    const chunk = await new Promise<Buffer | null>((resolve) => {
      upgrade.socket.once('data', (d: Buffer) => resolve(d));
      upgrade.socket.once('end', () => resolve(null));
    });
    if (chunk === null) break;
    upgrade.socket.pause();
    buf = Buffer.concat([buf, chunk]);
  }
  if (buf.length > len) upgrade.socket.unshift(buf.subarray(len));
  return buf.subarray(0, len);
}

async function handle(
  opts: ServerOptions,
  req: IncomingMessage,
  res: ServerResponse | undefined,
  upgradeSocket: net.Socket | undefined,
  head: Buffer | undefined,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://tsnetd');
  const method = req.method ?? 'GET';
  const started = process.hrtime.bigint();
  const send = (reply: Reply): void => writeReply(req, res, upgradeSocket, reply);
  try {
    const m = opts.router.match(method, url.pathname);
    if (m === undefined) throw new TsnetError('TSNET_NOT_IMPLEMENTED', `page not found: ${method} ${url.pathname}`);
    if (m === 'method') throw new TsnetError('TSNET_NOT_IMPLEMENTED', `method ${method} not allowed on ${url.pathname}`);
    let body: unknown;
    if (!m.route.rawBody) {
      const buf = await readBody(req, upgradeSocket && head ? { socket: upgradeSocket, head } : undefined);
      if (buf.length > 0 && (req.headers['content-type'] ?? 'application/json').includes('json')) {
        try {
          body = JSON.parse(buf.toString('utf8'));
        } catch {
          throw new TsnetError('TSNET_INVALID_ARGUMENT', 'the request body is not valid JSON');
        }
      }
    }
    const hijack = (): Promise<Duplex> => doHijack(req, res, upgradeSocket);
    const reply = await m.route.handler({ req, params: m.params, query: url.searchParams, body, hijack, res });
    if (reply && !('handled' in reply)) send(reply);
  } catch (err) {
    const e = asTsnetError(err);
    if (e.category === 'internal') opts.logger.error(`${method} ${url.pathname}: ${e.message}`);
    if (!res?.headersSent && !upgradeSocket?.destroyed)
      send({ status: e.httpStatus, json: { message: e.message, code: e.code } });
  } finally {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    opts.logger.debug(`${method} ${url.pathname}${url.search} ${ms.toFixed(1)}ms`);
  }
}

function writeReply(req: IncomingMessage, res: ServerResponse | undefined, sock: net.Socket | undefined, reply: Reply): void {
  if ('handled' in reply) return;
  const payload =
    'json' in reply ? (reply.json === undefined ? '' : JSON.stringify(reply.json)) : 'text' in reply ? reply.text : '';
  const headers: Record<string, string> = {
    'Api-Version': API_VERSION,
    'Docker-Experimental': 'false',
    Ostype: 'linux',
    Server: 'tsnetd',
    ...(payload && 'json' in reply ? { 'Content-Type': 'application/json' } : {}),
    ...(payload && 'text' in reply ? { 'Content-Type': 'text/plain; charset=utf-8' } : {}),
    ...reply.headers,
  };
  if (res) {
    res.writeHead(reply.status, headers);
    res.end(req.method === 'HEAD' ? undefined : payload);
    return;
  }
  if (sock && !sock.destroyed) {
    const lines = [`HTTP/1.1 ${reply.status} ${http.STATUS_CODES[reply.status] ?? ''}`];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    lines.push(`Content-Length: ${Buffer.byteLength(payload)}`, 'Connection: close', '', '');
    sock.end(lines.join('\r\n') + payload);
  }
}

/** Take over the connection: answer 101 (or 200 for non-upgrade clients) and hand back the raw socket. */
async function doHijack(
  req: IncomingMessage,
  res: ServerResponse | undefined,
  upgradeSocket: net.Socket | undefined,
): Promise<Duplex> {
  const wantsUpgrade = (req.headers.upgrade ?? '').toLowerCase() === 'tcp';
  const contentType = 'application/vnd.docker.raw-stream';
  if (upgradeSocket) {
    upgradeSocket.write(
      `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nApi-Version: ${API_VERSION}\r\n\r\n`,
    );
    upgradeSocket.setNoDelay(true);
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
