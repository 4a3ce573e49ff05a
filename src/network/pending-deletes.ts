/**
 * Endpoints whose teardown waits for a plugin (issue 15): when `rm`, `rm -f` or
 * `disconnect -f` cannot reach the network plugin (or the IPAM plugin), the container goes
 * anyway, and what the plugins were not told yet — Leave, DeleteEndpoint, ReleaseAddress, in
 * Docker's order — is kept as the `teardown` of the endpoint's own record, which goes to state
 * `pending-delete` (saved before the container's record goes, so a crash loses nothing; the
 * controller writes it: one record per endpoint, whatever its state). The endpoint stays
 * reserved on its network (so `network rm` is refused while it waits), shows in `network
 * inspect` and `plugin ls`, and the remaining calls are retried in the background (1 s,
 * doubling to 30 s; at once when a plugin is activated again) until every one is done; then the
 * endpoint record goes.
 *
 * What the plugin answers on a retry is taken as Docker takes it at teardown: an error reply
 * is logged and the step counts as done; only a plugin that does not answer keeps it pending.
 */
import type { IpamDriver } from '../ipam/ipam-api.js';
import type { RecordStore } from '../store/record-store.js';
import type { NetworkDriver } from './driver-api.js';
import { endpointEntryKey, type ContainerEntry } from './global-inspect.js';
import type { NetworkRecord } from './network-record.js';
import type { TeardownStep } from './sandbox-record.js';

export type PendingStep = TeardownStep;

/**
 * One endpoint's unfinished teardown, as a view of its endpoint record (`id` is the endpoint
 * id); saving it through PendingStore writes the record.
 */
export interface PendingDelete {
  id: string;
  networkId: string;
  containerId: string;
  containerName: string;
  /** What is still to be sent, in order. */
  steps: PendingStep[];
  /** The endpoint's leased addresses (CIDR form) and their pools, for ReleaseAddress. */
  addresses: Array<{ poolId: string; address: string }>;
  mac?: string;
  since: string;
  lastError: string;
  attempts: number;
}

/** The endpoint records that wait for a plugin (the NetworkController keeps them). */
export interface PendingStore {
  /** Views of every `pending-delete` endpoint record with a teardown. */
  list(): PendingDelete[];
  /** The endpoint's record goes to `pending-delete` with this teardown; it stays reserved on its network. */
  save(p: PendingDelete): Promise<void>;
  /** The teardown is done: the endpoint record goes and its network no longer counts it. */
  remove(id: string): Promise<void>;
}

export interface PendingDeps {
  store: PendingStore;
  /** Pending-delete records of tsnet before they were endpoint records (`state/pending-endpoints`): moved at load. */
  legacy?: RecordStore<PendingDelete>;
  network(id: string): NetworkRecord | undefined;
  driverOf(n: NetworkRecord): Promise<NetworkDriver>;
  ipamOf(n: NetworkRecord): Promise<IpamDriver>;
  logger: { info(m: string): void; warn(m: string): void; debug(m: string): void };
  /** Backoff bounds in ms (tests may shorten them). */
  firstRetryMs?: number;
  maxRetryMs?: number;
}

const STEP_CALL: Record<PendingStep, string> = {
  leave: 'Leave',
  deleteEndpoint: 'DeleteEndpoint',
  releaseAddress: 'ReleaseAddress',
};

/** The one line `rm` and `plugin ls` show for a pending record. */
export function describePending(p: PendingDelete): string {
  return `endpoint ${p.id.slice(0, 12)} of ${p.containerName} on network ${p.networkId.slice(0, 12)}: ${p.steps
    .map((s) => STEP_CALL[s])
    .join(', ')} pending (${p.lastError})`;
}

/**
 * `network inspect` entries of endpoints waiting for their plugin, keyed as other endpoints of no
 * local container are (`ep-<endpoint id>`) and named "<container> (pending delete)".
 */
export function pendingInspectEntries(pending: PendingDelete[]): Record<string, ContainerEntry> {
  const out: Record<string, ContainerEntry> = {};
  for (const p of pending) {
    out[endpointEntryKey(p.id)] = {
      Name: `${p.containerName} (pending delete)`,
      EndpointID: p.id,
      MacAddress: p.mac ?? '',
      IPv4Address: p.addresses.find((a) => !a.address.includes(':'))?.address ?? '',
      IPv6Address: p.addresses.find((a) => a.address.includes(':'))?.address ?? '',
    };
  }
  return out;
}

export class PendingDeletes {
  private timer: NodeJS.Timeout | undefined;
  private delay: number;
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly d: PendingDeps) {
    this.delay = d.firstRetryMs ?? 1000;
  }

  /**
   * Start-up, after the controller loaded the endpoint records (those waiting stay reserved on
   * their networks): records of the old format are moved into endpoint records; retries begin.
   */
  async load(): Promise<void> {
    for (const p of (await this.d.legacy?.loadAll()) ?? []) {
      if (this.d.network(p.networkId)) await this.d.store.save(p);
      await this.d.legacy?.remove(p.id);
    }
    const n = this.d.store.list().length;
    if (n) {
      this.d.logger.info(`${n} endpoint teardown(s) pending from before the restart: retrying`);
      this.schedule(0);
    }
  }

  list(networkId?: string): PendingDelete[] {
    const all = this.d.store.list();
    return networkId ? all.filter((p) => p.networkId === networkId) : all;
  }

  forContainer(containerId: string): PendingDelete[] {
    return this.list().filter((p) => p.containerId === containerId);
  }

  /** Keep an unfinished teardown (saved before the caller forgets the endpoint). */
  async add(p: PendingDelete): Promise<void> {
    await this.d.store.save(p);
    this.d.logger.warn(`${describePending(p)}: retried when the plugin answers`);
    this.schedule(this.d.firstRetryMs ?? 1000);
  }

  /** A plugin was activated again: try now. */
  kick(): void {
    if (!this.d.store.list().length) return;
    this.delay = this.d.firstRetryMs ?? 1000;
    this.schedule(0);
  }

  /** Try every pending record once (serialised: one retry round at a time). */
  retryAll(): Promise<void> {
    this.running ??= this.round().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.retryAll().then(() => {
        if (!this.d.store.list().length) {
          this.delay = this.d.firstRetryMs ?? 1000;
          return;
        }
        this.delay = Math.min(this.delay * 2, this.d.maxRetryMs ?? 30_000);
        this.schedule(this.delay);
      });
    }, ms);
    this.timer.unref();
  }

  private async round(): Promise<void> {
    for (const p of this.d.store.list()) {
      try {
        await this.finish(p);
      } catch (err) {
        p.attempts++;
        p.lastError = (err as Error).message;
        await this.d.store.save(p).catch(() => undefined);
        this.d.logger.debug(`${describePending(p)}: still waiting (attempt ${p.attempts})`);
      }
    }
  }

  /** Send what is left, in order, saving progress after each step. */
  private async finish(p: PendingDelete): Promise<void> {
    const n = this.d.network(p.networkId);
    if (!n) {
      // the network went (it cannot while this waits, but a record may outlive an old network)
      await this.done(p, 'its network is gone');
      return;
    }
    while (p.steps.length) {
      const step = p.steps[0]!;
      if (step === 'leave') await (await this.d.driverOf(n)).leave(n.id, p.id);
      else if (step === 'deleteEndpoint') await (await this.d.driverOf(n)).deleteEndpoint(n.id, p.id);
      else {
        const ipam = await this.d.ipamOf(n);
        while (p.addresses.length) {
          const a = p.addresses[0]!;
          await ipam.releaseAddress(a.poolId, a.address);
          p.addresses.shift();
          await this.d.store.save(p);
        }
      }
      p.steps.shift();
      await this.d.store.save(p);
    }
    await this.done(p, 'the plugin answered');
  }

  private async done(p: PendingDelete, why: string): Promise<void> {
    await this.d.store.remove(p.id);
    this.d.logger.info(`endpoint ${p.id.slice(0, 12)} of ${p.containerName}: teardown finished (${why})`);
  }
}
