/** How pending endpoint teardowns (src/network/pending-deletes.ts) show in `rm` and `plugin ls`. */
import { describePending, type PendingDelete } from '../network/pending-deletes.js';
import type { NetworkRecord } from '../network/network-record.js';
import type { PluginListEntry } from '../plugins/registry.js';

/** The one line `rm` reports (X-Tsnet-Warning), or undefined when nothing waits. */
export function pendingLine(list: PendingDelete[]): string | undefined {
  if (!list.length) return undefined;
  return `a network plugin did not answer; ${list.map(describePending).join('; ')}; tsnet retries when it answers (tsnet plugin ls shows what waits)`;
}

/** `plugin ls` entries with `PendingDeletes` (a count) and a status note for the plugins awaited. */
export function withPending(
  plugins: PluginListEntry[],
  pending: PendingDelete[],
  network: (id: string) => NetworkRecord | undefined,
  builtin: (driverName: string) => boolean,
): Array<PluginListEntry & { PendingDeletes: number }> {
  const awaited = (name: string) =>
    pending.filter((x) => {
      const n = network(x.networkId);
      return n && (n.driver === name || n.ipam.driver === name);
    }).length;
  const out = plugins.map((p) => {
    const count = awaited(p.Name);
    const status = count ? `${p.Status}; ${count} endpoint teardown(s) pending` : p.Status;
    return { ...p, Status: status, PendingDeletes: count };
  });
  // a plugin whose socket is gone is not discovered, but what waits for it is still shown
  const listed = new Set(plugins.map((p) => p.Name));
  const names = new Set(
    pending.flatMap((x) => {
      const n = network(x.networkId);
      return n ? [n.driver, n.ipam.driver] : [];
    }),
  );
  for (const name of names) {
    const count = awaited(name);
    if (listed.has(name) || !count || builtin(name)) continue;
    out.push({
      Name: name,
      Addr: '',
      Implements: [],
      Status: `unavailable: gone; ${count} endpoint teardown(s) pending`,
      PendingDeletes: count,
    });
  }
  return out;
}
