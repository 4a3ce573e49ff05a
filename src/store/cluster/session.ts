/**
 * The connection to etcd as a loop: lease → register → list → watch → keepalive, and on any
 * failure (watch broken, keepalive failed, lease gone, an operation that could not reach etcd)
 * back to the start with a backoff, forever until closed. What is registered, and what the
 * listing and the watch events mean, is the caller's business (hooks); this file only knows
 * when etcd is usable.
 *
 * The lease is kept across an outage when etcd still knows it (etcd extends leases when it
 * restarts); otherwise a new one is granted and the caller re-puts its keys under it.
 */
import type { IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import { reasonOf, toKv, type EtcdKv, type Kv } from './etcd.js';
import type { Logger } from '../../lib/logger.js';

export interface SessionHooks {
  /** Put this node's keys under `lease` (registration, re-publication, queued deletes). */
  register(lease: string): Promise<void>;
  /** The full listing of the watched prefix, taken after register. */
  listed(kvs: Kv[]): void;
  put(kv: Kv): void;
  deleted(key: string, revision: string): void;
  /** The watch has delivered everything up to `revision`. */
  watchedTo(revision: string): void;
  /** Usable again after a (re)synchronisation, or lost (with the reason). */
  status(available: boolean, reason?: string): void;
}

export interface SessionOptions {
  /** The prefix every daemon mirrors (one watch). */
  prefix: string;
  leaseTtlSeconds: number;
  retryMinMs: number;
  retryMaxMs: number;
  logger: Logger;
  /** For log lines: "cluster store etcd://…". */
  name: string;
}

type State = 'idle' | 'syncing' | 'ready' | 'unavailable' | 'closed';

export class ClusterSession {
  private state: State = 'idle';
  private why: string | undefined;
  private lease: string | undefined;
  private watcher: Watcher | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private keepaliveGen = 0;
  private wake: ((reason: string) => void) | undefined;
  private count = 0;
  private done: Promise<void> | undefined;
  private readyWaiters: Array<() => void> = [];

  constructor(
    private readonly kv: EtcdKv,
    private readonly o: SessionOptions,
    private readonly hooks: SessionHooks,
  ) {}

  get ready(): boolean {
    return this.state === 'ready';
  }
  get closed(): boolean {
    return this.state === 'closed';
  }
  /** Why etcd is not usable (the last error), when it is not. */
  get reason(): string | undefined {
    return this.state === 'ready' ? undefined : this.why;
  }
  get leaseId(): string | undefined {
    return this.lease;
  }
  /** Completed (re)synchronisations. */
  get syncs(): number {
    return this.count;
  }

  /** Start the loop (once); true when etcd became usable within `timeoutMs`. */
  async start(timeoutMs: number): Promise<boolean> {
    if (this.state === 'closed') return false;
    this.done ??= this.loop();
    if (this.state === 'ready') return true;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((w) => w !== ok);
        resolve(false);
      }, timeoutMs);
      const ok = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.readyWaiters.push(ok);
    });
  }

  /** etcd turned out to be unreachable: leave 'ready' and resynchronise. */
  trouble(reason: string): void {
    if (this.state !== 'ready') return;
    this.why = reason;
    const w = this.wake;
    this.wake = undefined;
    w?.(reason);
  }

  /** Stop keepalives and the watch (waiting up to 1 s for etcd to acknowledge its cancel). */
  async stop(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.stopKeepalive();
    const cancelled = this.stopWatch();
    this.wake?.('closed');
    await Promise.race([cancelled, new Promise<void>((r) => setTimeout(r, 1000).unref())]);
  }

  /** Resolves when the loop has ended (after stop()). */
  async finished(): Promise<void> {
    await this.done?.catch(() => undefined);
  }

  // ------------------------------------------------------------------ the loop

  private async loop(): Promise<void> {
    let delay = this.o.retryMinMs;
    let everReady = false;
    while (this.state !== 'closed') {
      this.state = 'syncing';
      try {
        await this.sync();
        if (this.isClosed()) break;
        this.state = 'ready';
        this.why = undefined;
        this.count++;
        delay = this.o.retryMinMs;
        this.o.logger.info(`${this.o.name}: ${everReady ? 'resynchronised' : 'connected'} (lease ${this.lease})`);
        everReady = true;
        this.hooks.status(true);
        for (const w of this.readyWaiters.splice(0)) w();
        const reason = await new Promise<string>((resolve) => {
          this.wake = resolve;
        });
        if (this.isClosed()) break;
        this.stopKeepalive();
        void this.stopWatch();
        this.state = 'unavailable';
        this.why = reason;
        this.o.logger.warn(`${this.o.name} lost: ${reason}; running traffic is untouched, changes are refused until it is back`);
        this.hooks.status(false, reason);
      } catch (err) {
        if (this.isClosed()) break;
        this.stopKeepalive();
        void this.stopWatch();
        // (subscribers were told when the outage began; a failed retry changes nothing)
        this.state = 'unavailable';
        this.why = reasonOf(err);
        this.o.logger.debug(`${this.o.name}: sync failed: ${this.why}; retrying in ${delay} ms`);
        await this.sleep(delay);
        delay = Math.min(this.o.retryMaxMs, delay * 2);
      }
    }
  }

  /** The state may change while awaiting (stop()). */
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** Lease, register, list, watch, keepalive. Throws when etcd cannot be reached. */
  private async sync(): Promise<void> {
    // stop() may come at any await: nothing may be started after it
    const open = (): void => {
      if (this.isClosed()) throw new Error('closed');
    };
    void this.stopWatch();
    if (this.lease) {
      const ttl = await this.kv.keepAliveOnce(this.lease);
      if (ttl <= 0) {
        this.o.logger.info(`${this.o.name}: node lease ${this.lease} expired; registering again`);
        this.lease = undefined;
      }
    }
    open();
    this.lease ??= await this.kv.grantLease(this.o.leaseTtlSeconds);
    open();
    await this.hooks.register(this.lease);
    open();
    const listing = await this.kv.getPrefix('list cluster state', this.o.prefix);
    open();
    this.hooks.listed(listing.kvs);
    await this.startWatch((BigInt(listing.revision) + 1n).toString());
    open();
    this.startKeepalive();
  }

  private startWatch(fromRevision: string): Promise<void> {
    const w = this.kv.watchPrefix(this.o.prefix, fromRevision);
    this.watcher = w;
    if (this.isClosed()) {
      void this.stopWatch();
      return Promise.reject(new Error('closed'));
    }
    const gone = (why: string) => (err?: Error) => {
      if (this.watcher === w) this.trouble(`watch ${why}${err ? `: ${reasonOf(err)}` : ''}`);
    };
    w.on('put', (kv: IKeyValue) => {
      if (this.watcher === w) this.hooks.put(toKv(kv));
    });
    w.on('delete', (kv: IKeyValue) => {
      if (this.watcher !== w) return;
      const k = toKv(kv);
      this.hooks.deleted(k.key, k.modRevision);
    });
    w.on('data', (res: IWatchResponse) => {
      if (this.watcher === w && res.header?.revision) this.hooks.watchedTo(String(res.header.revision));
    });
    w.on('disconnected', gone('disconnected'));
    w.on('error', gone('failed'));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error('the watch was not established in time'));
      }, this.kv.opTimeoutMs);
      const ok = (): void => {
        cleanup();
        resolve();
      };
      const fail = (err?: Error): void => {
        cleanup();
        reject(err ?? new Error('the watch failed'));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        w.off('connected', ok);
        w.off('disconnected', fail);
        w.off('error', fail);
      };
      w.on('connected', ok);
      w.on('disconnected', fail);
      w.on('error', fail);
    });
  }

  private stopWatch(): Promise<void> {
    const w = this.watcher;
    this.watcher = undefined;
    if (!w) return Promise.resolve();
    // Listeners stay (they ignore a watcher that is not current): etcd3's detach waits for
    // this watcher's 'connected'/'end' events, and removing its listeners would strand it.
    return w.cancel().catch(() => undefined);
  }

  private startKeepalive(): void {
    this.stopKeepalive();
    if (this.isClosed()) return;
    const every = Math.max(250, Math.floor((this.o.leaseTtlSeconds * 1000) / 3));
    const lease = this.lease!;
    const gen = ++this.keepaliveGen;
    const tick = async (): Promise<void> => {
      if (gen !== this.keepaliveGen) return;
      try {
        const ttl = await this.kv.keepAliveOnce(lease);
        if (gen !== this.keepaliveGen) return;
        if (ttl <= 0) {
          this.lease = undefined;
          this.trouble('the node lease expired');
          return;
        }
      } catch (err) {
        if (gen === this.keepaliveGen) this.trouble(`lease keepalive: ${reasonOf(err)}`);
        return;
      }
      if (gen === this.keepaliveGen) this.keepaliveTimer = setTimeout(() => void tick(), every);
    };
    this.keepaliveTimer = setTimeout(() => void tick(), every);
  }

  private stopKeepalive(): void {
    this.keepaliveGen++;
    if (this.keepaliveTimer) clearTimeout(this.keepaliveTimer);
    this.keepaliveTimer = undefined;
  }
}
