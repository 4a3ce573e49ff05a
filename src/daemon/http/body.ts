/**
 * Request bodies: read with a size limit, checked for nesting depth before JSON.parse (a
 * 10 000-deep array parses fine and then overflows the stack of whatever walks it).
 */
import type { IncomingMessage } from 'node:http';
import type net from 'node:net';
import { TsnetError } from '../../errors/index.js';

/** Largest JSON body the API reads (a container create with a big Env is a few KiB). */
export const MAX_JSON_BODY = 4 * 1024 * 1024;
/** Deepest JSON nesting accepted (Docker's create body is 5 levels deep). */
export const MAX_JSON_DEPTH = 64;

function tooLarge(): TsnetError {
  return new TsnetError('TSNET_INVALID_ARGUMENT', `request body too large: at most ${MAX_JSON_BODY} bytes`);
}

export async function readBody(
  req: IncomingMessage,
  upgrade?: { socket: net.Socket; head: Buffer },
  limit = MAX_JSON_BODY,
): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0) || 0;
  if (declared > limit) throw tooLarge();
  if (!upgrade) {
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of req) {
      n += (c as Buffer).length;
      if (n > limit) throw tooLarge();
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks);
  }
  // Upgrade requests: node hands us the socket; the body (if any) follows the headers.
  let buf = upgrade.head;
  while (buf.length < declared) {
    const chunk = await new Promise<Buffer | null>((resolve) => {
      upgrade.socket.once('data', (d: Buffer) => resolve(d));
      upgrade.socket.once('end', () => resolve(null));
    });
    if (chunk === null) break;
    upgrade.socket.pause();
    buf = Buffer.concat([buf, chunk]);
  }
  if (buf.length > declared) upgrade.socket.unshift(buf.subarray(declared));
  return buf.subarray(0, declared);
}

/** Parse a JSON body after checking its nesting depth without recursion. */
export function parseJsonBody(buf: Buffer, maxDepth = MAX_JSON_DEPTH): unknown {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth)
        throw new TsnetError('TSNET_INVALID_ARGUMENT', `request body nested too deep: at most ${maxDepth} levels`);
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    throw new TsnetError('TSNET_INVALID_ARGUMENT', 'the request body is not valid JSON');
  }
}
