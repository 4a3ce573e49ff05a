/**
 * `GET /containers/{id}/attach/ws` (Docker's websocket attach): the RFC 6455 handshake, the
 * container's output as binary frames with stdout and stderr as they are (never multiplexed),
 * stdin from the client's masked frames, logs of an exited container, and one-line refusals.
 * The client here is a few lines over a raw socket, so every byte on the wire is checked.
 */
import anyTest, { type TestFn } from 'ava';
import crypto from 'node:crypto';
import net from 'node:net';
import { api } from '../helpers/api.js';
import { createWorld, eventually, type World } from '../helpers/world.js';

const test = anyTest as TestFn<{ w: World }>;

test.before(async (t) => {
  t.context.w = await createWorld();
});
test.after.always(async (t) => {
  await t.context.w?.teardown();
});

interface Frame {
  opcode: number;
  payload: Buffer;
}

/** A websocket client: the handshake answer, the frames received, and a masked send. */
function wsConnect(socket: string, path: string) {
  const key = crypto.randomBytes(16).toString('base64');
  const c = net.connect(socket);
  let raw = Buffer.alloc(0);
  let head = '';
  const frames: Frame[] = [];
  let closed = false;
  c.on('data', (d: Buffer) => {
    raw = Buffer.concat([raw, d]);
    if (!head) {
      const end = raw.indexOf('\r\n\r\n');
      if (end < 0) return;
      head = raw.subarray(0, end).toString();
      raw = raw.subarray(end + 4);
    }
    while (raw.length >= 2) {
      let len = raw[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        len = raw.readUInt16BE(2);
        at = 4;
      }
      if (raw.length < at + len) break;
      frames.push({ opcode: raw[0]! & 0x0f, payload: raw.subarray(at, at + len) });
      raw = raw.subarray(at + len);
    }
  });
  c.on('close', () => {
    closed = true;
  });
  c.on('error', () => undefined);
  c.write(
    `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const send = (text: string, opcode = 0x1): void => {
    const payload = Buffer.from(text);
    const mask = crypto.randomBytes(4);
    const masked = Buffer.from(payload.map((b, i) => b ^ mask[i & 3]!));
    c.write(Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), mask, masked]));
  };
  const accept = crypto.createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  return {
    head: () => head,
    accept,
    frames,
    data: () => Buffer.concat(frames.filter((f) => f.opcode === 0x2).map((f) => f.payload)).toString(),
    send,
    closed: () => closed,
  };
}

test.serial(
  'output comes as binary frames, stdout and stderr unmultiplexed; stdin from text frames; a close at the end',
  async (t) => {
    const { w } = t.context;
    const id = await w.ok([
      'create',
      '-i',
      '--network',
      'none',
      'busybox',
      'sh',
      '-c',
      'read line; echo got-$line; echo err-x >&2',
    ]);
    t.teardown(() => w.cli(['rm', '-f', id]));
    const ws = wsConnect(w.socket, `/v1.45/containers/${id}/attach/ws?stream=1&stdin=1&stdout=1&stderr=1`);
    await eventually(() => ws.head() !== '');
    t.regex(ws.head(), /^HTTP\/1\.1 101 /);
    t.true(ws.head().includes(`Sec-WebSocket-Accept: ${ws.accept}`), ws.head());
    await w.ok(['start', id]);
    ws.send('hello\n');
    await eventually(() => ws.data().includes('err-x\n'), 15_000);
    t.is(ws.data(), 'got-hello\nerr-x\n', 'the bytes as the process wrote them, no 8-byte headers');
    t.true(
      ws.frames.every((f) => f.opcode === 0x2 || f.opcode === 0x8),
      'binary frames',
    );
    await eventually(() => ws.closed(), 15_000);
    t.is(ws.frames.at(-1)?.opcode, 0x8, 'a close frame at the end');
  },
);

test.serial('logs of an exited container; without a websocket upgrade: one line, 400', async (t) => {
  const { w } = t.context;
  const id = await w.ok(['run', '-d', '--network', 'none', 'busybox', 'sh', '-c', 'printf hi-there; echo x >&2']);
  t.teardown(() => w.cli(['rm', '-f', id]));
  await w.ok(['wait', id]);
  const ws = wsConnect(w.socket, `/v1.45/containers/${id}/attach/ws?logs=1&stdout=1&stream=0`);
  await eventually(() => ws.closed(), 15_000);
  t.is(ws.data(), 'hi-there', 'stdout only, as asked');
  const plain = await api(w.socket, { path: `/containers/${id}/attach/ws?logs=1` });
  t.is(plain.status, 400);
  t.is((plain.json as { message: string }).message, 'attach/ws is a websocket: send Upgrade: websocket with a Sec-WebSocket-Key');
});
