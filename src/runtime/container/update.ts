/**
 * `POST /containers/{id}/update`: Docker's rules (resources.ts), then the new limits are written
 * to the running container's cgroups and the record is saved, so the next start uses them too.
 */
import fs from 'node:fs';
import os from 'node:os';
import { TsnetError } from '../../errors/index.js';
import type { Cgroups } from '../cgroups.js';
import type { ContainerManager } from './container-manager.js';
import { type Host, limitsOf, type UpdateBody, updatedHostConfig } from './resources.js';
import type { HostConfig } from './types.js';

export interface UpdateDeps {
  containers: ContainerManager;
  cgroups: Cgroups;
}

/** This host's CPUs and memory nodes. */
export function hostResources(): Host {
  let mems = '0';
  try {
    mems = fs.readFileSync('/sys/devices/system/node/online', 'utf8').trim() || '0';
  } catch {
    /* no NUMA information: one node */
  }
  return { cpus: os.cpus().length, mems };
}

/** The resource fields of a create request, checked with the rules of update (nothing is changed). */
export function checkResources(hc: HostConfig, host = hostResources()): void {
  const { RestartPolicy: _ignored, ...resources } = hc as HostConfig & UpdateBody;
  updatedHostConfig({}, resources as UpdateBody, host);
}

/** Update one container; returns Docker's `Warnings`. */
export async function updateContainer(d: UpdateDeps, ref: string, body: UpdateBody, host = hostResources()): Promise<string[]> {
  const rec = d.containers.get(ref);
  return d.containers.withLock(rec.id, async () => {
    const before = rec.hostConfig;
    const next = updatedHostConfig(before, body, host);
    const warnings: string[] = [];
    if (rec.state.Status === 'running') {
      try {
        warnings.push(...d.cgroups.update(rec.id, limitsOf(next, 'update'), () => d.containers.pids(rec)));
      } catch (err) {
        try {
          d.cgroups.update(rec.id, limitsOf(before, 'update'), () => d.containers.pids(rec));
        } catch {
          /* best effort: the first error is the one to report */
        }
        throw new TsnetError(
          'TSNET_KERNEL',
          `Cannot update container ${rec.id}: ${(err as Error).message}${/EBUSY/.test((err as Error).message) ? ' (the container uses more than the new limit)' : ''}`,
          { cause: err },
        );
      }
    }
    rec.hostConfig = next;
    try {
      await d.containers.save(rec);
    } catch (err) {
      rec.hostConfig = before;
      throw err;
    }
    d.containers.announce(rec, 'update');
    return [...new Set(warnings)];
  });
}
