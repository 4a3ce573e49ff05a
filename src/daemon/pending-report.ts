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
  // one pass: how many pending teardowns wait for each driver name (a record counts once per
  // name, also when the plugin is both the network's driver and its IPAM driver)
  const awaited = new Map<string, number>();
  for (const x of pending) {
    const n = network(x.networkId);
    if (!n) continue;
    for (const name of new Set([n.driver, n.ipam.driver])) awaited.set(name, (awaited.get(name) ?? 0) + 1);
  }
  const out = plugins.map((p) => {
    const count = awaited.get(p.Name) ?? 0;
    const status = count ? `${p.Status}; ${count} endpoint teardown(s) pending` : p.Status;
    return { ...p, Status: status, PendingDeletes: count };
  });
  // a plugin whose socket is gone is not discovered, but what waits for it is still shown
  const listed = new Set(plugins.map((p) => p.Name));
  for (const [name, count] of awaited) {
    if (listed.has(name) || builtin(name)) continue;
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
