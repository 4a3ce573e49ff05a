/** The CLI's own HTTP/1.1 framing (src/cli/http/wire.ts): response heads, body framing, chunked bodies. */
import test from 'ava';
import {
  bodyFraming,
  ChunkedDecoder,
  keepsAlive,
  parseResponseHead,
  requestHead,
  WireError,
} from '../../../src/cli/http/wire.js';

test('request head: request line, headers, blank line', (t) => {
  t.is(requestHead('GET', '/v?x=1', { Host: 'localhost', A: 'b' }), 'GET /v?x=1 HTTP/1.1\r\nHost: localhost\r\nA: b\r\n\r\n');
});

test('response head: undefined until complete; status, message, lower-case headers, length', (t) => {
  const raw = 'HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}';
  t.is(parseResponseHead(Buffer.from(raw.slice(0, 30))), undefined);
  const h = parseResponseHead(Buffer.from(raw))!;
  t.is(h.status, 404);
  t.is(h.statusMessage, 'Not Found');
  t.deepEqual(h.headers, { 'content-type': 'application/json', 'content-length': '2' });
  t.is(h.length, raw.length - 2);
  t.throws(() => parseResponseHead(Buffer.from('garbage\r\n\r\n')), { instanceOf: WireError });
});

test('body framing and keep-alive', (t) => {
  const head = (h: Record<string, string>, status = 200) => ({ status, statusMessage: '', headers: h, length: 0 });
  t.deepEqual(bodyFraming('GET', head({ 'transfer-encoding': 'chunked' })), { kind: 'chunked' });
  t.deepEqual(bodyFraming('GET', head({ 'content-length': '5' })), { kind: 'length', length: 5 });
  t.deepEqual(bodyFraming('GET', head({ 'content-length': '0' })), { kind: 'none' });
  t.deepEqual(bodyFraming('GET', head({}, 204)), { kind: 'none' });
  t.deepEqual(bodyFraming('HEAD', head({ 'content-length': '5' })), { kind: 'none' });
  t.deepEqual(bodyFraming('GET', head({})), { kind: 'close' });
  t.true(keepsAlive(head({ connection: 'keep-alive' }), { kind: 'none' }));
  t.false(keepsAlive(head({ connection: 'close' }), { kind: 'none' }));
  t.false(keepsAlive(head({}), { kind: 'close' }));
});

test('chunked body: the same bytes whatever the split, extensions and trailers skipped, the rest kept', (t) => {
  const body = '5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\nNEXT';
  for (let a = 0; a <= body.length; a++) {
    for (let b = a; b <= body.length; b += 7) {
      const d = new ChunkedDecoder();
      const out: Buffer[] = [];
      let rest: Buffer = Buffer.alloc(0);
      for (const part of [body.slice(0, a), body.slice(a, b), body.slice(b)]) {
        if (d.done) {
          rest = Buffer.concat([rest, Buffer.from(part)]);
          continue;
        }
        const r = d.feed(Buffer.from(part));
        out.push(...r.data);
        rest = r.rest;
      }
      t.true(d.done, `split at ${a}/${b}`);
      t.is(Buffer.concat(out).toString(), 'hello world', `split at ${a}/${b}`);
      t.is(rest.toString(), 'NEXT', `split at ${a}/${b}`);
    }
  }
  t.throws(() => new ChunkedDecoder().feed(Buffer.from('zz\r\n')), { instanceOf: WireError });
});
