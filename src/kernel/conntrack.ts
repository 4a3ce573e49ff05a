/** Drop conntrack entries (stale NAT state) with the conntrack tool. Plain values in. */
import { execa } from 'execa';
import type { Spawner } from './spawn.js';

type Run = (cmd: string, args: string[]) => Promise<{ stdout: string }>;

const viaExeca: Run = async (cmd, args) => {
  const r = await execa(cmd, args, { reject: false, timeout: 5000 });
  return { stdout: String(r.stdout ?? '') };
};

/** The original-direction destination ports of `conntrack -L` lines. */
export function listedPorts(listing: string): Set<number> {
  const out = new Set<number>();
  for (const line of listing.split('\n')) {
    const m = /\bdport=(\d+)/.exec(line);
    if (m) out.add(Number(m[1]));
  }
  return out;
}

/**
 * Delete the entries whose original destination port is one of `ports`; none found is fine.
 * One port: one `conntrack -D`. More: one `conntrack -L` and a `-D` only for the ports that have
 * entries, so publishing many ports is not one process per port. `run`: the daemon's
 * posix_spawn runner (default execa).
 */
export async function flushConntrackPorts(proto: 'udp' | 'tcp', ports: number[], run?: Spawner['run']): Promise<void> {
  const exec: Run = run ? async (cmd, args) => run(cmd, args, { timeoutMs: 5000 }) : viaExeca;
  const del = (port: number) => exec('conntrack', ['-D', '-p', proto, '--orig-port-dst', String(port)]);
  if (ports.length === 1) {
    await del(ports[0]!);
    return;
  }
  const present = listedPorts((await exec('conntrack', ['-L', '-p', proto])).stdout);
  for (const port of new Set(ports)) if (present.has(port)) await del(port);
}
