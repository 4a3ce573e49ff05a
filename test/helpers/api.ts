/**
 * Raw API requests to a test daemon's socket: any method, path and body bytes (the fuzz and
 * probe tests send what no client library would), and a raw-bytes form for requests Node's
 * HTTP client refuses to write (unknown methods, bad request lines).
 */
import http from 'node:http';
import net from 'node:net';

export interface ApiReply {
  status: number;
  text: string;
  /** The body as JSON when it parses, else undefined. */
  json: unknown;
  headers: http.IncomingHttpHeaders;
}

export interface ApiRequest {
  method?: string;
  path: string;
  /** A value to send as JSON, or raw bytes. */
  body?: unknown;
  raw?: Buffer | string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function api(socket: string, r: ApiRequest): Promise<ApiReply> {
  const payload =
    r.raw !== undefined ? Buffer.from(r.raw) : r.body !== undefined ? Buffer.from(JSON.stringify(r.body)) : undefined;
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        socketPath: socket,
        method: r.method ?? 'GET',
        path: r.path,
        headers: {
          ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) } : {}),
          ...r.headers,
        },
        timeout: r.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, text, json: parse(text), headers: res.headers });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${r.method ?? 'GET'} ${r.path.slice(0, 80)}: no answer in time`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Send raw bytes, read until the daemon closes or the first complete response; resolves with the status line's code. */
export function rawApi(socket: string, bytes: string | Buffer, timeoutMs = 10_000): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socket);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error(`raw request ${String(bytes).slice(0, 40)}: no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    let finished = false;
    const done = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, text });
    };
    c.on('data', (d: Buffer) => {
      chunks.push(d);
      const text = Buffer.concat(chunks).toString('utf8');
      const len = /content-length: (\d+)/i.exec(text);
      const headEnd = text.indexOf('\r\n\r\n');
      if (len && headEnd >= 0 && Buffer.byteLength(text) - Buffer.byteLength(text.slice(0, headEnd + 4)) >= Number(len[1])) {
        c.destroy();
        done();
      }
    });
    c.on('end', done);
    c.on('error', (err) => {
      if (chunks.length) done();
      else {
        clearTimeout(timer);
        reject(err);
      }
    });
    c.write(bytes);
  });
}
