/**
 * Sandboxes: one network namespace per container, a file under `<exec-root>/netns/`, made before
 * the container's process exists (DESIGN "process model"). Loopback is brought up here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Netlink, type LinkCounters } from '../kernel/netlink/index.js';
import type { Netns } from '../kernel/netns.js';
import type { Logger } from '../lib/logger.js';
import { NETLINK_ROUTE, type SyncNetlinkOpener } from '../kernel/netlink/sync-socket.js';
import { closeQuietly } from '../lib/quiet-fs.js';
import type { NetnsMaker } from '../kernel/netns-maker.js';
import { makeReadyNetns } from '../kernel/netns-birth.js';
import { closeDns, SandboxPool } from './sandbox-pool.js';
import type { BoundDns } from '../kernel/netns-maker.js';

/**
 * One container's network namespace for the length of one operation (create, start, connect,
 * disconnect): its netns file and the one netlink socket of that namespace (DESIGN rule 4),
 * opened on first use and handed to the drivers and the gateway route. The caller closes it.
 */
export class Sandbox {
  private nl: Netlink | undefined;

  constructor(
    readonly file: string,
    private readonly open: () => Netlink,
    /** Called once, at the first close (the create that took a pool entry is done with it). */
    private onClose?: () => void,
    /** The embedded resolver's sockets and rules, made ahead with a pool entry (SandboxPool). */
    private dns?: BoundDns,
  ) {}

  /** The resolver's sockets made ahead in this namespace, handed over once (the taker closes them). */
  takeDns(): BoundDns | undefined {
    const d = this.dns;
    this.dns = undefined;
    return d;
  }

  get netlink(): Netlink {
    this.nl ??= this.open();
    return this.nl;
  }

  /** Use `nl`, a socket already open in this namespace, as its one socket (closed at close()). */
  withNetlink(nl: Netlink): this {
    this.nl?.close();
    this.nl = nl;
    return this;
  }

  close(): void {
    this.nl?.close();
    this.nl = undefined;
    // not taken by a resolver (the create failed first): the rules go with the namespace
    const dns = this.takeDns();
    if (dns) closeDns(dns);
    const done = this.onClose;
    this.onClose = undefined;
    done?.();
  }
}

export class Sandboxes {
  /** Namespaces made ahead (./sandbox-pool.ts); absent or size 0: off. */
  private readonly pool: SandboxPool | undefined;
  /** Closes an entry's socket a handle never used (default: fs.closeSync). */
  private readonly closeFd: ((fd: number) => void) | undefined;

  /**
   * `opener`: sandbox sockets are synchronous (src/kernel/netlink/sync-transport.ts), each
   * request answered with no event-loop turn.
   */
  constructor(
    private readonly netns: Netns,
    private readonly dir: string,
    private readonly opener: SyncNetlinkOpener,
    pool?: { size: number; logger: Logger; maker: NetnsMaker; closeFd?: (fd: number) => void },
  ) {
    netns.ensurePrivateDir(dir);
    if (pool && pool.size > 0) {
      this.pool = new SandboxPool({
        netns,
        dir,
        size: pool.size,
        make: (file, o) => pool.maker.make(file, o),
        closeMaker: () => pool.maker.close(),
        logger: pool.logger,
        ...(pool.closeFd ? { closeFd: pool.closeFd } : {}),
      });
      this.closeFd = pool.closeFd;
    }
  }

  /**
   * Fill the pool (after the start-up sweep, which removes a dead daemon's entries). `dns`: the
   * embedded resolver's address when entries may carry its sockets and rules (SandboxPool).
   */
  startPool(opts: { dns?: string } = {}): void {
    this.pool?.start(opts);
  }

  /** Remove the pool's entries (daemon stop). */
  async stopPool(): Promise<void> {
    await this.pool?.stop();
  }

  pathFor(containerId: string): string {
    return path.join(this.dir, containerId.slice(0, 12));
  }

  exists(file: string): boolean {
    return this.netns.exists(file);
  }

  /**
   * Make the netns as kernel/netns-birth.ts makes one (sysctls written, lo up); returns it open
   * (the caller closes it). Idempotent. `dns`: the sandbox will get the embedded resolver (a pool
   * entry may have its sockets ready: takeDns).
   */
  async create(containerId: string, opts: { dns?: boolean } = {}): Promise<Sandbox> {
    const file = this.pathFor(containerId);
    if (this.netns.isNetnsMount(file)) return this.handle(file);
    // a plain file left by a take a crash interrupted (stat, no exception when there is none)
    if (this.netns.exists(file)) fs.rmSync(file, { force: true });
    // a namespace from the pool already has lo up; the pool refills once the create's network
    // work is done with it (the handle closed), not while that work runs
    const pool = this.pool;
    const taken = pool?.take(file, opts);
    if (pool && taken) {
      // the entry's own socket, open in the namespace, is the handle's (else one is opened in it)
      let nlFd = taken.nlFd;
      const open = (): Netlink => {
        if (nlFd === undefined) return this.openIn(file);
        const fd = nlFd;
        nlFd = undefined;
        return Netlink.overSync(this.opener.adopt(fd, NETLINK_ROUTE));
      };
      const done = (): void => {
        if (nlFd !== undefined) closeQuietly(nlFd, this.closeFd);
        nlFd = undefined;
        pool.refillSoon();
      };
      return new Sandbox(file, open, done, taken.dns);
    }
    // as the pool's thread makes its entries; the socket that brought lo up is the sandbox's
    return this.handle(file).withNetlink(await makeReadyNetns(this.netns, file, () => Netlink.openSync(this.opener)));
  }

  /** An existing sandbox, for one operation (the caller closes it). */
  handle(file: string): Sandbox {
    return new Sandbox(file, () => this.openIn(file));
  }

  /** A netlink socket bound to the sandbox's namespace (caller closes it). */
  openIn(file: string): Netlink {
    return this.netns.run(file, () => Netlink.openSync(this.opener));
  }

  /** Counters of every interface but lo in the sandbox (`docker stats` networks), read by netlink. */
  async interfaceStats(file: string): Promise<Record<string, LinkCounters>> {
    const nl = this.openIn(file);
    try {
      const out: Record<string, LinkCounters> = {};
      for (const l of await nl.listLinks()) if (l.name !== 'lo' && l.stats) out[l.name] = l.stats;
      return out;
    } finally {
      nl.close();
    }
  }

  remove(file: string): void {
    this.netns.remove(file);
  }

  /** remove, the unmount waited for on a thread of libuv's pool (the teardown after a `run --rm`). */
  removeAsync(file: string): Promise<void> {
    return this.netns.removeAsync(file);
  }

  /** Files in the netns dir (for the start-up sweep). */
  list(): string[] {
    try {
      return fs.readdirSync(this.dir).map((n) => path.join(this.dir, n));
    } catch {
      return [];
    }
  }
}
