/**
 * `GET /containers/json?size=1` (docker ps -s): each summary with SizeRw, the bytes of its
 * writable layer, and SizeRootFs, that plus its image's layers — as /system/df counts them.
 */
import type { ContainerRecord } from '../../runtime/container/types.js';
import type { ContainerSummaries } from '../../runtime/container/summaries.js';
import { dirSize } from './disk-usage.js';

export interface SizeDeps {
  summaries: ContainerSummaries;
  upper(rec: ContainerRecord): string;
  imageSize(imageId: string): Promise<number>;
}

export async function withSizes(list: readonly ContainerRecord[], d: SizeDeps): Promise<unknown[]> {
  const images = new Map<string, Promise<number>>();
  return Promise.all(
    list.map(async (r) => {
      const summary = JSON.parse(d.summaries.json([r]).toString('utf8'))[0] as Record<string, unknown>;
      if (!images.has(r.imageId))
        images.set(
          r.imageId,
          d.imageSize(r.imageId).catch(() => 0),
        );
      const rw = await dirSize(d.upper(r));
      return { ...summary, SizeRw: rw, SizeRootFs: rw + (await images.get(r.imageId)!) };
    }),
  );
}
