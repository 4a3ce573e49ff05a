/**
 * HTTP/1.1 on the wire, the small part the CLI needs: write a request head, parse a response
 * head, decode a chunked body. Pure functions and one incremental decoder; no sockets here.
 * (The CLI speaks HTTP itself instead of loading node:http, which costs ~10 ms per command.)
 */

export interface ResponseHead {
  status: number;
  statusMessage: string;
  /** Lower-case names; a repeated header keeps its last value. */
  headers: Record<string, string>;
  /** Bytes of the head, including the blank line that ends it. */
  length: number;
}

export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireError';
  }
}

const MAX_HEAD = 64 * 1024;

/** The request line and headers, ending with the blank line. */
export function requestHead(method: string, path: string, headers: Record<string, string>): string {
  let s = `${method} ${path} HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(headers)) s += `${k}: ${v}\r\n`;
  return `${s}\r\n`;
}

/** Parse a response head from the start of `buf`; undefined until the blank line has arrived. */
export function parseResponseHead(buf: Buffer): ResponseHead | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) {
    if (buf.length > MAX_HEAD) throw new WireError('the daemon sent a response head over 64 KiB');
    return undefined;
  }
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
  if (!m) throw new WireError(`the daemon sent an invalid status line: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new WireError(`the daemon sent an invalid header line: ${JSON.stringify(line.slice(0, 80))}`);
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(m[1]), statusMessage: m[2] ?? '', headers, length: end + 4 };
}

/** How a response body is delimited (RFC 9112 §6.3, for the cases a daemon sends). */
export type BodyFraming = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' };

export function bodyFraming(method: string, head: ResponseHead): BodyFraming {
  if (method === 'HEAD' || head.status === 204 || head.status === 304 || (head.status >= 100 && head.status < 200)) {
    return { kind: 'none' };
  }
  const te = head.headers['transfer-encoding'];
  if (te !== undefined && /(?:^|,)\s*chunked\s*$/i.test(te)) return { kind: 'chunked' };
  const cl = head.headers['content-length'];
  if (cl !== undefined) {
    if (!/^\d+$/.test(cl)) throw new WireError(`the daemon sent an invalid Content-Length: ${JSON.stringify(cl)}`);
    const length = Number(cl);
    return length === 0 ? { kind: 'none' } : { kind: 'length', length };
  }
  return { kind: 'close' };
}

/** Whether the connection can carry another request after this response. */
export function keepsAlive(head: ResponseHead, framing: BodyFraming): boolean {
  if (framing.kind === 'close') return false;
  return !/(?:^|,)\s*close\s*(?:,|$)/i.test(head.headers.connection ?? '');
}

/**
 * Incremental chunked-body decoder: feed what the socket delivers, get the payload bytes;
 * `done` once the last chunk and trailers are in, `rest` is what followed (the next response).
 */
export class ChunkedDecoder {
  private pending: Buffer = Buffer.alloc(0);
  /** Payload bytes still to read in the current chunk; -1: expecting a size line; -2: trailers. */
  private left = -1;
  private crlfAfterData = false;
  done = false;

  feed(chunk: Buffer): { data: Buffer[]; rest: Buffer } {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    const data: Buffer[] = [];
    while (!this.done) {
      if (this.crlfAfterData) {
        if (buf.length < 2) break;
        if (buf[0] !== 13 || buf[1] !== 10) throw new WireError('the daemon sent a malformed chunked body');
        buf = buf.subarray(2);
        this.crlfAfterData = false;
      }
      if (this.left > 0) {
        if (buf.length === 0) break;
        const n = Math.min(this.left, buf.length);
        data.push(buf.subarray(0, n));
        buf = buf.subarray(n);
        this.left -= n;
        if (this.left === 0) {
          this.crlfAfterData = true;
          this.left = -1;
        }
        continue;
      }
      const eol = buf.indexOf('\r\n');
      if (eol < 0) {
        if (buf.length > 4096) throw new WireError('the daemon sent a malformed chunked body');
        break;
      }
      const line = buf.toString('latin1', 0, eol);
      buf = buf.subarray(eol + 2);
      if (this.left === -2) {
        if (line === '') this.done = true; // a trailer line otherwise: ignored
        continue;
      }
      const size = Number.parseInt(line.split(';')[0]!.trim(), 16);
      if (!Number.isFinite(size) || size < 0) throw new WireError('the daemon sent a malformed chunk size');
      this.left = size === 0 ? -2 : size;
    }
    this.pending = this.done ? Buffer.alloc(0) : Buffer.from(buf);
    return { data, rest: this.done ? buf : Buffer.alloc(0) };
  }
}
