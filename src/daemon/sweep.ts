/**
 * Start-up sweep (DESIGN rule 2): remove what tsnet made and no record explains — netns files,
 * runtime bundles (and their supervisors), cgroups and container dirs of unknown containers, and
 * what a crash left in the trash dirs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseNetnsFileName } from '../network/drivers/overlay/index.js';
import { killBundleSupervisor, waitGone } from '../runtime/supervisor.js';
import type { Components } from './components.js';

export async function sweep(c: Components): Promise<string[]> {
  const removed: string[] = [];
  const records = c.containers.list();
  const sandboxFiles = c.networking.sandboxKeys();
  for (const file of c.sandboxes.list()) {
    if (sandboxFiles.has(file)) continue;
    // ov-<vni>-<id12>: an overlay network's namespace, not a container sandbox (the overlay
    // driver's own sweep below decides about it; removing it cuts every container on it)
    if (parseNetnsFileName(path.basename(file))) continue;
    try {
      c.sandboxes.remove(file);
      removed.push(`netns ${file}`);
    } catch (err) {
      c.opts.logger.warn(`sweep netns ${file}: ${(err as Error).message}`);
    }
  }

  // Bundles of containers that are not running: a supervisor still running there was launched by
  // a start the daemon did not live to record (or belongs to a container no record explains). It
  // is killed — after checking by /proc that the pid is that bundle's tsnet-init (pid reuse) —
  // and waited for, so its cgroup can go below and a later start does not run a second copy.
  const bundles = path.join(c.opts.execRoot, 'c');
  const killed: number[] = [];
  // a bundle is named by the first 16 characters of its container's id (runtime/container/paths.ts)
  const byBundle = new Map(records.map((r) => [r.id.slice(0, 16), r]));
  for (const name of safeReaddir(bundles)) {
    const dir = path.join(bundles, name);
    const rec = name.length === 16 ? byBundle.get(name) : records.find((r) => r.id.startsWith(name));
    if (rec?.state.Status === 'running') continue;
    for (const pid of killBundleSupervisor(dir)) {
      killed.push(pid);
      removed.push(`process ${pid}${rec ? ` of container ${rec.name} (not running)` : ''}`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    removed.push(`bundle ${dir}`);
  }
  await waitGone(killed);
  fs.rmSync(path.join(c.opts.execRoot, 'x'), { recursive: true, force: true });

  const byId = new Map(records.map((r) => [r.id, r]));
  for (const name of c.cgroups.list()) {
    if (byId.get(name)?.state.Status === 'running') continue;
    try {
      c.cgroups.remove(name);
      removed.push(`cgroup ${name}`);
    } catch {
      /* still has processes: leave it */
    }
  }

  // Links, overlay namespaces: each driver sweeps what it made and marked (never by name alone).
  removed.push(...(await c.controller.sweepDrivers()));

  const dirs = path.join(c.opts.root, 'containers');
  for (const name of safeReaddir(dirs)) {
    if (byId.has(name)) continue;
    fs.rmSync(path.join(dirs, name), { recursive: true, force: true });
    removed.push(`container dir ${name}`);
  }
  // dirs of removed containers and bundles of exited ones whose background deletion a crash interrupted
  removed.push(...c.containers.emptyTrash());
  return removed;
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
