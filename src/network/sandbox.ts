/**
 * Sandboxes: one network namespace per container, a file under `<exec-root>/netns/`, made before
 * the container's process exists (DESIGN "process model"). Loopback is brought up here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Netlink, type LinkCounters } from '../kernel/netlink/index.js';
import type { Netns } from '../kernel/netns.js';

export class Sandboxes {
  constructor(
    private readonly netns: Netns,
    private readonly dir: string,
  ) {
    netns.ensurePrivateDir(dir);
  }

  pathFor(containerId: string): string {
    return path.join(this.dir, containerId.slice(0, 12));
  }

  exists(file: string): boolean {
    return this.netns.exists(file);
  }

  /** Make the netns with lo up; returns its file. Idempotent. */
  async create(containerId: string): Promise<string> {
    const file = this.pathFor(containerId);
    if (this.netns.isNetnsMount(file)) return file;
    fs.rmSync(file, { force: true });
    this.netns.create(file);
    try {
      const nl = this.openIn(file);
      try {
        await nl.setUp('lo');
      } finally {
        nl.close();
      }
    } catch (err) {
      this.netns.remove(file);
      throw err;
    }
    return file;
  }

  /** A netlink socket bound to the sandbox's namespace (caller closes it). */
  openIn(file: string): Netlink {
    return this.netns.run(file, () => Netlink.open());
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

  /** Files in the netns dir (for the start-up sweep). */
  list(): string[] {
    try {
      return fs.readdirSync(this.dir).map((n) => path.join(this.dir, n));
    } catch {
      return [];
    }
  }
}
