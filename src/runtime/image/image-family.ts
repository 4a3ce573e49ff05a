/**
 * An image and the images made from it by `commit` (their `parent` chain reaches it): what
 * `docker ps --filter ancestor=IMAGE` matches. An unknown image has no family (Docker logs it
 * and matches nothing).
 */
import type { ImageRecord } from './types.js';

export interface FamilySource {
  resolve(ref: string): Promise<ImageRecord>;
  list(): Promise<ImageRecord[]>;
}

export async function imageFamily(images: FamilySource, ref: string): Promise<Set<string>> {
  const root = await images.resolve(ref).catch(() => undefined);
  if (!root) return new Set();
  const children = new Map<string, string[]>();
  for (const i of await images.list()) {
    if (!i.parent) continue;
    const list = children.get(i.parent) ?? [];
    list.push(i.id);
    children.set(i.parent, list);
  }
  const family = new Set<string>();
  const walk = [root.id];
  while (walk.length > 0) {
    const id = walk.pop()!;
    if (family.has(id)) continue;
    family.add(id);
    walk.push(...(children.get(id) ?? []));
  }
  return family;
}
