/**
 * Container sizes as dockerd reports them (`docker ps -s`, `docker inspect --size`): SizeRw, the
 * bytes of the writable layer, and SizeRootFs, that plus its image's layers — as /system/df
 * counts them. Only when asked: they cost a walk of the layer.
 */
import type { ContainerRecord } from '../../runtime/container/types.js';
import type { ContainerSummaries } from '../../runtime/container/summaries.js';
import { dirSize } from './disk-usage.js';

export interface SizeDeps {
  summaries: ContainerSummaries;
  upper(rec: ContainerRecord): string;
  imageSize(imageId: string): Promise<number>;
}

/** SizeRw and SizeRootFs of one container. */
export async function sizesOf(
  rec: ContainerRecord,
  upper: (rec: ContainerRecord) => string,
  imageSize: (imageId: string) => Promise<number>,
): Promise<{ SizeRw: number; SizeRootFs: number }> {
  const [rw, image] = await Promise.all([dirSize(upper(rec)), imageSize(rec.imageId).catch(() => 0)]);
  return { SizeRw: rw, SizeRootFs: rw + image };
}

/** The ps summaries of `list` with their sizes (each image's size looked up once). */
export async function withSizes(list: readonly ContainerRecord[], d: SizeDeps): Promise<unknown[]> {
  const images = new Map<string, Promise<number>>();
  const imageSize = (id: string) => {
    if (!images.has(id)) images.set(id, d.imageSize(id));
    return images.get(id)!;
  };
  return Promise.all(
    list.map(async (r) => ({
      ...(JSON.parse(d.summaries.json([r]).toString('utf8'))[0] as Record<string, unknown>),
      ...(await sizesOf(r, d.upper, imageSize)),
    })),
  );
}
