/**
 * Image records: `<root>/images/<hex of id>.json`, one JSON document per image, written
 * atomically (temp file, fsync, rename, fsync of the directory).
 *
 * The records are read from disk once (the first `get` or `list`) and then kept in memory:
 * this object is their only writer (one ImageStore per root in the daemon), so `put` and
 * `delete` keep the copy true after the disk write succeeded. A container create resolves its
 * image on every request; reading every record file through the thread pool cost it 1–8 ms
 * (issue 14.4). The kept records are deep-frozen: readers get them shared and must copy to
 * change one (`ImageStore.resolve` hands out a clone).
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TsnetError } from '../../errors/index.js';
import { writeJsonAtomic } from '../../store/atomic-file.js';
import type { ImageRecord } from './types.js';

function isRecord(v: unknown): v is ImageRecord {
  const r = v as Partial<ImageRecord> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.id === 'string' &&
    /^sha256:[0-9a-f]{64}$/.test(r.id) &&
    Array.isArray(r.repoTags) &&
    Array.isArray(r.layers) &&
    typeof r.config === 'object' &&
    r.config !== null
  );
}

export class ImageRecords {
  readonly dir: string;
  /** id → record, loaded once; then changed only by put/delete. */
  private loaded: Promise<Map<string, ImageRecord>> | undefined;

  constructor(root: string) {
    this.dir = join(root, 'images');
  }

  private fileOf(id: string): string {
    // An id is checked before a path is built from it.
    if (!/^sha256:[0-9a-f]{64}$/.test(id))
      throw new TsnetError('TSNET_IMAGE_INVALID', `invalid image id ${JSON.stringify(id.slice(0, 80))}`);
    return join(this.dir, `${id.slice('sha256:'.length)}.json`);
  }

  async get(id: string): Promise<ImageRecord | undefined> {
    this.fileOf(id); // checks the id
    return (await this.records()).get(id);
  }

  /** All records; unreadable documents are skipped. */
  async list(): Promise<ImageRecord[]> {
    return [...(await this.records()).values()];
  }

  private records(): Promise<Map<string, ImageRecord>> {
    this.loaded ??= this.load().then((all) => new Map(all.map((r) => [r.id, deepFreeze(r)])));
    return this.loaded;
  }

  private async load(): Promise<ImageRecord[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const records = await Promise.all(
      names
        .filter((n) => /^[0-9a-f]{64}\.json$/.test(n))
        .map(async (n) => {
          try {
            const value: unknown = JSON.parse(await readFile(join(this.dir, n), 'utf8'));
            return isRecord(value) ? value : undefined;
          } catch {
            return undefined;
          }
        }),
    );
    return records.filter((r): r is ImageRecord => r !== undefined);
  }

  async put(record: ImageRecord): Promise<void> {
    await writeJsonAtomic(this.fileOf(record.id), record);
    // a copy: the caller's object stays its own
    (await this.records()).set(record.id, deepFreeze(structuredClone(record)));
  }

  async delete(id: string): Promise<void> {
    await rm(this.fileOf(id), { force: true });
    (await this.records()).delete(id);
  }
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
