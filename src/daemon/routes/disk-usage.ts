/**
 * GET /system/df: Docker's disk-usage shape. LayersSize is what the image layers take on disk
 * (each layer once), images carry how many containers use them, containers their writable
 * layer (SizeRw) and SizeRw plus their image (SizeRootFs), volumes their size and how many
 * containers name them (UsageData). tsnet has no build cache.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ContainerManager } from '../../runtime/container/container-manager.js';
import { containerSummary } from '../../runtime/container/docker-json.js';
import type { ImageStore } from '../../runtime/image/image-store.js';
import type { Route } from '../http/router.js';
import { imageSummary } from './images.js';
import type { VolumeStore } from '../../runtime/volumes/volume-store.js';

export interface DiskUsageDeps {
  containers: ContainerManager;
  images: ImageStore;
  volumes?: VolumeStore;
}

/** Bytes of the regular files and symlinks under `dir` (not following links; hard links once). */
export async function dirSize(dir: string, seen = new Set<string>()): Promise<number> {
  let total = 0;
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      total += await dirSize(p, seen);
      continue;
    }
    const st = await fs.lstat(p).catch(() => undefined);
    if (!st) continue;
    const key = `${st.dev}:${st.ino}`;
    if (seen.has(key)) continue;
    seen.add(key);
    total += st.size;
  }
  return total;
}

export function diskUsageRoutes(d: DiskUsageDeps): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/system/df',
      schema: {},
      handler: async () => {
        const images = await d.images.list();
        const containers = d.containers.list();
        // each layer measured once on disk; an image's size is the sum of its layers, so the
        // numbers add up (docker system df: reclaimable = LayersSize - the used images)
        const layerSize = new Map<string, number>();
        for (const dir of new Set(images.flatMap((i) => d.images.layerDirs(i)))) layerSize.set(dir, await dirSize(dir));
        const layersSize = [...layerSize.values()].reduce((a, b) => a + b, 0);
        const sizeOf = new Map(
          images.map((i) => [i.id, d.images.layerDirs(i).reduce((a, dir) => a + (layerSize.get(dir) ?? 0), 0)]),
        );
        const used = (id: string) => containers.filter((c) => c.imageId === id).length;
        return {
          status: 200,
          json: {
            LayersSize: layersSize,
            Images: images.map((i) => ({
              ...imageSummary(i),
              Size: sizeOf.get(i.id) ?? 0,
              VirtualSize: sizeOf.get(i.id) ?? 0,
              SharedSize: 0,
              Containers: used(i.id),
            })),
            Containers: await Promise.all(
              containers.map(async (c) => {
                const rw = await dirSize(d.containers.paths(c).upper);
                return {
                  ...containerSummary(c, c.config.Image || c.imageId, d.containers.network(c)),
                  SizeRw: rw,
                  SizeRootFs: rw + (sizeOf.get(c.imageId) ?? 0),
                };
              }),
            ),
            Volumes: (d.volumes?.list() ?? []).map((v) => d.volumes!.json(v, true)),
            BuildCache: [],
          },
        };
      },
    },
  ];
}
