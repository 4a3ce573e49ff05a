/**
 * The CLI's connection (src/cli/http/connection.ts) streams a request body of unknown length
 * chunked, and every chunk arrives whole also when the daemon reads slower than the CLI writes
 * (the socket's buffer fills and write() asks to wait): image import / load from stdin.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import test from 'ava';
import { Connection } from '../../../src/cli/http/connection.js';

/** Decode a complete chunked body strictly; throws on any framing error. */
function dechunk(buf: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) throw new Error(`no chunk size line at ${at}`);
    const sizeText = buf.toString('latin1', at, eol);
    if (!/^[0-9a-f]+$/.test(sizeText)) throw new Error(`bad chunk size ${JSON.stringify(sizeText.slice(0, 20))} at ${at}`);
    const size = Number.parseInt(sizeText, 16);
    const start = eol + 2;
    if (size === 0) {
      if (buf.toString('latin1', start, start + 2) !== '\r\n') throw new Error('no final CRLF');
      return Buffer.concat(parts);
    }
    parts.push(buf.subarray(start, start + size));
    if (buf.toString('latin1', start + size, start + size + 2) !== '\r\n') throw new Error(`no CRLF after the chunk at ${at}`);
    at = start + size + 2;
  }
}

test('a streamed body arrives whole and chunked while the daemon reads slowly', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-conn-'));
  const sock = path.join(dir, 's.sock');
  const chunks = Array.from({ length: 64 }, (_, i) => Buffer.alloc(64 * 1024, i));
  let received = Buffer.alloc(0);
  const server = net.createServer((c) => {
    c.pause(); // the daemon is busy: the CLI's writes fill the socket's buffer
    setTimeout(() => c.resume(), 300);
    c.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d]);
      if (received.subarray(-5).toString('latin1') === '0\r\n\r\n')
        c.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
  });
  await new Promise<void>((r) => server.listen(sock, r));
  t.teardown(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const conn = new Connection({ socketPath: sock });
  const out = await conn.request({
    method: 'POST',
    path: '/images/load',
    headers: { 'Content-Type': 'application/x-tar' },
    body: Readable.from(chunks),
  });
  t.is(out.kind, 'response');
  const headEnd = received.indexOf('\r\n\r\n');
  t.regex(received.toString('latin1', 0, headEnd), /\r\nTransfer-Encoding: chunked$/);
  t.true(dechunk(received.subarray(headEnd + 4)).equals(Buffer.concat(chunks)));
  conn.close();
});
