/**
 * The `netlink` package's rtnetlink socket (its encoders, parsers and typed requests) carried
 * over a synchronous socket (./sync-socket.ts) instead of the package's poll-driven one: every
 * request is answered before `request()` returns, so a sandbox's setup (lo up, addresses,
 * link up, routes) costs no event-loop turn per request. The package's RtNetlinkSocket only
 * needs `request` and `on` of the socket it wraps (and ./conn.ts its `close`); that is what
 * this provides.
 */
import { EventEmitter } from 'node:events';
import { RtNetlinkSocket } from 'netlink';
import { errnoOf } from '../errno.js';
import type { NlReply, SyncNetlink } from './sync-socket.js';

interface PackageMessage {
  type: number;
  flags: number;
  seq: number;
  port: number;
  data: Buffer;
}

const asBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

export function syncRtSocket(nl: SyncNetlink): RtNetlinkSocket {
  const socket = Object.assign(new EventEmitter(), {
    close: () => nl.close(),
    async request(
      type: number,
      data: Uint8Array | Uint8Array[],
      options: { flags?: number } = {},
    ): Promise<[PackageMessage[], { port: number; groups: number }]> {
      const body = Buffer.concat((Array.isArray(data) ? data : [data]).map(asBuffer));
      let replies: NlReply[][];
      try {
        replies = nl.transact([{ type, flags: options.flags ?? 0, body, op: 'rtnetlink request' }]);
      } catch (err) {
        // as the package rejects, so that the callers' errno handling (ENODEV, EEXIST …) holds
        const errno = errnoOf(err) ?? 'EIO';
        throw Object.assign(new Error(`Request rejected: ${errno}`), { code: errno });
      }
      const msgs = replies[0]!.map((r) => ({ type: r.type, flags: r.flags, seq: 0, port: 0, data: r.body }));
      return [msgs, { port: 0, groups: 0 }];
    },
  });
  return new RtNetlinkSocket(socket as never);
}
