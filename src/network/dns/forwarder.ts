/**
 * Forwarding queries the resolver does not answer itself to the host's nameservers.
 *
 * - Sockets are made normally, i.e. in the daemon's own network namespace (so host-loopback
 *   upstreams such as 127.0.0.53 work, like Docker's HostLoopback path).
 * - UDP: one connected socket per attempt (kernel-chosen random source port, and ICMP port
 *   unreachable surfaces at once as ECONNREFUSED), a fresh random query id, replies matched by
 *   id and question. TCP queries are forwarded over TCP (2-byte length framing).
 * - Upstreams are tried in order. An attempt that fails or gets SERVFAIL/REFUSED/NOTIMP moves on
 *   at once; one that stays silent for its share of the time left moves on too, but keeps
 *   listening: the first good reply from any attempt wins. After `timeoutMs` overall the
 *   caller gets `undefined` (it answers SERVFAIL), or the last SERVFAIL/REFUSED seen.
 * - At most `maxInFlight` forwards at once (Docker: 1024); beyond that, `undefined` at once.
 * Nothing is cached.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import { TsnetError } from '../../errors/index.js';
import { tryParseIp } from '../../lib/cidr.js';
import { HEADER_SIZE, RCODE, readName } from './message.js';
import type { Logger } from '../../lib/logger.js';

export interface Upstream {
  host: string;
  port: number;
  family: 4 | 6;
}

/** Parse "1.2.3.4", "1.2.3.4:5353", "fd00::1" or "[fd00::1]:5353". */
export function parseUpstream(text: string): Upstream {
  const fail = (why: string): TsnetError => new TsnetError('TSNET_INVALID_ARGUMENT', `invalid DNS upstream "${text}": ${why}`);
  let host = text;
  let port = 53;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracket) {
    host = bracket[1]!;
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if ((text.match(/:/g) ?? []).length === 1) {
    const [h, p] = text.split(':') as [string, string];
    host = h;
    if (!/^\d+$/.test(p)) throw fail('the port is not a number');
    port = Number(p);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw fail('the port must be 1-65535');
  const ip = tryParseIp(host);
  if (!ip) throw fail('expected an IP address, optionally with :port');
  return { host, port, family: ip.family };
}

export function formatUpstream(u: Upstream): string {
  return u.family === 6 ? `[${u.host}]:${u.port}` : `${u.host}:${u.port}`;
}

export interface ForwarderOptions {
  upstreams: Upstream[];
  /** Overall time for one forward before giving up. */
  timeoutMs: number;
  maxInFlight: number;
  logger?: Logger | undefined;
}

export interface Forwarder {
  /**
   * Forward a raw query (as received; its id is restored in the reply). Resolves with the raw
   * reply, or undefined when no upstream gave a usable one in time. Never rejects.
   */
  forward(query: Uint8Array, transport: 'udp' | 'tcp'): Promise<Buffer | undefined>;
  /** Abort every forward in flight (they resolve undefined) and refuse new ones. */
  close(): void;
}

/** End offset of the question section, or -1 when it cannot be read. */
function questionEnd(buf: Uint8Array): number {
  if (buf.length < HEADER_SIZE) return -1;
  const qd = (buf[4]! << 8) | buf[5]!;
  let pos = HEADER_SIZE;
  try {
    for (let i = 0; i < qd; i++) {
      pos = readName(buf, pos).next + 4;
      if (pos > buf.length) return -1;
    }
  } catch {
    return -1;
  }
  return pos;
}

const lower = (c: number): number => (c >= 0x41 && c <= 0x5a ? c | 0x20 : c);

/** Same question section (ASCII case-insensitive; uncompressed in queries). */
function sameQuestion(query: Uint8Array, qEnd: number, reply: Uint8Array): boolean {
  if (reply.length < qEnd || reply[4] !== query[4] || reply[5] !== query[5]) return false;
  for (let i = HEADER_SIZE; i < qEnd; i++) if (lower(query[i]!) !== lower(reply[i]!)) return false;
  return true;
}

type Verdict = 'good' | 'retry';

/** Check a reply against the forwarded query; restores the client's id in it. */
function judge(reply: Buffer, sentId: number, clientId: number, query: Uint8Array, qEnd: number): Verdict | 'ignore' {
  if (reply.length < HEADER_SIZE) return 'ignore';
  if (reply.readUInt16BE(0) !== sentId || (reply[2]! & 0x80) === 0) return 'ignore';
  const qd = reply.readUInt16BE(4);
  const rcode = reply[3]! & 0x0f;
  if (qd === 0 ? rcode === RCODE.NOERROR : !sameQuestion(query, qEnd, reply)) return 'ignore';
  reply.writeUInt16BE(clientId, 0);
  return rcode === RCODE.SERVFAIL || rcode === RCODE.REFUSED || rcode === RCODE.NOTIMP ? 'retry' : 'good';
}

interface AttemptHooks {
  /** A reply that passed `judge` ('good' or 'retry'). */
  reply(answer: Buffer, verdict: Verdict): void;
  fail(err: Error): void;
}

type StartAttempt = (u: Upstream, payload: Buffer, hooks: AttemptHooks) => () => void;

/** dgram's lookup for IP literals, answering synchronously (no resolver round trip). */
export function literalLookup(
  address: string,
  _opts: unknown,
  cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  cb(null, address, address.includes(':') ? 6 : 4);
}

const startUdp: StartAttempt = (u, payload, hooks) => {
  const sock = dgram.createSocket({ type: u.family === 4 ? 'udp4' : 'udp6', lookup: literalLookup });
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    sock.close();
  };
  sock.on('error', (err) => {
    close();
    hooks.fail(err);
  });
  sock.on('message', (msg) => hooks.reply(msg, 'good'));
  // dgram calls this callback with the error (not an 'error' event) when connect fails,
  // e.g. ENETUNREACH when the upstream has no route from the daemon's netns.
  sock.connect(u.port, u.host, (err?: Error) => {
    if (closed) return;
    if (err) {
      close();
      hooks.fail(err);
      return;
    }
    sock.send(payload);
  });
  return close;
};

const startTcp: StartAttempt = (u, payload, hooks) => {
  const sock = net.connect({ host: u.host, port: u.port });
  sock.setNoDelay(true);
  let buf = Buffer.alloc(0);
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    sock.destroy();
  };
  sock.on('connect', () => {
    const frame = Buffer.alloc(2 + payload.length);
    frame.writeUInt16BE(payload.length, 0);
    payload.copy(frame, 2);
    sock.write(frame);
  });
  sock.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 2) {
      const len = buf.readUInt16BE(0);
      if (buf.length < 2 + len) break;
      const msg = Buffer.from(buf.subarray(2, 2 + len));
      buf = buf.subarray(2 + len);
      hooks.reply(msg, 'good');
    }
  });
  sock.on('error', (err) => {
    close();
    hooks.fail(err);
  });
  sock.on('close', () => {
    if (!closed) {
      closed = true;
      hooks.fail(new Error('connection closed without an answer'));
    }
  });
  return close;
};

export function createForwarder(opts: ForwarderOptions): Forwarder {
  const log = opts.logger;
  const cancels = new Set<() => void>();
  let closed = false;

  const forward = (query: Uint8Array, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> => {
    const ups = opts.upstreams;
    if (closed || ups.length === 0 || query.length < HEADER_SIZE) return Promise.resolve(undefined);
    if (cancels.size >= opts.maxInFlight) {
      log?.debug(`dns: ${cancels.size} forwards in flight, refusing one more`);
      return Promise.resolve(undefined);
    }
    const qEnd = questionEnd(query);
    if (qEnd < 0) return Promise.resolve(undefined);
    const clientId = (query[0]! << 8) | query[1]!;
    const start = transport === 'udp' ? startUdp : startTcp;
    const deadline = Date.now() + opts.timeoutMs;

    return new Promise((resolve) => {
      const attempts: Array<{ stop: () => void; live: boolean }> = [];
      let next = 0;
      let done = false;
      let fallback: Buffer | undefined;
      let slotTimer: NodeJS.Timeout | undefined;
      let endTimer: NodeJS.Timeout | undefined;

      const finish = (answer: Buffer | undefined): void => {
        if (done) return;
        done = true;
        clearTimeout(slotTimer);
        clearTimeout(endTimer);
        for (const a of attempts) a.stop();
        cancels.delete(cancel);
        resolve(answer);
      };
      const cancel = (): void => finish(undefined);
      cancels.add(cancel);
      endTimer = setTimeout(() => {
        log?.debug(`dns: no upstream answered within ${opts.timeoutMs} ms`);
        finish(fallback);
      }, opts.timeoutMs);

      const launch = (): void => {
        if (done) return;
        clearTimeout(slotTimer);
        if (next >= ups.length) {
          if (attempts.every((a) => !a.live)) finish(fallback);
          return;
        }
        const index = next++;
        const u = ups[index]!;
        const sentId = randomInt(0, 0x10000);
        const payload = Buffer.from(query);
        payload.writeUInt16BE(sentId, 0);
        const attempt = { stop: () => {}, live: true };
        attempts.push(attempt);
        const settle = (): void => {
          if (!attempt.live) return;
          attempt.live = false;
          attempt.stop();
          // Move on now if this was the newest attempt, or end if nothing is left to wait for.
          if (index === next - 1 || attempts.every((a) => !a.live)) launch();
        };
        attempt.stop = start(u, payload, {
          reply(answer) {
            if (done || !attempt.live) return;
            const verdict = judge(answer, sentId, clientId, query, qEnd);
            if (verdict === 'ignore') return;
            if (verdict === 'good') {
              finish(answer);
              return;
            }
            log?.debug(`dns: upstream ${formatUpstream(u)} answered rcode ${answer[3]! & 0x0f}, trying the next`);
            fallback = answer;
            settle();
          },
          fail(err) {
            if (done || !attempt.live) return;
            log?.debug(`dns: upstream ${formatUpstream(u)} over ${transport}: ${err.message}`);
            settle();
          },
        });
        const left = ups.length - index;
        const slot = Math.max(1, Math.floor((deadline - Date.now()) / left));
        if (left > 1) slotTimer = setTimeout(launch, slot);
      };
      launch();
    });
  };

  return {
    forward,
    close() {
      closed = true;
      for (const c of [...cancels]) c();
    },
  };
}
