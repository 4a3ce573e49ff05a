/**
 * One connection to the daemon (unix socket or TCP) carrying one request at a time: write the
 * request, parse the response head, stream the body out as a Readable, and say when the
 * connection is free again (keep-alive). A `101 Switching Protocols` hands the raw socket over
 * (attach, exec start). net.Socket only: no node:http.
 */
import net from 'node:net';
import { Readable } from 'node:stream';
import { CliError } from '../errors.js';
import { bodyFraming, ChunkedDecoder, keepsAlive, parseResponseHead, requestHead, type ResponseHead } from './wire.js';

export interface Endpoint {
  socketPath?: string;
  hostname?: string;
  port?: number;
}

/** A response whose body streams as it arrives. */
/** The empty start of every response buffer (one object, not one per request). */
const EMPTY = Buffer.alloc(0);

export class ApiResponse extends Readable {
  readonly statusCode: number;
  readonly statusMessage: string;
  readonly headers: Record<string, string>;
  private readonly onRead: () => void;
  /** Called when the consumer destroys the response before its end (the connection is then useless). */
  onAbandon: () => void = () => {};

  constructor(head: ResponseHead, onRead: () => void) {
    super();
    this.statusCode = head.status;
    this.statusMessage = head.statusMessage;
    this.headers = head.headers;
    this.onRead = onRead;
  }

  override _read(): void {
    this.onRead();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.readableEnded) this.onAbandon();
    cb(err);
  }
}

export type Outcome = { kind: 'response'; response: ApiResponse } | { kind: 'upgrade'; head: ResponseHead; socket: net.Socket };

export interface OutgoingRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** A whole body, or a stream sent with Content-Length (when in the headers) or chunked. */
  body?: Buffer | Readable;
  /** Hand the socket over on `101`. */
  upgrade?: boolean;
}

const noop = (): void => {};

const premature = (): CliError => new CliError('the daemon closed the connection before the answer was complete');

export class Connection {
  readonly socket: net.Socket;
  /** True between a response's end (kept alive) and the next request. */
  idle = false;
  idleSince = 0;
  private closed = false;
  private inFlight = false;
  private onData: (chunk: Buffer) => void = noop;
  private onGone: (err?: Error) => void = noop;
  /** Called when a response has ended and the connection can take another request. */
  onReusable: (c: Connection) => void = noop;

  constructor(endpoint: Endpoint) {
    this.socket =
      endpoint.socketPath !== undefined
        ? net.connect({ path: endpoint.socketPath })
        : net.connect({ host: endpoint.hostname, port: endpoint.port ?? 2375 });
    this.socket.setNoDelay?.(true);
    this.socket.on('data', (c: Buffer) => this.onData(c));
    this.socket.on('error', (err) => {
      this.closed = true;
      this.onGone(err);
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.onGone();
    });
  }

  get usable(): boolean {
    return !this.closed && !this.inFlight && !this.socket.destroyed;
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  /** Send one request; resolves once the response head has arrived. */
  request(req: OutgoingRequest): Promise<Outcome> {
    if (!this.usable) return Promise.reject(new CliError('internal: request on a busy or closed connection'));
    this.inFlight = true;
    this.idle = false;
    this.socket.ref();
    return new Promise<Outcome>((resolve, reject) => {
      let buf: Buffer = EMPTY;
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        this.close();
        reject(err);
      };
      this.onGone = (err) => fail(err ?? new CliError('the daemon closed the connection without answering'));
      this.onData = (chunk) => {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        let head: ResponseHead | undefined;
        try {
          head = parseResponseHead(buf);
        } catch (err) {
          fail(err as Error);
          return;
        }
        if (!head) return;
        const rest = buf.subarray(head.length);
        settled = true;
        if (head.status === 101 && req.upgrade) {
          this.onData = noop;
          this.onGone = noop;
          this.closed = true; // never reused: the socket is the caller's now
          this.socket.pause();
          if (rest.length > 0) this.socket.unshift(rest);
          resolve({ kind: 'upgrade', head, socket: this.socket });
          return;
        }
        resolve({ kind: 'response', response: this.readBody(req.method, head, rest) });
      };
      this.send(req, fail);
    });
  }

  private send(req: OutgoingRequest, fail: (err: Error) => void): void {
    const body = req.body;
    const chunked = body instanceof Readable && req.headers['Content-Length'] === undefined;
    const headers = chunked ? { ...req.headers, 'Transfer-Encoding': 'chunked' } : req.headers;
    const head = requestHead(req.method, req.path, headers);
    if (body === undefined || Buffer.isBuffer(body)) {
      this.socket.write(body && body.length > 0 ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : head);
      return;
    }
    this.socket.write(head);
    const sock = this.socket;
    const onDrain = (): void => {
      body.resume();
    };
    sock.on('drain', onDrain);
    body.on('data', (c: Buffer) => {
      if (sock.destroyed) return;
      // every part of a chunk is written whatever write() returns (false only asks to wait for
      // 'drain'): cutting the chain at the first false dropped the chunk's data and its CRLF
      // once the socket's buffer filled, so a streamed body of any real size was malformed
      let ok = true;
      for (const part of chunked ? [`${c.length.toString(16)}\r\n`, c, '\r\n'] : [c]) ok = sock.write(part) && ok;
      if (!ok) body.pause();
    });
    body.once('end', () => {
      sock.removeListener('drain', onDrain);
      if (chunked && !sock.destroyed) sock.write('0\r\n\r\n');
    });
    body.once('error', (err) => {
      sock.removeListener('drain', onDrain);
      fail(new CliError(`reading the request body: ${err.message}`));
      this.close();
    });
  }

  /** Stream the body of a response whose head has arrived; `first` is what came after the head. */
  private readBody(method: string, head: ResponseHead, first: Buffer): ApiResponse {
    const framing = bodyFraming(method, head);
    const res = new ApiResponse(head, () => this.socket.resume());
    let left = framing.kind === 'length' ? framing.length : 0;
    const chunked = framing.kind === 'chunked' ? new ChunkedDecoder() : undefined;
    let ended = false;
    const finish = (rest: Buffer): void => {
      ended = true;
      this.onData = noop;
      this.onGone = noop;
      this.inFlight = false;
      res.push(null);
      if (keepsAlive(head, framing) && rest.length === 0 && !this.closed) {
        this.idle = true;
        this.idleSince = Date.now();
        this.socket.unref();
        this.onReusable(this);
      } else {
        this.close();
      }
    };
    const deliver = (chunk: Buffer): void => {
      if (!res.push(chunk)) this.socket.pause();
    };
    const take = (chunk: Buffer): void => {
      try {
        if (framing.kind === 'length') {
          const n = Math.min(left, chunk.length);
          if (n > 0) deliver(chunk.subarray(0, n));
          left -= n;
          if (left === 0) finish(chunk.subarray(n));
        } else if (chunked) {
          const { data, rest } = chunked.feed(chunk);
          for (const d of data) deliver(d);
          if (chunked.done) finish(rest);
        } else if (chunk.length > 0) {
          deliver(chunk);
        }
      } catch (err) {
        this.onData = noop;
        this.onGone = noop;
        this.close();
        res.destroy(err as Error);
      }
    };
    res.onAbandon = () => {
      if (!ended) this.close();
    };
    this.onGone = (err) => {
      if (ended) return;
      if (framing.kind === 'close' && err === undefined) {
        ended = true;
        this.inFlight = false;
        res.push(null);
        return;
      }
      res.destroy(premature());
    };
    if (framing.kind === 'none') finish(first);
    else {
      this.onData = take;
      if (first.length > 0) take(first);
    }
    return res;
  }
}
