/**
 * The thread of ./netns-maker.ts: makes network namespaces (bind-mounted at a file, lo up) on
 * its own thread, so the kernel's wait in unshare(CLONE_NEWNET) (the net mutex that the cleanup
 * of removed namespaces holds) never blocks the daemon's main thread. unshare and setns act on
 * the calling thread only; this thread goes back to its first namespace after each one.
 *
 * With `dns` it also readies the namespace for an embedded resolver: a UDP and a TCP socket
 * bound to `dns.ip`, port 0, inside it (fds of the process, handed over by number), and the nft
 * batch that maps `dns.ip`:53 to their ports (firewall/nftables/sandbox-dns.ts, through
 * libnftables on this thread; its context's socket on one of the low fds the daemon reserved
 * for this thread at start, workerData).
 *
 * Messages in: MakeRequest; out: `{ id, dns? }` when `file` is a netns as ./netns-birth.ts makes
 * one (and `dns` ready when asked; `dnsError` when that part failed, then nothing of it is left),
 * `{ id, error }` when not (then nothing is left at `file`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createNftRunner, type NftRunner } from './firewall/nftables/runner.js';
import { createLowFdSlots, type ReservedLowFds } from './firewall/nftables/low-fds.js';
import { applySandboxDns } from './firewall/nftables/sandbox-dns.js';
import { loadLibc } from './libc.js';
import { Netlink } from './netlink/index.js';
import { createSyncNetlinkOpener, NETLINK_ROUTE, type SyncNetlink } from './netlink/sync-socket.js';
import { createNetnsOps } from './netns.js';
import { makeReadyNetns } from './netns-birth.js';
import { createSocketBinder } from './tcp-socket.js';

export interface MakeRequest {
  id: number;
  file: string;
  /** Ready a resolver's sockets and DNS rules for this address (127.0.0.11). */
  dns?: { ip: string };
}

/** A resolver's sockets, bound inside a namespace, and the ports its DNS rules point at. */
export interface BoundDns {
  udpFd: number;
  tcpFd: number;
  udpPort: number;
  tcpPort: number;
}

export interface MakeAnswer {
  id: number;
  /**
   * The rtnetlink socket that brought lo up, open in the namespace (a synchronous socket's fd,
   * for SyncNetlinkOpener.adopt): the create that takes the entry needs no switch into it to open one.
   */
  nlFd?: number;
  error?: string;
  dns?: BoundDns;
  dnsError?: string;
}

/** What the daemon gives the thread at its start. */
export interface NetnsWorkerData {
  lowFds?: ReservedLowFds;
}

const port = parentPort;
if (port) {
  const netns = createNetnsOps(loadLibc());
  const opener = createSyncNetlinkOpener();
  const data = (workerData ?? {}) as NetnsWorkerData;
  let binder: ReturnType<typeof createSocketBinder> | undefined;
  let nft: NftRunner | undefined;
  port.on('message', (m: MakeRequest) => {
    void make(m).then(
      (a) => port.postMessage(a),
      (err: Error) => port.postMessage({ id: m.id, error: err.message } satisfies MakeAnswer),
    );
  });

  async function make(m: MakeRequest): Promise<MakeAnswer> {
    let sock: SyncNetlink | undefined;
    const nl = await makeReadyNetns(netns, m.file, () => {
      sock = opener.open(NETLINK_ROUTE);
      return Netlink.overSync(sock);
    });
    // the socket goes with the answer (the taker's to use and close); the wrapper closes nothing
    const nlFd = sock!.release();
    nl.close();
    if (!m.dns) return { id: m.id, nlFd };
    try {
      return { id: m.id, nlFd, dns: await readyDns(m.file, m.dns.ip) };
    } catch (err) {
      return { id: m.id, nlFd, dnsError: (err as Error).message };
    }
  }

  async function readyDns(file: string, ip: string): Promise<BoundDns> {
    binder ??= createSocketBinder();
    const b = binder;
    const fds: number[] = [];
    try {
      netns.run(file, () => {
        fds.push(b.udp(ip, 0));
        fds.push(b.tcp(ip, 0));
      });
      const [udpFd, tcpFd] = fds as [number, number];
      const bound = { udpFd, tcpFd, udpPort: b.port(udpFd), tcpPort: b.port(tcpFd) };
      nft ??= createNftRunner({
        mode: 'lib',
        inNetns: (f, fn) => netns.run(f, fn),
        ...(data.lowFds ? { lowFds: createLowFdSlots(data.lowFds) } : {}),
      });
      await applySandboxDns(nft, { netns: file, resolverIp: ip, udpPort: bound.udpPort, tcpPort: bound.tcpPort, fresh: true });
      return bound;
    } catch (err) {
      for (const fd of fds) b.close(fd);
      throw err;
    }
  }
}
