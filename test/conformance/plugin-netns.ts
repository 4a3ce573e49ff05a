/**
 * Which network namespace does the plugin behind a unix socket live in? Its interfaces are made
 * there, so the conformance suite must act as a daemon in that namespace.
 *
 * /proc/<pid>/net/unix lists the listening sockets of <pid>'s netns with their paths and inodes;
 * the process holding that inode (/proc/<pid>/fd/* → socket:[inode]) is the plugin.
 */
import fs from 'node:fs';
import path from 'node:path';

function safe<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

/** '/proc/<pid>/ns/net' of the process listening on `socketPath`, or undefined. */
export function netnsOfSocket(socketPath: string): { pid: number; netns: string } | undefined {
  const want = path.resolve(socketPath);
  const pids = safe(() => fs.readdirSync('/proc'), []).filter((p) => /^\d+$/.test(p));
  const byNs = new Map<string, string>();
  for (const pid of pids) {
    const ns = safe(() => fs.readlinkSync(`/proc/${pid}/ns/net`), '');
    if (ns && !byNs.has(ns)) byNs.set(ns, pid);
  }
  for (const [ns, pid] of byNs) {
    const table = safe(() => fs.readFileSync(`/proc/${pid}/net/unix`, 'utf8'), '');
    for (const line of table.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // Num RefCount Protocol Flags Type St Inode Path ; Flags 00010000 = listening
      if (f.length < 8 || f[7] !== want || f[3] !== '00010000') continue;
      const inode = f[6];
      for (const p of pids) {
        if (safe(() => fs.readlinkSync(`/proc/${p}/ns/net`), '') !== ns) continue;
        const fds = safe(() => fs.readdirSync(`/proc/${p}/fd`), []);
        if (fds.some((fd) => safe(() => fs.readlinkSync(`/proc/${p}/fd/${fd}`), '') === `socket:[${inode}]`)) {
          return { pid: Number(p), netns: `/proc/${p}/ns/net` };
        }
      }
    }
  }
  return undefined;
}
