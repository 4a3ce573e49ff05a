/**
 * The wire under the plugin client: one POST over a unix socket, TCP or TLS, as Docker sends it
 * (moby pkg/plugins/client.go, transport/http.go):
 *   POST /<Subsystem>.<Method>, Accept: application/vnd.docker.plugins.v1.2+json,
 *   no Content-Type, an explicit Content-Length (0 for an empty body), Host plugin.moby.localhost
 *   on unix sockets.
 * One connection per call (no keep-alive): a connection that breaks is then always this call's,
 * so "never reached the plugin" and "died mid-call" can be told apart. Failures are classified
 * so the client can decide:
 *   ConnectError  — the request never reached the plugin (refused, socket missing): retryable;
 *   LostError     — the connection broke after the request was sent (the plugin died mid-call):
 *                   not retried, the call may or may not have had an effect;
 *   DeadlineError — no complete reply before the deadline.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { TsnetError } from '../errors/index.js';
import type { PluginAddress } from './types.js';

export const ACCEPT_HEADER = 'application/vnd.docker.plugins.v1.2+json';
const UNIX_HOST = 'plugin.moby.localhost';
const MAX_REPLY_BYTES = 16 * 1024 * 1024;

export interface HttpReply {
  status: number;
  body: Buffer;
}

export class ConnectError extends Error {
  readonly code: string;
  constructor(cause: NodeJS.ErrnoException) {
    super(cause.code ?? cause.message, { cause });
    this.code = cause.code ?? 'ECONNREFUSED';
  }
}

/** The TLS handshake failed (certificate not trusted, wrong name, bad client cert): not retryable. */
export class TlsError extends Error {
  readonly code: string;
  constructor(cause: NodeJS.ErrnoException) {
    super(cause.code ?? cause.message, { cause });
    this.code = cause.code ?? 'ERR_TLS';
  }
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_|ERR_TLS|ERR_SSL|EPROTO/;

export class LostError extends Error {
  readonly code: string;
  constructor(cause: NodeJS.ErrnoException | Error) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'ECONNRESET';
    super(`${code}: ${cause.message}`, { cause });
    this.code = code;
  }
}

export class DeadlineError extends Error {
  constructor() {
    super('deadline exceeded');
  }
}

export class TooLargeError extends Error {
  constructor() {
    super(`reply larger than ${MAX_REPLY_BYTES} bytes`);
  }
}

export interface Transport {
  /** POST `body` (may be empty) to `urlPath`; rejects with one of the error classes above. */
  post(urlPath: string, body: Buffer, deadline: number): Promise<HttpReply>;
  close(): void;
}

function readTlsFile(file: string | undefined): Buffer | undefined {
  if (!file) return undefined;
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `plugin TLS file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      { cause: err },
    );
  }
}

export function createTransport(addr: PluginAddress): Transport {
  const isTls = addr.protocol === 'https';
  let agent: http.Agent;
  if (isTls) {
    const tls = addr.tls ?? { insecureSkipVerify: true };
    const ca = readTlsFile(tls.caFile);
    const cert = readTlsFile(tls.certFile);
    const key = readTlsFile(tls.keyFile);
    agent = new https.Agent({
      keepAlive: false,
      rejectUnauthorized: !tls.insecureSkipVerify,
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
    });
  } else {
    agent = new http.Agent({ keepAlive: false });
  }

  const post = (urlPath: string, body: Buffer, deadline: number): Promise<HttpReply> =>
    new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = { Accept: ACCEPT_HEADER, 'Content-Length': body.length };
      const base: http.RequestOptions = { method: 'POST', path: urlPath, headers, agent };
      if (addr.protocol === 'unix') {
        base.socketPath = addr.socketPath!;
        headers.Host = UNIX_HOST;
      } else {
        base.host = addr.host!;
        base.port = addr.port!;
      }
      const req = (isTls ? https : http).request(base);
      let connected = false;
      let settled = false;
      const finish = (err: Error | undefined, reply?: HttpReply): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(reply!);
      };
      const wait = Math.max(0, deadline - Date.now());
      const timer = setTimeout(() => {
        req.destroy(new DeadlineError());
      }, wait);
      req.on('socket', (s) => {
        if (!s.connecting) connected = true;
        else s.once(isTls ? 'secureConnect' : 'connect', () => (connected = true));
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof DeadlineError || err instanceof TooLargeError) return finish(err);
        if (isTls && !connected && TLS_CODES.test(err.code ?? '')) return finish(new TlsError(err));
        if (!connected || err.syscall === 'connect') return finish(new ConnectError(err));
        finish(new LostError(err));
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (d: Buffer) => {
          size += d.length;
          if (size > MAX_REPLY_BYTES) {
            req.destroy(new TooLargeError());
            return;
          }
          chunks.push(d);
        });
        res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('aborted', () => finish(new LostError(new Error('reply cut short'))));
        res.on('error', (err) => {
          if (err instanceof DeadlineError || err instanceof TooLargeError) finish(err);
          else finish(new LostError(err));
        });
      });
      req.end(body);
    });

  return {
    post,
    close() {
      agent.destroy();
    },
  };
}
