/**
 * The form of an attached output stream. Docker picks it per session, not per process: an exec's
 * start request says `Tty`, and a session started with `Tty: false` gets the multiplexed form
 * (8-byte frame headers) even when the process has a tty, while one started with `Tty: true`
 * gets plain bytes. The supervisor sends what the process has (raw for a tty, framed without),
 * so a session that asks for the other form gets one of these transforms in between. Pure.
 */
import { Transform } from 'node:stream';

const HEADER = 8;

/** Raw tty bytes → stdout frames. */
export function framer(): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const header = Buffer.alloc(HEADER);
      header[0] = 1;
      header.writeUInt32BE(chunk.length, 4);
      done(null, Buffer.concat([header, chunk]));
    },
  });
}

/** Frames → their payloads, stdout and stderr alike; frames may arrive split across chunks. */
export function deframer(): Transform {
  let pending = Buffer.alloc(0);
  let left = 0; // payload bytes still to pass on from the current frame
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      pending = Buffer.alloc(0);
      const out: Buffer[] = [];
      while (buf.length > 0) {
        if (left > 0) {
          const n = Math.min(left, buf.length);
          out.push(buf.subarray(0, n));
          buf = buf.subarray(n);
          left -= n;
          continue;
        }
        if (buf.length < HEADER) {
          pending = Buffer.from(buf);
          break;
        }
        left = buf.readUInt32BE(4);
        buf = buf.subarray(HEADER);
      }
      done(null, out.length ? Buffer.concat(out) : undefined);
    },
  });
}
