/**
 * A few network namespaces made ahead, with lo up, so that a container's create takes one
 * instead of making it: the unshare, the bind mount and lo's netlink request leave the create
 * path. Size 0 (tsnetd --netns-pool 0): off.
 *
 * Entries are tsnet's own objects, named `<netns dir>/pool-<12 hex>`:
 * - a take moves an entry's mount to the container's sandbox file (MS_MOVE) — an entry is
 *   never shared, copied or handed out twice;
 * - the daemon's stop removes every entry (`stop`, which first waits for a fill under way);
 * - after a kill -9 the entries are left, and the start-up sweep removes them with every
 *   other netns file no container record explains (a namespace a dead daemon made is not
 *   reused); the pool is filled only after the sweep;
 * - a crash in the middle of a take leaves at most an empty plain file, swept the same way.
 * Entries are made by a thread of their own (`make`: src/kernel/netns-maker.ts), one at a
 * time, from the moment the create that took one is done with it (`refillSoon`; at the latest
 * REFILL_DELAY_MS after the take, src/lib/refill-schedule.ts): the daemon's thread only moves a mount. (When
 * the main thread made them, a refill had to wait for 250 ms without a take — it blocked the
 * thread, and the kernel makes unshare wait while it cleans up removed namespaces — so creates
 * a user ran one after another, or the bench's loop, always found the pool empty.) In a burst
 * faster than the thread the pool empties and creates make their own namespace, as without a
 * pool.
 *
 * Entries for the embedded DNS (decision 44): when the last take was for a sandbox with the
 * embedded resolver (a user-defined network) and `dns` is set (the firewall programs sandbox DNS
 * as the nft table the thread can write), the thread also binds the resolver's UDP and TCP
 * sockets inside the entry and programs the DNS rules for their ports; the take hands the fds to
 * the create, whose resolver wraps them (no namespace switch, no rule write on the create's
 * thread). An entry's kind follows the takes: a create with the resolver takes an entry with it
 * if there is one, else a plain one (and makes its resolver as without a pool); a create without
 * it never takes an entry with it (its rules would stay in the container's namespace): when
 * only such entries are ready they are removed and the create makes its own namespace. Their fds
 * are closed when an entry goes (stop, mismatch); after a kill -9 they die with the process and
 * the entry's namespace is swept as any.
 *
 * Every entry also carries the rtnetlink socket the thread brought lo up with, open in its
 * namespace (decision 52): the create's bridge join and gateway route use it, so the create's
 * thread opens none (no switch into the namespace and back, no socket and option calls). It is
 * closed with the entry, or by the sandbox handle that took it.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { closeQuietly } from '../lib/quiet-fs.js';
import type { Logger } from '../lib/logger.js';
import type { Netns } from '../kernel/netns.js';
import type { BoundDns, MadeNetns } from '../kernel/netns-maker.js';
import { RefillSchedule } from '../lib/refill-schedule.js';

export const POOL_PREFIX = 'pool-';

export interface SandboxPoolDeps {
  netns: Netns;
  /** The netns dir (its entries live beside the sandboxes). */
  dir: string;
  size: number;
  /**
   * Make an entry: a new netns at the file, lo up (with `dns`: the resolver's sockets and rules
   * for that address); rejects (leaving nothing) on failure.
   */
  make: (file: string, opts: { dns?: string }) => Promise<MadeNetns | undefined>;
  /** Close a socket fd of an entry that goes unused (default: fs.closeSync). */
  closeFd?: (fd: number) => void;
  /** Stop what makes entries (after the last one). */
  closeMaker?: () => Promise<void>;
  logger: Logger;
}

interface Entry {
  file: string;
  /** The rtnetlink socket the thread brought lo up with, open in the namespace. */
  nlFd?: number;
  dns?: BoundDns;
}

/**
 * What a take moved to its target: the entry's rtnetlink socket and resolver sockets when it
 * has them (the taker's to use and close).
 */
export interface PoolTake {
  nlFd?: number;
  dns?: BoundDns;
}

export class SandboxPool {
  private readonly ready: Entry[] = [];
  /** The embedded resolver's address when entries may carry its sockets and rules (start()). */
  private dnsIp: string | undefined;
  /** Whether the last take wanted the resolver: the kind the next entries are made as. */
  private wantDns = false;
  private readonly refill: RefillSchedule;

  constructor(private readonly d: SandboxPoolDeps) {
    // full of the other kind: a stale entry is replaced
    this.refill = new RefillSchedule({
      wanted: () => this.ready.length < d.size || this.stale() !== undefined,
      fill: () => this.fillOne(),
    });
  }

  get size(): number {
    return this.d.size;
  }

  /** Entries ready now. */
  get available(): number {
    return this.ready.length;
  }

  /**
   * Start filling (call after the start-up sweep). `dns`: the resolver's address, when entries
   * may be made with its sockets and rules (see above).
   */
  start(opts: { dns?: string } = {}): void {
    if (this.d.size <= 0) return;
    this.dnsIp = opts.dns;
    this.refill.start();
  }

  /**
   * Move a ready namespace (lo up) to `target`, a path that does not exist; undefined when none
   * is ready. `dns`: the sandbox gets the embedded resolver (an entry with its sockets and rules
   * is preferred; one without them never goes to a sandbox without it).
   */
  take(target: string, opts: { dns?: boolean } = {}): PoolTake | undefined {
    const want = opts.dns === true;
    this.wantDns = want;
    let i = this.ready.findIndex((e) => (e.dns !== undefined) === want);
    if (i < 0 && want) i = this.ready.findIndex((e) => e.dns === undefined);
    if (i < 0) {
      // only entries with DNS rules, for a create without the resolver: they go, the next are plain
      for (const e of this.ready.splice(0)) this.drop(e);
      this.refill.taken();
      return undefined;
    }
    const [entry] = this.ready.splice(i, 1);
    this.refill.taken();
    if (!entry) return undefined;
    try {
      this.d.netns.move(entry.file, target);
      return { ...(entry.nlFd !== undefined ? { nlFd: entry.nlFd } : {}), ...(entry.dns ? { dns: entry.dns } : {}) };
    } catch (err) {
      this.d.logger.warn(`netns pool: ${(err as Error).message}`);
      this.drop(entry);
      return undefined;
    }
  }

  /** The create that took an entry is done with it: refill now (on the maker's thread). */
  refillSoon(): void {
    this.refill.soon();
  }

  /** Remove every entry and stop refilling (daemon stop); an entry under way is waited for and removed. */
  async stop(): Promise<void> {
    const filling = this.refill.stop();
    for (const e of this.ready.splice(0)) this.drop(e);
    await filling;
    await this.d.closeMaker?.().catch((err: Error) => this.d.logger.warn(`netns pool: ${err.message}`));
  }

  /** A plain entry while entries are made with the resolver: replaced at the next fill. */
  private stale(): Entry | undefined {
    return this.wantDns && this.dnsIp !== undefined ? this.ready.find((e) => e.dns === undefined) : undefined;
  }

  private async fillOne(): Promise<void> {
    // full of the other kind: one goes first (off the create: this runs once it is done)
    const old = this.ready.length >= this.d.size ? this.stale() : undefined;
    if (old) {
      this.ready.splice(this.ready.indexOf(old), 1);
      this.drop(old);
    }
    const file = path.join(this.d.dir, `${POOL_PREFIX}${crypto.randomBytes(6).toString('hex')}`);
    const dns = this.wantDns ? this.dnsIp : undefined;
    try {
      const made = await this.d.make(file, dns ? { dns } : {});
      if (made?.dnsError) {
        // the entry is plain; no more DNS entries from this daemon (a kernel or library without it)
        this.dnsIp = undefined;
        this.d.logger.warn(`netns pool: no DNS rules made ahead (${made.dnsError}); the resolver is made at each create`);
      }
      const entry: Entry = {
        file,
        ...(made?.nlFd !== undefined ? { nlFd: made.nlFd } : {}),
        ...(made?.dns ? { dns: made.dns } : {}),
      };
      // stopped meanwhile: the entry is not kept
      if (this.refill.stopped) this.drop(entry);
      else this.ready.push(entry);
    } catch (err) {
      this.drop({ file });
      this.d.logger.warn(`netns pool: ${(err as Error).message}; no refill until the next take`);
      throw err;
    }
  }

  private drop(e: Entry): void {
    if (e.nlFd !== undefined) closeQuietly(e.nlFd, this.d.closeFd);
    if (e.dns) closeDns(e.dns, this.d.closeFd);
    try {
      this.d.netns.remove(e.file);
    } catch (err) {
      this.d.logger.warn(`netns pool: remove ${e.file}: ${(err as Error).message}`);
    }
  }
}

/** Close a resolver's sockets that nobody wrapped (best effort). */
export function closeDns(dns: BoundDns, close?: (fd: number) => void): void {
  for (const fd of [dns.udpFd, dns.tcpFd]) closeQuietly(fd, close);
}
