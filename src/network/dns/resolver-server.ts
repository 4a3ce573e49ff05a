/**
 * One embedded resolver per container sandbox, served by the daemon process (Docker's
 * 127.0.0.11 design): a UDP socket and a TCP listener on 127.0.0.11:<random> created inside
 * the container's netns, answering container names locally and forwarding the rest.
 *
 * Namespaces: `inNetns(fn)` holds the main thread in the netns only while `fn` runs, so both
 * sockets are created and bound synchronously inside it:
 *   - UDP: dgram with a `lookup` that calls back synchronously, so bind() binds at once (the
 *     default dns.lookup would defer the socket's creation past the switch back). Checked
 *     right after: the socket must already report its address.
 *   - TCP: socket(2)+bind(2) through koffi (src/kernel/tcp-socket.ts), then `listen({ fd })` outside.
 * Forwarding sockets are made outside `inNetns`, i.e. in the daemon's netns.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { TsnetError, asTsnetError } from '../../errors/index.js';
import { closeQuietly } from '../../lib/quiet-fs.js';
import { buildReply, errorReply, MAX_TCP_SIZE, udpLimit } from './answer.js';
import { createForwarder, literalLookup, parseUpstream, type Forwarder } from './forwarder.js';
import { decodeMessage, findOpt, HEADER_SIZE, OPCODE_QUERY, RCODE, typeName, type DnsMessage } from './message.js';
import { resolveLocal, type LocalSource, type LookupFn, type ReverseFn } from './records.js';
import { RESOLVER_IP } from './sandbox-rules.js';
import { createTcpBinder, type TcpBinder } from '../../kernel/tcp-socket.js';
import type { Logger } from '../../lib/logger.js';

export interface ResolverOptions {
  /** Run `fn` synchronously with the main thread in the container's netns, then switch back. */
  inNetns: <T>(fn: () => T) => T;
  lookup: LookupFn;
  reverse?: ReverseFn | undefined;
  /** Host nameservers: 'ip' or 'ip:port' ('[v6]:port'). Tried in order. */
  upstreams: string[];
  logger?: Logger | undefined;
  /** TTL of local answers, seconds. Default 600 (Docker). */
  ttl?: number | undefined;
  /** Time for a forwarded query before SERVFAIL, ms. Default 2000. */
  timeoutMs?: number | undefined;
  /** Concurrent forwards before new ones get SERVFAIL. Default 1024 (Docker). */
  maxForwards?: number | undefined;
  /** Idle TCP connections are closed after this many ms. Default 10000. */
  tcpIdleMs?: number | undefined;
  /** Where to bind inside the netns. Default 127.0.0.11. */
  address?: string | undefined;
  /**
   * Ports to bind (the ones a resolver of this sandbox had before a daemon restart); default: any
   * free ones. Taken ports make startResolver fail.
   */
  ports?: { udp: number; tcp: number } | undefined;
  /** Makes the TCP socket's fd; default createTcpBinder() (koffi). Share one across resolvers. */
  tcpBinder?: TcpBinder | undefined;
  /**
   * Sockets already bound in the container's netns (made ahead, src/kernel/netns-worker.ts):
   * wrapped as they are, without a switch of namespace; `address` and `ports` are then theirs.
   * They are closed when the resolver cannot start.
   */
  bound?: { udpFd: number; tcpFd: number } | undefined;
}

export interface Resolver {
  udpPort: number;
  tcpPort: number;
  /** Stop serving and free both ports; in-flight forwards are dropped. Idempotent. */
  close(): Promise<void>;
}

/** Queries one TCP connection may have pending before reading from it pauses. */
const TCP_PIPELINE = 32;
const TCP_MAX_CONNECTIONS = 256;

type Reply = Buffer | undefined;

interface Handler {
  handle(raw: Buffer, transport: 'udp' | 'tcp'): Reply | Promise<Reply>;
}

/** The query → reply logic, without sockets (exported for tests). */
export function createHandler(src: LocalSource, forwarder: Forwarder, log?: Logger): Handler {
  const servfail = (raw: Buffer, q: DnsMessage): Reply => errorReply(raw, RCODE.SERVFAIL, q.questions, findOpt(q) !== undefined);
  const handle = (raw: Buffer, transport: 'udp' | 'tcp'): Reply | Promise<Reply> => {
    if (raw.length < HEADER_SIZE) return undefined;
    if ((raw[2]! & 0x80) !== 0) return undefined; // a response: never answer those
    let q: DnsMessage;
    try {
      q = decodeMessage(raw);
    } catch (err) {
      log?.debug(`dns: ${(err as Error).message}`);
      return errorReply(raw, RCODE.FORMERR);
    }
    const hadOpt = findOpt(q) !== undefined;
    if (q.flags.opcode !== OPCODE_QUERY) return errorReply(raw, RCODE.NOTIMP, q.questions, hadOpt);
    if (q.questions.length !== 1) return errorReply(raw, RCODE.FORMERR, q.questions, hadOpt);
    const question = q.questions[0]!;
    try {
      const decision = resolveLocal(question, src);
      if (decision.kind === 'answer') {
        const maxSize = transport === 'udp' ? udpLimit(q) : MAX_TCP_SIZE;
        return buildReply(q, RCODE.NOERROR, decision.records, { maxSize, authoritative: true });
      }
    } catch (err) {
      log?.debug(`dns: local answer for ${question.name} ${typeName(question.type)} failed: ${(err as Error).message}`);
      return servfail(raw, q);
    }
    return forwarder.forward(raw, transport).then((answer) => answer ?? servfail(raw, q));
  };
  return {
    handle(raw, transport) {
      // Nothing a client sends may throw out of here: it would reach a socket event handler.
      try {
        const r = handle(raw, transport);
        return r instanceof Promise ? r.catch(() => undefined) : r;
      } catch (err) {
        log?.debug(`dns: dropped a query: ${(err as Error).message}`);
        return undefined;
      }
    },
  };
}

export async function startResolver(opts: ResolverOptions): Promise<Resolver> {
  const log = opts.logger;
  const address = opts.address ?? RESOLVER_IP;
  const upstreams = opts.upstreams.map(parseUpstream);
  const ttl = opts.ttl ?? 600;
  const timeoutMs = opts.timeoutMs ?? 2000;
  const maxForwards = opts.maxForwards ?? 1024;
  const tcpIdleMs = opts.tcpIdleMs ?? 10_000;
  for (const [k, v] of Object.entries({ ttl, timeoutMs, maxForwards, tcpIdleMs })) {
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
      throw new TsnetError('TSNET_INVALID_ARGUMENT', `resolver option ${k} must be a non-negative integer, got ${String(v)}`);
    }
  }
  const binder = opts.tcpBinder ?? createTcpBinder();

  // --- Both sockets are made inside the netns, synchronously.
  let udpError: Error | undefined;
  const onEarlyUdpError = (err: Error): void => {
    udpError = err;
  };
  const made = (): { udp: dgram.Socket; tcpFd: number } => {
    if (opts.bound) return wrapBound(opts.bound, onEarlyUdpError);
    return opts.inNetns(() => {
      const sock = dgram.createSocket({ type: 'udp4', lookup: literalLookup });
      sock.on('error', onEarlyUdpError);
      sock.bind({ address, port: opts.ports?.udp ?? 0, exclusive: true });
      let bound = udpError === undefined;
      if (bound) {
        try {
          sock.address();
        } catch {
          bound = false;
        }
      }
      if (!bound) {
        sock.close();
        const why = udpError?.message ?? 'dgram did not bind synchronously; the socket would be in the wrong netns';
        throw new TsnetError('TSNET_DNS', `bind resolver UDP socket to ${address}: ${why}`, { cause: udpError });
      }
      try {
        return { udp: sock, tcpFd: binder(address, opts.ports?.tcp ?? 0) };
      } catch (err) {
        sock.close();
        throw err;
      }
    });
  };
  const { udp, tcpFd } = made();
  udp.off('error', onEarlyUdpError);
  udp.on('error', (err) => log?.debug(`dns: UDP socket: ${err.message}`));

  const forwarder = createForwarder({ upstreams, timeoutMs, maxInFlight: maxForwards, logger: log });
  const handler = createHandler(
    {
      lookup: opts.lookup,
      reverse: opts.reverse,
      ttl,
      onBadAddress: (n, t, a) => log?.debug(`dns: lookup(${n}, ${t}) gave invalid address "${a}", skipped`),
    },
    forwarder,
    log,
  );
  let closed = false;

  // --- UDP
  udp.on('message', (msg, rinfo) => {
    const send = (reply: Reply): void => {
      if (reply === undefined || closed) return;
      udp.send(reply, rinfo.port, rinfo.address, (err) => {
        if (err) log?.debug(`dns: UDP reply to ${rinfo.address}:${rinfo.port}: ${err.message}`);
      });
    };
    const r = handler.handle(msg, 'udp');
    if (r instanceof Promise) void r.then(send);
    else send(r);
  });

  // --- TCP
  const conns = new Set<net.Socket>();
  const server = net.createServer((sock) => serveTcp(sock));
  server.maxConnections = TCP_MAX_CONNECTIONS;
  server.on('error', (err) => log?.debug(`dns: TCP server: ${err.message}`));

  const serveTcp = (sock: net.Socket): void => {
    conns.add(sock);
    sock.setNoDelay(true);
    sock.setTimeout(tcpIdleMs, () => sock.destroy());
    sock.on('error', (err) => log?.debug(`dns: TCP client: ${err.message}`));
    sock.on('close', () => conns.delete(sock));
    let buf: Buffer = Buffer.alloc(0);
    let pending = 0;
    let paused = false;
    const deliver = (reply: Reply): void => {
      pending--;
      if (reply !== undefined && !sock.destroyed && !closed) {
        const frame = Buffer.alloc(2 + reply.length);
        frame.writeUInt16BE(reply.length, 0);
        reply.copy(frame, 2);
        sock.write(frame);
      }
      if (paused && pending < TCP_PIPELINE) {
        paused = false;
        sock.resume();
      }
    };
    sock.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const query = Buffer.from(buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
        pending++;
        const r = handler.handle(query, 'tcp');
        if (r instanceof Promise) void r.then(deliver);
        else deliver(r);
      }
      if (pending >= TCP_PIPELINE && !paused) {
        paused = true;
        sock.pause();
      }
    });
  };

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ fd: tcpFd, backlog: 128 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    forwarder.close();
    udp.close();
    server.close();
    // tcpFd is not closed here: once Node wrapped it, the server closed it, and closing the
    // number again could hit an fd reused meanwhile. listen(2) on a fresh bound socket does
    // not fail in practice.
    throw asTsnetError(err, 'TSNET_DNS', `listen on resolver TCP socket ${address}`);
  }

  const udpPort = udp.address().port;
  const tcpAddr = server.address();
  const tcpPort = typeof tcpAddr === 'object' && tcpAddr !== null ? tcpAddr.port : 0;
  log?.debug(`dns: resolver on ${address} udp ${udpPort} tcp ${tcpPort}, upstreams ${opts.upstreams.join(', ') || '(none)'}`);

  let closing: Promise<void> | undefined;
  return {
    udpPort,
    tcpPort,
    close() {
      closing ??= (async () => {
        closed = true;
        forwarder.close();
        const udpDone = new Promise<void>((resolve) => udp.close(() => resolve()));
        const tcpDone = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const c of conns) c.destroy();
        await Promise.all([udpDone, tcpDone]);
      })();
      return closing;
    },
  };
}

/** dgram around a UDP socket bound elsewhere (its fd); the TCP fd is listened on by the caller. */
function wrapBound(b: { udpFd: number; tcpFd: number }, onError: (err: Error) => void): { udp: dgram.Socket; tcpFd: number } {
  const sock = dgram.createSocket({ type: 'udp4' });
  sock.on('error', onError);
  let wrapped = false;
  try {
    sock.bind({ fd: b.udpFd });
    wrapped = true; // the socket's handle owns the fd from here on: its close closes it
    sock.address(); // throws when the fd is not a bound socket
  } catch (err) {
    sock.close();
    if (!wrapped) closeQuietly(b.udpFd);
    closeQuietly(b.tcpFd);
    throw new TsnetError('TSNET_DNS', `resolver UDP socket made ahead (fd ${b.udpFd}): ${(err as Error).message}`, {
      cause: err,
    });
  }
  return { udp: sock, tcpFd: b.tcpFd };
}
