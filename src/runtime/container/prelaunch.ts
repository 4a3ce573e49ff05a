/**
 * Containers whose tsnet-init was spawned at create, ahead of the start (decision 42): a `run
 * --rm` sends its start right after the create, so the container's setup (namespaces, rootfs,
 * mounts — ~3 ms of tsnet-init up to `ready`) runs on another CPU while the daemon makes the
 * network, instead of after the start request. The start then only says `go`.
 *
 * A prelaunch is used by the start only if nothing about the container changed since (its
 * request, name and mounts: the fingerprint), and is given up — tsnet-init killed, its bundle and
 * cgroups removed — by anything else that takes the container's lock (rename, update, connect,
 * cp, rm, …), when no start came within `ttlMs`, or when the start finds another netns or link
 * variables. A crash leaves a tsnet-init in the bundle of a container that is not running: the
 * start-up sweep kills it, as after an interrupted start, and the AutoRemove container is removed.
 */
import type { PendingInit } from '../supervisor.js';
import { hasInterfaceSysctls } from './sysctls.js';
import type { ContainerRecord } from './types.js';

export interface Prelaunched {
  init: PendingInit;
  /** The netns file tsnet-init joined. */
  netnsPath: string;
  fingerprint: string;
  /** tsnet-init failed before `ready` (the start then launches anew and reports its own error). */
  failed(): boolean;
  /** Kill tsnet-init, remove the bundle and the cgroups (under the container's lock). */
  discard(): Promise<void>;
}

/** What the container's setup depends on: a change between create and start voids a prelaunch. */
export function fingerprint(rec: ContainerRecord): string {
  return JSON.stringify([rec.name, rec.config, rec.hostConfig, rec.networkingConfig, rec.mounts ?? [], rec.sandboxId]);
}

/**
 * Only `run --rm`-like containers on networks of their own netns, without mounts or legacy links,
 * and without sysctls of its interfaces (tsnet-init writes them before `ready`: they must find
 * the container's interfaces made, as with runc, and win over what the network's join wrote).
 */
export function prelaunchable(rec: ContainerRecord): boolean {
  const hc = rec.hostConfig;
  const mode = hc.NetworkMode ?? 'default';
  return (
    hc.AutoRemove === true &&
    !['host', 'none'].includes(mode) &&
    !mode.startsWith('container:') &&
    !hc.Links?.length &&
    !hc.Binds?.length &&
    !hasInterfaceSysctls(hc) &&
    !(rec.mounts ?? []).length
  );
}

export class Prelaunches {
  /** (a prelaunch may still be spawning tsnet-init: the create does not wait for it, decision 47) */
  private readonly byId = new Map<string, { p: Promise<Prelaunched | undefined>; timer: NodeJS.Timeout }>();

  constructor(
    /** Runs `fn` under the container's lock (the expiry's discard). */
    private readonly underLock: (id: string, fn: () => Promise<void>) => Promise<void>,
    private readonly warn: (message: string) => void,
    private readonly ttlMs = 10_000,
  ) {}

  add(id: string, p: Promise<Prelaunched | undefined>): void {
    const timer = setTimeout(() => {
      void this.underLock(id, () => this.drop(id)).catch((err: Error) =>
        this.warn(`prelaunch ${id.slice(0, 12)}: ${err.message}`),
      );
    }, this.ttlMs);
    timer.unref();
    this.byId.set(id, { p, timer });
  }

  /** The start's: the prelaunch of `rec` if it still fits it (a stale one is discarded). Call under the lock. */
  async take(rec: ContainerRecord): Promise<Prelaunched | undefined> {
    const have = this.byId.get(rec.id);
    if (!have) return undefined;
    this.byId.delete(rec.id);
    clearTimeout(have.timer);
    const p = await have.p;
    if (p?.fingerprint === fingerprint(rec)) return p;
    await p?.discard();
    return undefined;
  }

  /** Give up the prelaunch of `id` (call under the container's lock); no-op without one. */
  async drop(id: string): Promise<void> {
    const have = this.byId.get(id);
    if (!have) return;
    this.byId.delete(id);
    clearTimeout(have.timer);
    await (await have.p)?.discard();
  }
}
