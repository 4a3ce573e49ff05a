/**
 * The image store: imports image tarballs, keeps image records and tags, hands out layer
 * directories for overlayfs, removes images with Docker's semantics.
 *
 * On disk, under the root given to the constructor (tsnetd uses `<--root>/image`):
 *
 *   layers/<hex>/        one extracted layer in overlayfs lower-dir form; <hex> is the
 *                        sha256 of the uncompressed layer tar (its diff id). Whiteouts are
 *                        0:0 character devices, opaque dirs carry trusted.overlay.opaque=y.
 *   layers/<hex>.json    {diffId, size, tarSize} of that layer
 *   images/<hex>.json    an ImageRecord; <hex> is the image id without "sha256:"
 *   tmp/<pid>-…          imports in progress (extraction dirs) and layers being deleted;
 *                        whatever a dead process left here is removed on first use
 *
 * Layers enter layers/ only by rename of a fully extracted temp dir and leave it by rename
 * to tmp/, records are written atomically: a crash leaves no half layer or torn record.
 * All state hangs off the instance; use one ImageStore per root.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { TsnetError } from '../../errors/index.js';
import { NO_EVENTS, type EventSink } from '../../events/types.js';
import { Bundle } from './bundle.js';
import { hostArchitecture } from './config.js';
import { loadDockerSave } from './import-docker-save.js';
import { FormatDetector } from './import-detect.js';
import { OciLayoutReader } from './import-oci.js';
import { rootfsConfig } from './import-rootfs.js';
import type { ImportedImage, IngestContext, LayerSink } from './imported.js';
import { extractLayer } from './layer-extract.js';
import { LayerStore, type LayerInfo } from './layer-store.js';
import { DEFAULT_IMPORT_LIMITS, ImportBudget, type ImportLimits } from './limits.js';
import { ImageRecords } from './image-records.js';
import { prescanRootfs } from './prescan.js';
import { idPrefixOf, isFullImageId, normalizeRepoTag, parseReference, repositoryOf, shortId } from './reference.js';
import type {
  CommitOptions,
  ImageConfig,
  ImageHistory,
  ImageRecord,
  ImportFormat,
  ImportOptions,
  RemoveOptions,
  RemoveResult,
} from './types.js';
import { applyChanges } from './dockerfile-changes.js';
import { KeyedMutex } from '../../lib/keyed-mutex.js';

export interface ImageStoreOptions {
  /** Directory of the store, e.g. `/var/lib/tsnet/image`. */
  root: string;
  /** Limits of one import (default: DEFAULT_IMPORT_LIMITS). */
  limits?: ImportLimits;
  /** Where import, tag, untag and delete events go (the daemon's event bus). */
  events?: EventSink;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function uniq<T>(items: Iterable<T>): T[] {
  return [...new Set(items)];
}

const PRESCAN_MAX_BYTES = 64 * 1024 * 1024;

interface Input {
  open(): AsyncIterable<Buffer | string>;
  /** Set when the input is a file (it can then be read twice). */
  file?: string;
  size?: number;
  /** The input in messages. */
  what: string;
}

async function openInput(input: NodeJS.ReadableStream | string): Promise<Input> {
  if (typeof input !== 'string') return { open: () => input as AsyncIterable<Buffer | string>, what: 'archive' };
  const st = await stat(input).catch((err: NodeJS.ErrnoException) => {
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `cannot read ${input}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`,
    );
  });
  if (!st.isFile()) throw new TsnetError('TSNET_INVALID_ARGUMENT', `cannot import ${input}: not a regular file`);
  return {
    open: () => createReadStream(input, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>,
    file: input,
    size: st.size,
    what: `archive ${basename(input)}`,
  };
}

/** The image of a rootfs tarball: its one layer and a generated config. */
function rootfsImage(layer: LayerInfo, opts: ImportOptions): ImportedImage {
  const architecture = hostArchitecture();
  const cfg = rootfsConfig(layer.diffId, {
    architecture,
    ...(opts.cmd ? { cmd: opts.cmd } : {}),
    // dockerd applies an import's changes to an empty config: their `$VAR`s see no environment
    ...(opts.changes?.length ? { edit: (c: ImageConfig) => applyChanges(c, opts.changes!, []) } : {}),
    ...(opts.comment ? { comment: opts.comment } : {}),
  });
  return {
    id: cfg.id,
    architecture,
    os: 'linux',
    config: cfg.config,
    layers: [layer],
    repoTags: [],
    ...(opts.comment ? { comment: opts.comment } : {}),
    // as `docker import` records it (kept in the record only: the config document has no time,
    // so that importing the same tarball gives the same id)
    history: [{ created: new Date().toISOString(), comment: opts.comment || 'Imported from -' }],
  };
}

/** The diff id of a layer with no entries (1024 zero bytes), Docker's `layer.DigestSHA256EmptyTar`. */
export const EMPTY_TAR_DIFF_ID = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';

/** One import: its scratch dir, the layers it pinned and the layers it created. */
class ImportSession implements LayerSink {
  private readonly releases: Array<() => void> = [];
  readonly created = new Set<string>();
  private n = 0;

  constructor(
    private readonly layers: LayerStore,
    readonly work: string,
    readonly budget: ImportBudget,
  ) {}

  scratch(): string {
    return join(this.work, `layer-${this.n++}`);
  }

  track(r: { layer: LayerInfo; created: boolean; release: () => void }): LayerInfo {
    this.releases.push(r.release);
    if (r.created) this.created.add(r.layer.diffId);
    return r.layer;
  }

  async ensure(open: () => AsyncIterable<Buffer>, expected: string, what: string): Promise<LayerInfo> {
    return this.track(await this.layers.ensure(open, { expected, what, scratch: this.scratch(), budget: this.budget }));
  }

  async reuse(diffId: string): Promise<LayerInfo | undefined> {
    const release = this.layers.pin(diffId);
    const present = await this.layers.get(diffId);
    if (!present) {
      release();
      return undefined;
    }
    return this.track({ layer: present, created: false, release });
  }

  release(): void {
    for (const r of this.releases.splice(0)) r();
  }
}

export class ImageStore {
  readonly root: string;
  private readonly layers: LayerStore;
  private readonly records: ImageRecords;
  private readonly tmpDir: string;
  private readonly limits: ImportLimits;
  private ready: Promise<void> | undefined;
  private readonly lock = new KeyedMutex();
  private readonly events: EventSink;

  constructor(opts: ImageStoreOptions) {
    if (!opts || typeof opts.root !== 'string' || opts.root === '') {
      throw new TsnetError('TSNET_INVALID_ARGUMENT', 'ImageStore needs a root directory');
    }
    this.root = opts.root;
    this.events = opts.events ?? NO_EVENTS;
    this.tmpDir = join(this.root, 'tmp');
    this.limits = opts.limits ?? DEFAULT_IMPORT_LIMITS;
    this.layers = new LayerStore(this.root, this.tmpDir);
    this.records = new ImageRecords(this.root);
  }

  /** Create the directories; clear what dead processes left in tmp/ and layers no image uses. Idempotent. */
  init(): Promise<void> {
    this.ready ??= (async () => {
      await mkdir(this.layers.dir, { recursive: true, mode: 0o700 });
      await mkdir(this.records.dir, { recursive: true, mode: 0o700 });
      await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
      for (const name of await readdir(this.tmpDir)) {
        const pid = Number(/^(\d+)-/.exec(name)?.[1]);
        if (!Number.isInteger(pid) || !processAlive(pid)) await rm(join(this.tmpDir, name), { recursive: true, force: true });
      }
      // Temp files of atomic JSON writes (`.<name>.<pid>.<random>.tmp`) by dead processes.
      for (const dir of [this.records.dir, this.layers.dir]) {
        for (const name of await readdir(dir)) {
          const pid = Number(/^\..*\.(\d+)\.[a-z0-9]+\.tmp$/.exec(name)?.[1]);
          if (Number.isInteger(pid) && !processAlive(pid)) await rm(join(dir, name), { force: true });
        }
      }
      // Layers a crash left without an image (moved into place, record never written).
      const keep = new Set((await this.records.list()).flatMap((r) => r.layers));
      await this.layers.collect(keep);
    })().catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  /** Serialize the metadata steps (records, tags, garbage collection). */
  private withLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.run('metadata', fn);
  }

  // ---------------------------------------------------------------- import

  /**
   * Import a `docker save` archive, an OCI image layout or a rootfs tarball (plain or
   * gzip), from a stream or a file path. Returns the records of the images it holds.
   */
  async importTar(input: NodeJS.ReadableStream | string, opts: ImportOptions = {}): Promise<ImageRecord[]> {
    const repoTag = opts.repoTag === undefined || opts.repoTag === '' ? undefined : normalizeRepoTag(opts.repoTag);
    if (opts.cmd !== undefined && (!Array.isArray(opts.cmd) || !opts.cmd.every((c) => typeof c === 'string'))) {
      throw new TsnetError('TSNET_INVALID_ARGUMENT', 'cmd must be a list of strings');
    }
    // a bad change is refused before the archive is read
    if (opts.changes?.length) applyChanges({}, opts.changes);
    const source = await openInput(input);
    return this.inSession(async (session) => {
      const { format, images } = await this.readArchive(source, session, opts);
      if (repoTag !== undefined && images.length !== 1) {
        throw new TsnetError(
          'TSNET_INVALID_ARGUMENT',
          `cannot tag: the archive holds ${images.length} images; import it without a tag, then tag one by id`,
        );
      }
      const saved = await this.withLock(() => this.save(images, format, repoTag));
      for (const r of saved) this.publish(r, 'import', repoTag ?? r.repoTags[0] ?? r.id);
      return saved;
    });
  }

  /**
   * Bring in an image that another component fetches (a registry pull): `load` gets a
   * layer sink, a scratch directory and the layers already stored; the image it returns is
   * recorded with `repoTag` (moved off any other image) and its repoDigests. A failure
   * leaves no layer behind that no image uses.
   */
  async ingest(load: (ctx: IngestContext) => Promise<ImportedImage>, opts: { repoTag?: string } = {}): Promise<ImageRecord> {
    const repoTag = opts.repoTag === undefined ? undefined : normalizeRepoTag(opts.repoTag);
    return this.inSession(async (session) => {
      const ctx: IngestContext = {
        work: session.work,
        ensure: (open, expected, what) => session.ensure(open, expected, what),
        reuse: (diffId) => session.reuse(diffId),
      };
      const image = await load(ctx);
      const [record] = await this.withLock(() => this.save([image], 'oci-layout', repoTag));
      this.publish(record!, 'pull', repoTag ?? image.repoDigests?.[0] ?? record!.id);
      return record!;
    });
  }

  /**
   * `commit`: a new image of `parent`'s layers plus the container's changes (`layer`, a tar in
   * Docker's layer form), with `config`. Its id is the sha256 of its config document, which
   * holds the creation time (two commits of the same container are two images, as in Docker).
   * A failure leaves no layer behind; the record is written last (a crash before it leaves a
   * layer no image uses, which the next start removes). No changes (an empty tar) add no
   * layer, only a history entry with `empty_layer`, as dockerd.
   */
  async commit(c: CommitOptions): Promise<ImageRecord> {
    const repoTag = c.repoTag === undefined || c.repoTag === '' ? undefined : normalizeRepoTag(c.repoTag);
    return this.inSession(async (session) => {
      const layer = session.track(
        await this.layers.ensure(c.layer, { what: 'the container changes', scratch: session.scratch(), budget: session.budget }),
      );
      const created = new Date().toISOString();
      // as dockerd (image.NewChildImage): no changes add no layer, only a history entry
      const empty = layer.diffId === EMPTY_TAR_DIFF_ID;
      const diffIds = empty ? [...c.parent.layers] : [...c.parent.layers, layer.diffId];
      const history: ImageHistory[] = [
        ...(c.parent.history ?? []),
        {
          created,
          ...(c.author ? { author: c.author } : {}),
          ...(c.createdBy ? { created_by: c.createdBy } : {}),
          ...(c.comment ? { comment: c.comment } : {}),
          ...(empty ? { empty_layer: true } : {}),
        },
      ];
      // Key order is fixed: the id is the sha256 of these bytes.
      const doc = {
        architecture: c.parent.architecture,
        ...(c.author ? { author: c.author } : {}),
        ...(c.comment ? { comment: c.comment } : {}),
        config: c.config,
        container: c.container,
        created,
        history,
        os: c.parent.os,
        rootfs: { type: 'layers', diff_ids: diffIds },
      };
      const id = `sha256:${createHash('sha256').update(JSON.stringify(doc)).digest('hex')}`;
      const record: ImageRecord = {
        id,
        repoTags: repoTag ? [repoTag] : [],
        created,
        size: c.parent.size + (empty ? 0 : layer.size),
        layers: diffIds,
        config: c.config,
        architecture: c.parent.architecture,
        os: c.parent.os,
        parent: c.parent.id,
        ...(c.comment ? { comment: c.comment } : {}),
        ...(c.author ? { author: c.author } : {}),
        history,
      };
      await this.withLock(async () => {
        // the parent may have gone while the layer was read: its layers would go with it
        if (!(await this.records.get(c.parent.id)))
          throw new TsnetError('TSNET_IMAGE_NOT_FOUND', `No such image: ${c.parent.id} (removed during the commit)`);
        await this.untagElsewhere(id, record.repoTags);
        await this.records.put(record);
        // the empty layer the read made goes again, unless an image has it
        if (empty && session.created.has(layer.diffId)) {
          session.release();
          await this.layers.collect(new Set((await this.records.list()).flatMap((r) => r.layers)), [layer.diffId]);
        }
      });
      if (repoTag) this.publish(record, 'tag', repoTag);
      return record;
    });
  }

  /** Run one import with its scratch dir and pins; on failure drop the layers it brought in. */
  private async inSession<T>(fn: (session: ImportSession) => Promise<T>): Promise<T> {
    await this.init();
    const session = new ImportSession(
      this.layers,
      await mkdtemp(join(this.tmpDir, `${process.pid}-import-`)),
      new ImportBudget(this.limits),
    );
    try {
      return await fn(session);
    } catch (err) {
      // Layers this import brought in that no image uses stay behind no longer.
      await this.withLock(async () => {
        const keep = new Set((await this.records.list()).flatMap((r) => r.layers));
        session.release();
        await this.layers.collect(keep, session.created);
      }).catch(() => undefined);
      throw err;
    } finally {
      session.release();
      await rm(session.work, { recursive: true, force: true });
    }
  }

  /** Extract the archive and bring in its layers; the images it holds, not yet recorded. */
  private async readArchive(
    input: Input,
    session: ImportSession,
    opts: ImportOptions,
  ): Promise<{ format: ImportFormat; images: ImportedImage[] }> {
    // A rootfs tarball file whose layer is already stored needs no extraction. Reading the
    // file twice costs little for small files (test images, re-imported often); for big
    // ones the extra pass would cost a new import more than it saves a repeated one.
    if (input.file !== undefined && input.size !== undefined && input.size <= PRESCAN_MAX_BYTES) {
      const diffId = await prescanRootfs(input.file);
      if (diffId !== undefined) {
        const release = this.layers.pin(diffId);
        const present = await this.layers.get(diffId);
        if (present)
          return { format: 'rootfs', images: [rootfsImage(session.track({ layer: present, created: false, release }), opts)] };
        release();
      }
    }
    const detector = new FormatDetector();
    const outer = session.scratch();
    const extracted = await extractLayer(input.open(), outer, { what: input.what, detector, budget: session.budget });
    const format = detector.result();
    if (format === 'rootfs') {
      return { format, images: [rootfsImage(session.track(await this.layers.commit(outer, extracted)), opts)] };
    }
    const images =
      format === 'docker-save'
        ? await loadDockerSave(new Bundle(outer, `docker save ${input.what}`), session)
        : await new OciLayoutReader(new Bundle(outer, `OCI layout ${input.what}`), session, {
            os: 'linux',
            architecture: hostArchitecture(),
          }).load();
    await rm(outer, { recursive: true, force: true });
    return { format, images };
  }

  /** Write the records of imported images and move their tags. Runs under the lock. */
  private async save(images: ImportedImage[], format: ImportFormat, repoTag: string | undefined): Promise<ImageRecord[]> {
    const now = new Date().toISOString();
    const out: ImageRecord[] = [];
    for (const image of images) {
      const tags = uniq(format === 'rootfs' ? (repoTag ? [repoTag] : []) : [...image.repoTags, ...(repoTag ? [repoTag] : [])]);
      await this.untagElsewhere(image.id, tags);
      const existing = await this.records.get(image.id);
      const sizes = new Map(image.layers.map((l) => [l.diffId, l.size]));
      const digests = image.repoDigests ?? [];
      const record: ImageRecord = existing
        ? { ...existing, repoTags: uniq([...existing.repoTags, ...tags]) }
        : {
            id: image.id,
            repoTags: tags,
            created: image.created ?? now,
            size: [...sizes.values()].reduce((a, b) => a + b, 0),
            layers: image.layers.map((l) => l.diffId),
            config: image.config,
            architecture: image.architecture,
            os: image.os,
            ...(image.comment ? { comment: image.comment } : {}),
            ...(image.history ? { history: image.history } : {}),
          };
      if (digests.length > 0 || existing?.repoDigests !== undefined) {
        record.repoDigests = uniq([...(existing?.repoDigests ?? []), ...digests]);
      }
      await this.records.put(record);
      out.push(record);
    }
    return out;
  }

  /** Take `tags` off every image but `id` (a tag names one image). */
  private async untagElsewhere(id: string, tags: string[]): Promise<void> {
    if (tags.length === 0) return;
    const wanted = new Set(tags);
    for (const r of await this.records.list()) {
      if (r.id === id || !r.repoTags.some((t) => wanted.has(t))) continue;
      await this.records.put({ ...r, repoTags: r.repoTags.filter((t) => !wanted.has(t)) });
    }
  }

  // ---------------------------------------------------------------- queries

  /** All images, newest first. */
  async list(): Promise<ImageRecord[]> {
    await this.init();
    const all = await this.records.list();
    return all.sort((a, b) => Date.parse(b.created) - Date.parse(a.created) || a.id.localeCompare(b.id));
  }

  /** An image by `name`, `name:tag`, full id, or unambiguous id prefix (with or without `sha256:`). */
  async resolve(ref: string): Promise<ImageRecord> {
    // the store keeps its records frozen (image-records.ts): the caller gets its own copy
    return structuredClone((await this.find(ref)).record);
  }

  private async find(ref: string): Promise<{ record: ImageRecord; tag?: string }> {
    if (typeof ref !== 'string' || ref === '') throw new TsnetError('TSNET_INVALID_ARGUMENT', 'no image given');
    await this.init();
    const all = await this.records.list();
    if (isFullImageId(ref)) {
      const record = all.find((r) => r.id === ref);
      if (record) return { record };
      throw this.notFound(ref);
    }
    const at = ref.indexOf('@');
    if (at > 0) {
      // name@sha256:<manifest digest> (pulled by digest); a tag before the @ is ignored, as Docker does.
      const name = parseReference(ref.slice(0, at)).name;
      const wanted = `${name}@${ref.slice(at + 1)}`;
      const record = all.find((r) => r.repoDigests?.includes(wanted));
      if (record) return { record };
      throw this.notFound(wanted);
    }
    const prefix = idPrefixOf(ref);
    let tag: string | undefined;
    if (!ref.startsWith('sha256:')) {
      try {
        const p = parseReference(ref);
        tag = `${p.name}:${p.tag}`;
      } catch (err) {
        if (prefix === undefined) throw err;
      }
    }
    if (tag !== undefined) {
      const record = all.find((r) => r.repoTags.includes(tag));
      if (record) return { record, tag };
    }
    if (prefix !== undefined) {
      const matches = all.filter((r) => r.id.slice(7).startsWith(prefix));
      if (matches.length === 1) return { record: matches[0]! };
      if (matches.length > 1) {
        throw new TsnetError(
          'TSNET_IMAGE_AMBIGUOUS',
          `image id prefix ${ref} matches ${matches.length} images: give more characters of the id`,
        );
      }
    }
    throw this.notFound(tag ?? ref);
  }

  private notFound(ref: string): TsnetError {
    if (ref.startsWith('sha256:')) {
      return new TsnetError('TSNET_IMAGE_NOT_FOUND', `No such image: ${ref} (list images with: tsnet image ls)`);
    }
    if (ref.includes('@'))
      return new TsnetError('TSNET_IMAGE_NOT_FOUND', `No such image: ${ref} (pull it with: tsnet pull ${ref})`);
    const tagHint = ref.endsWith(':latest') ? ref.slice(0, -':latest'.length) : ref;
    return new TsnetError(
      'TSNET_IMAGE_NOT_FOUND',
      `No such image: ${ref} (pull it with: tsnet pull ${tagHint}, or import one with: tsnet image import FILE --tag ${tagHint})`,
    );
  }

  /** Bytes of file content of a stored layer (0 when it is not there). */
  async layerSize(diffId: string): Promise<number> {
    return (await this.layers.get(diffId))?.size ?? 0;
  }

  /** Overlayfs lower dirs of an image, topmost first (a layer listed twice appears once, at its top position). */
  layerDirs(image: Pick<ImageRecord, 'layers'>): string[] {
    const seen = new Set<string>();
    const dirs: string[] = [];
    for (const diffId of [...image.layers].reverse()) {
      if (seen.has(diffId)) continue;
      seen.add(diffId);
      dirs.push(this.layers.pathOf(diffId));
    }
    return dirs;
  }

  // ---------------------------------------------------------------- changes

  /** Add `newTag` to an image, moving it off whichever image had it. */
  async tag(ref: string, newTag: string): Promise<ImageRecord> {
    const tag = normalizeRepoTag(newTag);
    return this.withLock(async () => {
      const { record } = await this.find(ref);
      await this.untagElsewhere(record.id, [tag]);
      const updated = { ...record, repoTags: uniq([...record.repoTags, tag]) };
      await this.records.put(updated);
      this.publish(updated, 'tag', tag);
      return updated;
    });
  }

  /**
   * Docker's `rmi`: by tag, untag, and delete the image when that was its last tag; by id,
   * delete the image and all its tags. Refused (TSNET_IMAGE_IN_USE) without `force` when a
   * container uses the image, or when an id names an image tagged in several repositories.
   * With `force` an image a container uses loses its tags but is kept (its layers are the
   * container's lower dirs) until it is removed again when no longer used. Layers no image
   * uses any more are deleted.
   */
  async remove(ref: string, opts: RemoveOptions = {}): Promise<RemoveResult> {
    const result = await this.removeLocked(ref, opts);
    // as Docker: one untag per removed reference, then delete; the name attribute is the image id
    for (const _ of result.untagged) this.publish({ id: result.imageId, config: {} }, 'untag', result.imageId);
    for (const id of result.images) this.publish({ id, config: {} }, 'delete', id);
    return { untagged: result.untagged, deleted: result.deleted };
  }

  /** Docker's image event: the image id as actor, its name and labels as attributes. */
  private publish(img: Pick<ImageRecord, 'id' | 'config'>, action: string, name: string): void {
    this.events.publish('image', action, { ID: img.id, Attributes: { ...(img.config.Labels ?? {}), name } });
  }

  /** `images`: the images deleted (the one named, then parents pruned with it). */
  private removeLocked(ref: string, opts: RemoveOptions): Promise<RemoveResult & { imageId: string; images: string[] }> {
    const force = opts.force === true;
    return this.withLock(async () => {
      const { record, tag } = await this.find(ref);
      const used = opts.inUse?.(record.id) === true;
      const short = shortId(record.id);
      const untagged: string[] = [];
      const all = await this.records.list();
      const hasChildren = (id: string) => all.some((r) => r.parent === id);
      if (tag !== undefined) {
        if (record.repoTags.length > 1) {
          await this.records.put({ ...record, repoTags: record.repoTags.filter((t) => t !== tag) });
          return { untagged: [tag], deleted: [], imageId: record.id, images: [] };
        }
        if (used && !force) {
          throw new TsnetError(
            'TSNET_IMAGE_IN_USE',
            `unable to remove ${tag}: image ${short} is used by a container (remove the container first, or use --force to untag it anyway)`,
          );
        }
        untagged.push(tag);
        // as Docker: the last tag of an image that others were committed from goes, the image stays
        if (hasChildren(record.id)) {
          await this.records.put({ ...record, repoTags: [] });
          return { untagged, deleted: [], imageId: record.id, images: [] };
        }
      } else {
        if (hasChildren(record.id)) {
          throw new TsnetError(
            'TSNET_IMAGE_IN_USE',
            `unable to delete ${short} (cannot be forced): images were committed from it (remove them first)`,
          );
        }
        const repositories = uniq(record.repoTags.map(repositoryOf));
        if (repositories.length > 1 && !force) {
          throw new TsnetError(
            'TSNET_IMAGE_IN_USE',
            `unable to delete ${short}: it is tagged in several repositories (${repositories.join(', ')}); remove by tag, or use --force`,
          );
        }
        if (used && !force) {
          throw new TsnetError(
            'TSNET_IMAGE_IN_USE',
            `unable to delete ${short}: image is used by a container (remove the container first, or use --force)`,
          );
        }
        untagged.push(...record.repoTags);
      }
      if (used) {
        await this.records.put({ ...record, repoTags: [] });
        return { untagged, deleted: [], imageId: record.id, images: [] };
      }
      await this.records.delete(record.id);
      const deleted = [record.id];
      // as Docker (unless noprune): untagged parents nothing else uses go with their last child
      let parentId = record.parent;
      while (parentId !== undefined && opts.noprune !== true) {
        const left = await this.records.list();
        const parent = left.find((r) => r.id === parentId);
        if (!parent || parent.repoTags.length > 0 || opts.inUse?.(parent.id) || left.some((r) => r.parent === parent.id)) break;
        await this.records.delete(parent.id);
        deleted.push(parent.id);
        parentId = parent.parent;
      }
      const keep = new Set((await this.records.list()).flatMap((r) => r.layers));
      const deletedLayers = await this.layers.collect(keep);
      return { untagged, deleted: [...deleted, ...deletedLayers], imageId: record.id, images: deleted };
    });
  }
}
