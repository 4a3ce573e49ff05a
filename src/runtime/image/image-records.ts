/**
 * Image records: `<root>/images/<hex of id>.json`, one JSON document per image, written
 * atomically (temp file, fsync, rename, fsync of the directory).
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
    try {
      const value: unknown = JSON.parse(await readFile(this.fileOf(id), 'utf8'));
      return isRecord(value) ? value : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** All records; unreadable documents are skipped. */
  async list(): Promise<ImageRecord[]> {
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
  }

  async delete(id: string): Promise<void> {
    await rm(this.fileOf(id), { force: true });
  }
}
