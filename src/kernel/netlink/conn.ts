/**
 * One rtnetlink socket bound to one network namespace (DESIGN rule 4), plus the two things
 * every operation needs: error wrapping with the operation's name, and name → ifindex lookup.
 */
import { EventEmitter } from 'node:events';
import { createRtNetlink, type RtNetlinkSocket } from 'netlink';
import { linkByNameRequest } from './encode.js';
import { netlinkError } from './errors.js';
import { KeyedMutex } from '../../lib/keyed-mutex.js';

const RTM_GETLINK = 18;

/** A link named by its name (looked up per call) or by its ifindex (no lookup). */
export type LinkRef = string | number;

export interface ConnOptions {
  /** Per-request timeout in ms (default 10 000). A request that times out fails with ETIMEDOUT. */
  timeoutMs?: number;
}

/** A new rtnetlink socket in the current net namespace of the calling thread. Synchronous. */
export function openRtSocket(): RtNetlinkSocket {
  try {
    return createRtNetlink();
  } catch (err) {
    throw netlinkError('open rtnetlink socket', err);
  }
}

export class NetlinkConn {
  readonly sock: RtNetlinkSocket;
  readonly timeoutMs: number;
  private closed = false;
  /** One request on the socket at a time (see run). */
  private readonly lock = new KeyedMutex();
  /** The last asynchronous socket error (e.g. ENOBUFS), kept so it is not an uncaught 'error' event. */
  lastSocketError: Error | undefined;

  constructor(sock: RtNetlinkSocket, options: ConnOptions = {}) {
    this.sock = sock;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    // An 'error' event without a listener would crash the process.
    sock.socket.on('error', (err) => {
      this.lastSocketError = err;
    });
    // A throw inside the package's receive handler happens in a native poll callback and aborts
    // the process: catch it here and keep it as the socket's last error instead.
    const raw = sock.socket as unknown;
    const handlers = raw instanceof EventEmitter ? (raw.listeners('message') as Array<(...a: unknown[]) => void>) : [];
    if (raw instanceof EventEmitter && handlers.length) raw.removeAllListeners('message');
    for (const h of handlers) {
      (raw as EventEmitter).on('message', (...args: unknown[]) => {
        try {
          h(...args);
        } catch (err) {
          this.lastSocketError = err as Error;
          process.emitWarning(`netlink receive handler failed: ${(err as Error).stack ?? String(err)}`);
        }
      });
    }
    // The package re-emits the raw socket's errors on the wrapper; without a listener there,
    // the throw happens inside the native poll callback and aborts the whole process.
    if ((sock as unknown) instanceof EventEmitter) {
      (sock as unknown as EventEmitter).on('error', (err: Error) => {
        this.lastSocketError = err;
      });
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Options for every request: the timeout. */
  opts<T extends object>(extra?: T): T & { timeout: number } {
    return { ...(extra ?? ({} as T)), timeout: this.timeoutMs };
  }

  /**
   * Run one kernel interaction; any failure becomes TSNET_NETLINK "<op>: <ERRNO>".
   *
   * Requests on the socket go one at a time: the kernel allows one dump per socket (a second
   * one fails with EBUSY), and the package keeps a single multipart buffer, so an ACK arriving
   * in the middle of a dump breaks it ("Multipart message not terminated properly"). `fn` must
   * not call `run` itself.
   */
  run<T>(op: string, fn: (sock: RtNetlinkSocket) => Promise<T>): Promise<T> {
    return this.lock.run('socket', async () => {
      try {
        if (this.closed) throw Object.assign(new Error('socket closed'), { code: 'EBADF' });
        return await fn(this.sock);
      } catch (err) {
        throw netlinkError(op, err);
      }
    });
  }

  /**
   * One request whose body is already bytes (./wire.ts); its answer is the ack alone. Same
   * socket call, lock and error wrapping as `run`, without the package's message objects.
   */
  async send(op: string, type: number, body: Buffer, flags = 0): Promise<void> {
    await this.run(op, (s) => s.socket.request(type, [body], this.opts({ flags })));
  }

  /**
   * ifindex of a link; a missing name fails as "<op>: ENODEV". The answer is read raw (the index
   * is the ifinfomsg's second field) and asked without counters: a whole parsed link message
   * cost ~4 requests' time, and every address, route or master change by name needs one.
   */
  async indexOf(ref: LinkRef, op: string): Promise<number> {
    if (typeof ref === 'number') return ref;
    const [msgs] = await this.run(op, (s) => s.socket.request(RTM_GETLINK, linkByNameRequest(ref), this.opts()));
    const body = msgs[0]?.data;
    const index = body && body.length >= 8 ? body.readInt32LE(4) : 0;
    if (!index) throw netlinkError(op, Object.assign(new Error('no such link'), { code: 'ENODEV' }));
    return index;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Not synchronously: a close() reached from the promise of the last reply runs in the
    // microtasks of the native receive callback, and closing there frees the callback's async
    // context under it (the process aborts with "terminate called … Napi::Error").
    setImmediate(() => this.sock.socket.close());
  }
}

/** `{index}` or `{}` + `{ifname}`: how a link is named in an ifinfomsg request. */
export function linkSelector(ref: LinkRef): { data: { index?: number }; attrs: { ifname?: string } } {
  return typeof ref === 'number' ? { data: { index: ref }, attrs: {} } : { data: {}, attrs: { ifname: ref } };
}

export function describe(ref: LinkRef): string {
  return typeof ref === 'number' ? `#${ref}` : ref;
}
