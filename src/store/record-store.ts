/**
 * A directory of JSON records keyed by id (one file each, atomic writes). The daemon is the only
 * writer; it keeps the records in memory and writes through.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readJson, writeJsonAtomic } from './atomic-file.js';

export class RecordStore<T extends { id: string }> {
  constructor(private readonly dir: string) {}

  async loadAll(): Promise<T[]> {
    await fs.promises.mkdir(this.dir, { recursive: true });
    const out: T[] = [];
    for (const name of await fs.promises.readdir(this.dir)) {
      if (!name.endsWith('.json') || name.startsWith('.')) continue;
      const rec = await readJson<T>(path.join(this.dir, name));
      if (rec) out.push(rec);
    }
    return out;
  }

  async save(rec: T): Promise<void> {
    await writeJsonAtomic(path.join(this.dir, `${rec.id}.json`), rec);
  }

  async remove(id: string): Promise<void> {
    await fs.promises.rm(path.join(this.dir, `${id}.json`), { force: true });
  }
}
