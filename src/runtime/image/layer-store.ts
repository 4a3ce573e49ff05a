/**
 * The layer directories: `<root>/layers/<hex>/` is the extracted layer (an overlayfs lower
 * dir), `<root>/layers/<hex>.json` records its size. `<hex>` is the sha256 of the
 * uncompressed layer tar (the diff id), so a layer shared by several images is stored once.
 *
 * A layer appears under its final name only by rename(2) of a fully extracted temp dir,
 * after a syncfs(2) of its file system (`sync -f`, as containerd's applier does with its
 * sync option), and disappears by rename(2) to a temp name before it is removed: neither a
 * crash nor a power loss leaves a partial layer under a final name. The size file is written (atomically) before the
 * directory is renamed into place, so a present layer always has one.
 *
 * Layers in use by an import that has not yet written its image record are pinned;
 * garbage collection skips pinned layers.
 */
import { randomBytes } from 'node:crypto';
import { lstat, readdir, rename, rm } from 'node:fs/promises';
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, writeJsonAtomic } from '../../store/atomic-file.js';
import { TsnetError } from '../../errors/index.js';
import { DIGEST } from './config.js';
import { extractLayer, type ExtractResult } from './layer-extract.js';
import type { ImportBudget } from './limits.js';
import { syncFilesystem } from '../../kernel/process.js';

export interface LayerInfo {
  diffId: string;
  /** Bytes of file content. */
  size: number;
}

interface SizeFile {
  diffId: string;
  size: number;
  tarSize: number;
}

function hexOf(diffId: string): string {
  if (!DIGEST.test(diffId)) throw new TsnetError('TSNET_IMAGE_INVALID', `invalid layer diff id "${diffId}"`);
  return diffId.slice('sha256:'.length);
}

export class LayerStore {
  readonly dir: string;
  private readonly pins = new Map<string, number>();

  constructor(
    root: string,
    private readonly tmpDir: string,
  ) {
    this.dir = join(root, 'layers');
  }

  /** Absolute path of a layer's directory. */
  pathOf(diffId: string): string {
    return join(this.dir, hexOf(diffId));
  }

  private sizeFileOf(diffId: string): string {
    return join(this.dir, `${hexOf(diffId)}.json`);
  }

  /** Keep a layer from garbage collection until the returned function is called. */
  pin(diffId: string): () => void {
    const hex = hexOf(diffId);
    this.pins.set(hex, (this.pins.get(hex) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.pins.get(hex) ?? 1) - 1;
      if (n <= 0) this.pins.delete(hex);
      else this.pins.set(hex, n);
    };
  }

  /** The layer's info if it is present. */
  async get(diffId: string): Promise<LayerInfo | undefined> {
    try {
      if (!(await lstat(this.pathOf(diffId))).isDirectory()) return undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const sizes = await readJson<SizeFile>(this.sizeFileOf(diffId)).catch(() => undefined);
    return { diffId, size: typeof sizes?.size === 'number' ? sizes.size : 0 };
  }

  /**
   * Extract a layer tar into `scratch` (a fresh path under the temp dir) and move it into
   * place, unless it is there already. `expected` is the diff id the image config names;
   * when given, a present layer is reused without reading the source, and extracted
   * content must hash to it. Pins the layer: the caller releases the pin.
   */
  async ensure(
    open: () => AsyncIterable<Buffer>,
    opts: { expected?: string; what: string; scratch: string; budget?: ImportBudget },
  ): Promise<{ layer: LayerInfo; created: boolean; release: () => void }> {
    let release: (() => void) | undefined;
    if (opts.expected !== undefined) {
      release = this.pin(opts.expected);
      const present = await this.get(opts.expected);
      if (present) return { layer: present, created: false, release };
    }
    try {
      const result = await extractLayer(open(), opts.scratch, {
        what: opts.what,
        ...(opts.budget ? { budget: opts.budget } : {}),
      });
      if (opts.expected !== undefined && result.diffId !== opts.expected) {
        throw new TsnetError(
          'TSNET_IMAGE_INVALID',
          `invalid ${opts.what}: its content hashes to ${result.diffId}, but the image config says ${opts.expected}`,
        );
      }
      const committed = await this.commit(opts.scratch, result);
      release?.();
      return committed;
    } catch (err) {
      release?.();
      await rm(opts.scratch, { recursive: true, force: true });
      throw err;
    }
  }

  /** Move an extracted directory into place (or drop it if the layer is already there). */
  async commit(extracted: string, result: ExtractResult): Promise<{ layer: LayerInfo; created: boolean; release: () => void }> {
    const release = this.pin(result.diffId);
    const layer = { diffId: result.diffId, size: result.size };
    try {
      if (await this.get(result.diffId)) {
        await rm(extracted, { recursive: true, force: true });
        return { layer, created: false, release };
      }
      await syncFilesystem(extracted);
      await writeJsonAtomic(this.sizeFileOf(result.diffId), {
        diffId: result.diffId,
        size: result.size,
        tarSize: result.tarSize,
      } satisfies SizeFile);
      try {
        await rename(extracted, this.pathOf(result.diffId));
        return { layer, created: true, release };
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // Another import put the same layer in place first.
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
        await rm(extracted, { recursive: true, force: true });
        return { layer, created: false, release };
      }
    } catch (err) {
      release();
      throw err;
    }
  }

  /** Diff ids of all layers present. */
  async list(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.filter((n) => /^[0-9a-f]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }

  /**
   * Remove the layers that `keep` does not hold and nobody pinned; returns their diff ids.
   * The pin check and the rename out of place are synchronous, so an import cannot pin a
   * layer between the two.
   */
  async collect(keep: ReadonlySet<string>, only?: Iterable<string>): Promise<string[]> {
    const candidates = only === undefined ? await this.list() : [...new Set(only)];
    const removed: string[] = [];
    for (const diffId of candidates) {
      const hex = hexOf(diffId);
      if (keep.has(diffId) || this.pins.has(hex)) continue;
      const trash = join(this.tmpDir, `${process.pid}-del-${hex.slice(0, 12)}-${randomBytes(4).toString('hex')}`);
      try {
        renameSync(join(this.dir, hex), trash);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      removed.push(diffId);
      await rm(this.sizeFileOf(diffId), { force: true });
      await rm(trash, { recursive: true, force: true });
    }
    // Size files whose directory is gone (a crash between writing one and the rename).
    if (only === undefined) {
      const present = new Set(await this.list());
      for (const name of await readdir(this.dir).catch(() => [] as string[])) {
        const m = /^([0-9a-f]{64})\.json$/.exec(name);
        if (m && !present.has(`sha256:${m[1]}`) && !this.pins.has(m[1]!)) await rm(join(this.dir, name), { force: true });
      }
    }
    return removed;
  }
}
