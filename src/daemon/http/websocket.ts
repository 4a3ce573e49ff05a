/**
 * The server side of RFC 6455 that Docker's `GET /containers/{id}/attach/ws` speaks: the
 * handshake answer, binary frames out (API 1.28+: Docker sends output as binary frames, stdout
 * and stderr unframed), and the client's masked frames in — text, binary and continuation
 * payloads become the session's stdin, a ping is answered, a close ends it. Frames larger than
 * MAX_FRAME are refused (the connection is closed). Pure apart from the streams it returns.
 */
import crypto from 'node:crypto';
import { Duplex, Transform, Writable } from 'node:stream';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Largest client frame taken (stdin keystrokes and pastes; Docker's library reads any size). */
export const MAX_FRAME = 1 << 20;

export function acceptKey(key: string): string {
  return crypto
    .createHash('sha1')
    .update(key + GUID)
    .digest('base64');
}

/** A valid Sec-WebSocket-Key: base64 of 16 bytes. */
export function validKey(key: string | undefined): key is string {
  return typeof key === 'string' && /^[A-Za-z0-9+/]{22}==$/.test(key);
}

export function handshake(key: string): string {
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`;
}

/** One unmasked server frame (FIN set). */
export function encodeFrame(payload: Buffer, opcode = 0x2): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.alloc(2) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = 0x80 | opcode;
  if (n < 126) head[1] = n;
  else if (n < 65536) {
    head[1] = 126;
    head.writeUInt16BE(n, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

export interface FrameEvents {
  /** A control frame to send back (pong, close). */
  reply: (frame: Buffer) => void;
  /** The client closed, or sent something this end does not take. */
  close: () => void;
}

/** Client frames → their data payloads; control frames go to `events`. */
export function frameDecoder(events: FrameEvents): Transform {
  let buf: Buffer = Buffer.alloc(0);
  let closed = false;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (closed) return done();
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      const out: Buffer[] = [];
      for (;;) {
        if (buf.length < 2) break;
        const opcode = buf[0]! & 0x0f;
        const masked = (buf[1]! & 0x80) !== 0;
        let len = buf[1]! & 0x7f;
        let at = 2;
        if (len === 126) {
          if (buf.length < 4) break;
          len = buf.readUInt16BE(2);
          at = 4;
        } else if (len === 127) {
          if (buf.length < 10) break;
          const big = buf.readBigUInt64BE(2);
          len = big > BigInt(MAX_FRAME) ? MAX_FRAME + 1 : Number(big);
          at = 10;
        }
        if (!masked || len > MAX_FRAME) {
          // RFC 6455: a client's frames are masked; an oversized one is not taken
          closed = true;
          events.reply(encodeFrame(Buffer.from([0x03, 0xea]), 0x8)); // 1002 protocol error
          events.close();
          break;
        }
        if (buf.length < at + 4 + len) break;
        const mask = buf.subarray(at, at + 4);
        const payload = Buffer.from(buf.subarray(at + 4, at + 4 + len));
        for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
        buf = buf.subarray(at + 4 + len);
        if (opcode === 0x0 || opcode === 0x1 || opcode === 0x2) out.push(payload);
        else if (opcode === 0x9) events.reply(encodeFrame(payload, 0xa));
        else if (opcode === 0x8) {
          closed = true;
          events.reply(encodeFrame(payload.subarray(0, 2), 0x8));
          events.close();
          break;
        }
      }
      done(null, out.length ? Buffer.concat(out) : undefined);
    },
  });
}

/**
 * A session over an upgraded socket: reads are the client's data payloads, writes go out as
 * binary frames, and the end sends a close frame.
 */
export function websocketSession(socket: Duplex): Duplex {
  const send = (frame: Buffer): void => {
    if (!socket.destroyed && socket.writable) socket.write(frame);
  };
  const input = frameDecoder({
    reply: send,
    close: () => {
      input.end();
      socket.end();
    },
  });
  socket.pipe(input);
  const output = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (socket.destroyed || !socket.writable) return done();
      socket.write(encodeFrame(chunk), () => done());
    },
    final(done) {
      send(encodeFrame(Buffer.from([0x03, 0xe8]), 0x8)); // 1000 normal closure
      socket.end();
      done();
    },
  });
  const session = Duplex.from({ readable: input, writable: output });
  socket.on('close', () => session.destroy());
  socket.on('error', () => session.destroy());
  return session;
}
