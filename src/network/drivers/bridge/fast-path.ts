/**
 * The container ↔ container fast path of a bridge network (decision 59): the host end of every
 * endpoint's veth carries the peer-redirect program (src/kernel/peer-redirect-program.ts) as its
 * ingress filter, and the network's table maps each endpoint's addresses (IPv4 and IPv6) and MAC
 * to its host end. An IP frame from one container to another of the same network then goes from the
 * sender's host end straight into the receiver's namespace: no bridge, no br_netfilter pass
 * through the host's IP hooks, no second trip through the backlog. Everything else (ARP, IPv6
 * neighbour discovery to multicast, broadcast, the gateway, published ports, other networks)
 * takes the bridge as before.
 *
 * One table per network: a frame can only be redirected to an endpoint of the network it came
 * from, so isolation between networks holds whatever MAC or address a container writes. Off for
 * a network with enable_icc=false (its rule drops container ↔ container traffic on the bridge)
 * and with com.tsnet.bridge.fast_path=false (for an admin who filters that traffic in
 * TSNET-USER or watches it on the bridge). An optimisation only: where the kernel cannot (no
 * bpf(2) rights) or a step fails, the traffic takes the bridge and the reason is logged.
 *
 * Lifetimes: the maps and programs are the daemon's fds; a filter holds its program (and that
 * its map) until its veth goes. A restarted daemon makes new tables and replaces the filter of
 * every veth there (restore), which lets the old programs and maps go. An entry leaves its
 * table before its veth: no frame is sent to a host end that is going.
 */
import type { Logger } from '../../../lib/logger.js';
import type { PeerRedirect, PeerTable } from '../../../kernel/peer-redirect.js';

export interface FastPathDeps {
  redirect: PeerRedirect | undefined;
  /** ifindex of a link of the daemon's netns, 0 when it has none of that name. */
  nameToIndex: (name: string) => number;
  /** The program as the ingress filter of a link (rtnetlink, the host's socket). */
  attach: (ifindex: number, programFd: number, name: string) => Promise<void>;
  /** The link's ingress filter goes (none: nothing to do). */
  detach: (ifindex: number) => Promise<void>;
  logger: Logger;
}

export interface FastPath {
  addNetwork(networkId: string): void;
  dropNetwork(networkId: string): void;
  /**
   * The endpoint's host end `veth` takes the program; its addresses (CIDRs) go into the table once
   * the filter is there. Never fails; a caller need not wait (a container's start does not: until
   * it settles its frames take the bridge), and a leave meanwhile cancels it.
   */
  join(
    networkId: string,
    endpointId: string,
    veth: string,
    addresses: Array<string | undefined>,
    mac: string,
    opts?: { delayMs?: number },
  ): Promise<void>;
  /**
   * A restart's counterpart of join when the daemon has no fast path (tsnetd --no-bridge-fast-path,
   * or the kernel refused): the filter an earlier daemon put on `veth` goes, so that its old
   * program (and map, no longer kept up to date) stops redirecting. Never fails (logs).
   */
  forget(veth: string): Promise<void>;
  /**
   * A restarted daemon's join of an endpoint whose veth is still there (the filters outlive the
   * daemon, decision 59): its filter replaced at once (no JOIN_DELAY_MS: the restore waits for
   * it), or, when this daemon has no fast path, taken off (forget).
   */
  restore(networkId: string, endpointId: string, veth: string, addresses: Array<string | undefined>, mac: string): Promise<void>;
  /** Idempotent: its address leaves the table (the filter goes with the veth). */
  leave(networkId: string, endpointId: string): void;
  /** False once the kernel refused a table (no bpf(2) rights): no network has the fast path then. */
  available(): boolean;
  /** The networks with a table and the endpoints in them (tests, logs). */
  describe(): { networks: number; endpoints: number };
}

const MAX_ENTRIES = 65536;

/**
 * How long a join waits before it attaches (decision 62): past the end of the request that made
 * the endpoint (a create answers in ~5 ms, a `run`'s start follows it), so that the filter's
 * netlink requests and map updates (~0.3 ms of the daemon's thread) are not on the path of
 * the create or the start a user waits for. Until then the frames take the bridge; a container
 * that is gone sooner (`run --rm` of a short command) never gets a filter.
 */
export const JOIN_DELAY_MS = 20;

export function createFastPath(deps: FastPathDeps): FastPath {
  let redirect = deps.redirect;
  const tables = new Map<string, PeerTable>();
  const entries = new Map<string, { networkId: string; ips: string[] }>();
  /** Joins whose filter is being attached: a leave meanwhile cancels what they would put. */
  const pending = new Map<string, { cancelled: boolean }>();
  const key = (nid: string, eid: string) => `${nid}/${eid}`;

  const leave = (networkId: string, endpointId: string): void => {
    const k = key(networkId, endpointId);
    const job = pending.get(k);
    if (job) {
      job.cancelled = true;
      pending.delete(k);
    }
    const e = entries.get(k);
    if (!e) return;
    entries.delete(k);
    for (const ip of e.ips)
      try {
        tables.get(networkId)?.remove(ip);
      } catch (err) {
        deps.logger.warn(`bridge fast path: ${(err as Error).message}`);
      }
  };

  const api: FastPath = {
    addNetwork(networkId) {
      if (!redirect || tables.has(networkId)) return;
      try {
        tables.set(networkId, redirect.table(`tsnet_${networkId.slice(0, 8)}`, MAX_ENTRIES));
      } catch (err) {
        redirect = undefined;
        deps.logger.info(`bridge: container ↔ container fast path off (the traffic takes the bridge): ${(err as Error).message}`);
      }
    },

    dropNetwork(networkId) {
      for (const [k, e] of [...entries]) if (e.networkId === networkId) entries.delete(k);
      tables.get(networkId)?.close();
      tables.delete(networkId);
    },

    async join(networkId, endpointId, veth, addresses, mac, opts = {}) {
      const t = tables.get(networkId);
      if (!t) return;
      leave(networkId, endpointId);
      const ips = addresses.flatMap((a) => (a ? [a.split('/')[0]!] : []));
      const put: string[] = [];
      const k = key(networkId, endpointId);
      const job = { cancelled: false };
      pending.set(k, job);
      try {
        // after the request that made the endpoint (restore: after the caller's turn)
        const delay = opts.delayMs ?? JOIN_DELAY_MS;
        await new Promise((resolve) => (delay > 0 ? setTimeout(resolve, delay) : setImmediate(resolve)));
        if (job.cancelled) return;
        const ifindex = deps.nameToIndex(veth);
        if (!ifindex) return;
        await deps.attach(ifindex, t.program, t.name);
        // (synchronous from here: a leave cannot come between the check and the puts)
        if (job.cancelled || tables.get(networkId) !== t) return;
        for (const ip of ips) {
          t.put(ip, ifindex, mac);
          put.push(ip);
        }
        entries.set(k, { networkId, ips: put });
      } catch (err) {
        for (const ip of put)
          try {
            t.remove(ip);
          } catch {
            /* the map is going */
          }
        deps.logger.warn(`bridge fast path for ${veth} (its traffic takes the bridge): ${(err as Error).message}`);
      } finally {
        if (pending.get(k) === job) pending.delete(k);
      }
    },

    leave,

    async forget(veth) {
      const ifindex = deps.nameToIndex(veth);
      if (!ifindex) return;
      try {
        await deps.detach(ifindex);
      } catch (err) {
        deps.logger.warn(`bridge fast path: the filter of ${veth} stays: ${(err as Error).message}`);
      }
    },

    restore: (networkId, endpointId, veth, addresses, mac) =>
      redirect ? api.join(networkId, endpointId, veth, addresses, mac, { delayMs: 0 }) : api.forget(veth),

    available: () => redirect !== undefined,

    describe: () => ({ networks: tables.size, endpoints: entries.size }),
  };
  return api;
}
