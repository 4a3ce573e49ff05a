/**
 * The overlay part of the daemon's start-up sweep (DESIGN rule 2): namespaces `ov-<vni>-<id12>`
 * of networks that no longer exist, and `tsvx-<vni>` devices stranded in the host namespace by
 * a crash between their creation and their move into a network namespace.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Netlink } from '../../../kernel/netlink/index.js';
import type { Netns } from '../../../kernel/netns.js';
import { VXLAN_NAME_RE, parseNetnsFileName } from './names.js';

export interface SweepEnv {
  netnsDir: string;
  netns: Netns;
  host: Netlink;
  warn(msg: string): void;
}

/** Returns one line per removed object. `busyVnis`: VXLAN devices being set up right now. */
export async function sweepOverlay(
  env: SweepEnv,
  liveNetworkIds: readonly string[],
  busyVnis: ReadonlySet<number> = new Set(),
): Promise<string[]> {
  const removed: string[] = [];
  let names: string[] = [];
  try {
    names = fs.readdirSync(env.netnsDir);
  } catch {
    /* no dir yet */
  }
  for (const name of names) {
    const p = parseNetnsFileName(name);
    if (!p || liveNetworkIds.some((id) => id.startsWith(p.networkIdPrefix))) continue;
    const file = path.join(env.netnsDir, name);
    try {
      env.netns.remove(file);
      removed.push(`overlay netns ${file}`);
    } catch (err) {
      env.warn(`sweep ${file}: ${(err as Error).message}`);
    }
  }
  for (const l of await env.host.listLinks()) {
    if (!VXLAN_NAME_RE.test(l.name) || l.kind !== 'vxlan' || busyVnis.has(l.vxlan?.vni ?? -1)) continue;
    await env.host.deleteLink(l.index);
    removed.push(`vxlan ${l.name}`);
  }
  return removed;
}
