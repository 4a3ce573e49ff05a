/**
 * Network namespaces made off the main thread: `make(file)` leaves a new netns bind-mounted at
 * `file` with lo up, made by a thread of its own (./netns-worker.ts). Making a namespace blocks
 * its caller for as long as the kernel makes it wait (unshare takes the net mutex, which the
 * cleanup of removed namespaces holds: 1–20 ms on this box); on that thread the daemon goes on
 * serving requests meanwhile. The thread starts on the first `make` and is not kept alive for
 * its own sake (unref). A thread that dies fails what it was doing; the next `make` starts a
 * new one. With `dns`, the namespace also gets an embedded resolver's sockets and DNS rules
 * (./netns-worker.ts); their fds are the caller's to use or close.
 */
import { TsnetError } from '../errors/index.js';
import { workerClient } from '../lib/worker-module.js';
import type { ReservedLowFds } from './firewall/nftables/low-fds.js';
import type { BoundDns, MakeAnswer, MakeRequest, NetnsWorkerData } from './netns-worker.js';

export type { BoundDns } from './netns-worker.js';

/** A namespace made: with its resolver's sockets when asked and ready, else why not (`dnsError`). */
export interface MadeNetns {
  /** An rtnetlink socket open in the namespace (SyncNetlinkOpener.adopt); the caller's to use or close. */
  nlFd?: number;
  dns?: BoundDns;
  dnsError?: string;
}

export interface NetnsMaker {
  /**
   * A new netns at `file` (which must not exist), lo up; with `dns`, a resolver's sockets bound to
   * that address inside it and the DNS rules pointing at them. Nothing is left at `file` on failure.
   */
  make(file: string, opts?: { dns?: string }): Promise<MadeNetns>;
  /** Stop the thread (what it was doing fails). */
  close(): Promise<void>;
}

/** `lowFds`: fds reserved while the daemon was young, for the thread's libnftables contexts. */
export function createNetnsMaker(opts: { lowFds?: ReservedLowFds } = {}): NetnsMaker {
  const client = workerClient<Omit<MakeRequest, 'id'>, MakeAnswer>(import.meta.url, 'netns-worker', {
    workerData: { ...(opts.lowFds ? { lowFds: opts.lowFds } : {}) } satisfies NetnsWorkerData,
    failure: (why) => new TsnetError('TSNET_NETNS', `netns thread: ${why}`),
  });
  return {
    async make(file, o = {}) {
      const a = await client.send({ file, ...(o.dns ? { dns: { ip: o.dns } } : {}) });
      if (a.error !== undefined) throw new TsnetError('TSNET_NETNS', a.error);
      return {
        ...(a.nlFd !== undefined ? { nlFd: a.nlFd } : {}),
        ...(a.dns ? { dns: a.dns } : {}),
        ...(a.dnsError ? { dnsError: a.dnsError } : {}),
      };
    },
    close: () => client.close(),
  };
}
