/**
 * Start-up sweep (DESIGN rule 2): remove what tsnet made and no record explains — netns files,
 * runtime bundles (and their supervisors), cgroups and container dirs of unknown containers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseNetnsFileName } from '../network/drivers/overlay/index.js';
import type { Components } from './components.js';

export async function sweep(c: Components): Promise<string[]> {
  const removed: string[] = [];
  const records = c.containers.list();
  const sandboxFiles = new Set(records.map((r) => r.network.sandboxKey).filter(Boolean));
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

  const known = c.containers.bundleIds;
  const bundles = path.join(c.opts.execRoot, 'c');
  for (const name of safeReaddir(bundles)) {
    const dir = path.join(bundles, name);
    const running = records.find((r) => r.id.startsWith(name))?.state.Status === 'running';
    if (known.has(name) && running) continue;
    if (!known.has(name)) {
      for (const f of ['pid', 'supervisor.pid']) {
        const pid = Number(readOr(path.join(dir, f), '0'));
        if (pid > 1) {
          try {
            process.kill(pid, 'SIGKILL');
            removed.push(`process ${pid}`);
          } catch {
            /* already gone */
          }
        }
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
    removed.push(`bundle ${dir}`);
  }
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
  return removed;
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return fallback;
  }
}
