/** /volumes/… routes (Docker Engine API shapes), backed by the local volume store. */
import type { VolumeRecord } from '../../runtime/volumes/types.js';
import type { CreateVolume, VolumeStore } from '../../runtime/volumes/volume-store.js';
import type { Route } from '../http/router.js';
import { VolumeCreateBody, VolumeListQuery, VolumeNameParams, VolumePruneQuery, VolumeRemoveQuery } from '../schemas/index.js';
import { bool, filters, object } from './params.js';
import { nameFilter } from './name-pattern.js';
import { versionLess } from '../http/version.js';

export interface VolumeRouteDeps {
  volumes: VolumeStore;
}

/** `label=k`, `label=k=v` (and `label!=` for prune) as Docker matches them. */
export function labelFilter(labels: Record<string, string>, expr: string): boolean {
  const i = expr.indexOf('=');
  return i < 0 ? expr in labels : labels[expr.slice(0, i)] === expr.slice(i + 1);
}

/** `volume prune` and `system prune --volumes`: Docker's filters (all, label, label!). */
export async function pruneVolumes(volumes: VolumeStore, f: Record<string, string[]>) {
  const all = (f.all ?? []).some((v) => v === 'true' || v === '1');
  return volumes.prune({
    all,
    keep: (rec: VolumeRecord) =>
      (f.label ?? []).every((l) => labelFilter(rec.Labels, l)) && !(f['label!'] ?? []).some((l) => labelFilter(rec.Labels, l)),
  });
}

export function volumeRoutes(d: VolumeRouteDeps): Route[] {
  const { volumes } = d;
  return [
    {
      method: 'GET',
      pattern: '/volumes',
      schema: { query: VolumeListQuery },
      handler: async ({ query }) => {
        const f = filters(query, ['name', 'driver', 'label', 'dangling']);
        let list = volumes.list();
        if (f.name) {
          const match = nameFilter(f.name);
          list = list.filter((v) => match([v.Name]));
        }
        if (f.driver) list = list.filter((v) => f.driver!.includes(v.Driver));
        if (f.label) list = list.filter((v) => f.label!.every((l) => labelFilter(v.Labels, l)));
        if (f.dangling) {
          const want = f.dangling.some((x) => x === 'true' || x === '1');
          list = list.filter((v) => (volumes.json(v, true).UsageData!.RefCount === 0) === want);
        }
        return { status: 200, json: { Volumes: list.map((v) => volumes.json(v)), Warnings: [] } };
      },
    },
    {
      method: 'POST',
      pattern: '/volumes/create',
      schema: { body: VolumeCreateBody },
      handler: async ({ body }) => {
        const req = object<CreateVolume>(body, 'volume create');
        const labels = { ...(req.Labels ?? {}) };
        // a volume created without a name is anonymous (Docker ≥ 23): `volume prune` takes it by default
        const rec = await volumes.create({ ...req, Labels: labels }, !req.Name);
        return { status: 201, json: volumes.json(rec) };
      },
    },
    {
      method: 'POST',
      pattern: '/volumes/prune',
      schema: { query: VolumePruneQuery },
      handler: async ({ query, apiVersion }) => {
        const f = filters(query, ['label', 'label!', 'all']);
        // as dockerd: before API 1.42 prune took every unused volume, named ones too (the docker
        // 20.10 CLI, which speaks 1.41, says so in its prompt)
        if (versionLess(apiVersion, '1.42')) f.all = ['true'];
        return { status: 200, json: await pruneVolumes(volumes, f) };
      },
    },
    {
      method: 'GET',
      pattern: '/volumes/{name}',
      schema: { params: VolumeNameParams },
      handler: async ({ params }) => ({ status: 200, json: volumes.json(volumes.get(params.name!)) }),
    },
    {
      method: 'DELETE',
      pattern: '/volumes/{name}',
      schema: { params: VolumeNameParams, query: VolumeRemoveQuery },
      handler: async ({ params, query }) => {
        await volumes.remove(params.name!, bool(query, 'force'));
        return { status: 204 };
      },
    },
  ];
}
