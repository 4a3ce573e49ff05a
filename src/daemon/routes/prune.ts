/**
 * POST /containers/prune and /images/prune with Docker's filters and reply shapes
 * (`{ContainersDeleted, SpaceReclaimed}`, `{ImagesDeleted, SpaceReclaimed}`). An object that
 * comes into use while the prune runs (a container started, an image used) is skipped, not an
 * error. /networks/prune lives with the network routes.
 */
import { TsnetError } from '../../errors/index.js';
import type { ContainerManager } from '../../runtime/container/container-manager.js';
import type { ImageStore } from '../../runtime/image/image-store.js';
import type { Route } from '../http/router.js';
import { PruneQuery } from '../schemas/index.js';
import { dirSize } from './disk-usage.js';
import { filters } from './params.js';
import { pruneFilter, pruneMatch } from './prune-filters.js';

export interface PruneDeps {
  containers: ContainerManager;
  images: ImageStore;
  inUse: (imageId: string) => boolean;
}

const SKIPPABLE = new Set([
  'TSNET_CONTAINER_RUNNING',
  'TSNET_CONTAINER_NOT_FOUND',
  'TSNET_IMAGE_IN_USE',
  'TSNET_IMAGE_NOT_FOUND',
]);
const skippable = (err: unknown) => err instanceof TsnetError && SKIPPABLE.has(err.code);

export function pruneRoutes(d: PruneDeps): Route[] {
  return [
    {
      method: 'POST',
      pattern: '/containers/prune',
      schema: { query: PruneQuery },
      handler: async ({ query }) => {
        const f = pruneFilter(filters(query, ['until', 'label', 'label!']));
        const deleted: string[] = [];
        let reclaimed = 0;
        for (const rec of d.containers.list()) {
          if (rec.state.Status === 'running' || rec.state.Status === 'removing') continue;
          if (!pruneMatch(f, rec.created, rec.config.Labels)) continue;
          const size = await dirSize(d.containers.paths(rec).upper);
          try {
            await d.containers.remove(rec.id);
          } catch (err) {
            if (skippable(err)) continue;
            throw err;
          }
          deleted.push(rec.id);
          reclaimed += size;
        }
        return { status: 200, json: { ContainersDeleted: deleted, SpaceReclaimed: reclaimed } };
      },
    },
    {
      method: 'POST',
      pattern: '/images/prune',
      schema: { query: PruneQuery },
      handler: async ({ query }) => {
        const raw = filters(query, ['dangling', 'until', 'label', 'label!']);
        const f = pruneFilter(raw);
        const danglingValues = raw.dangling ?? ['true'];
        const dangling = danglingValues.map((v) => {
          if (/^(1|true)$/i.test(v)) return true;
          if (/^(0|false)$/i.test(v)) return false;
          throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid filter 'dangling=${v}': true or false`);
        });
        const onlyDangling = dangling.every(Boolean);
        const candidates = (await d.images.list()).filter(
          (img) =>
            (!onlyDangling || img.repoTags.length === 0) && !d.inUse(img.id) && pruneMatch(f, img.created, img.config.Labels),
        );
        // what each layer takes on disk, measured before anything goes (a layer counts once it is deleted)
        const layerSize = new Map<string, number>();
        for (const img of candidates) {
          const dirs = d.images.layerDirs(img);
          for (let i = 0; i < img.layers.length; i++)
            if (!layerSize.has(img.layers[i]!)) layerSize.set(img.layers[i]!, await dirSize(dirs[i] ?? ''));
        }
        const out: Array<{ Untagged?: string; Deleted?: string }> = [];
        let reclaimed = 0;
        for (const img of candidates) {
          // by tag, one at a time: the last tag deletes the image (and it stays when a container took it meanwhile)
          const refs = img.repoTags.length ? [...img.repoTags] : [img.id];
          for (const ref of refs) {
            try {
              const r = await d.images.remove(ref, { inUse: d.inUse });
              for (const u of r.untagged) out.push({ Untagged: u });
              for (const x of r.deleted) {
                out.push({ Deleted: x });
                reclaimed += layerSize.get(x) ?? 0;
              }
            } catch (err) {
              if (skippable(err)) break;
              throw err;
            }
          }
        }
        return { status: 200, json: { ImagesDeleted: out, SpaceReclaimed: reclaimed } };
      },
    },
  ];
}
