/**
 * OCI image layouts: `oci-layout` + `index.json` → manifest (through nested indexes,
 * choosing this host's linux platform) → config blob (its digest is the image id) and
 * layer blobs (`blobs/sha256/<hex>`, plain or gzip). Every blob read is checked against
 * its digest. Tags come from the `io.containerd.image.name` annotation, or from
 * `org.opencontainers.image.ref.name` when that is a full reference (`busybox:1.36`);
 * a bare ref name (`latest`) names no repository and is ignored.
 */
import { createHash } from 'node:crypto';
import { TsnetError } from '../../errors/index.js';
import type { Bundle } from './bundle.js';
import { DIGEST, parseImageConfig } from './config.js';
import type { ImportedImage, LayerSink } from './imported.js';
import { normalizeRepoTag } from './reference.js';

const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);
const MANIFEST_TYPES = new Set([
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
]);
const CONFIG_TYPES = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);
const LAYER_TYPES = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.diff.tar',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
]);
const FOREIGN_LAYER_TYPES = new Set([
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
]);
const MAX_DEPTH = 4;

interface Platform {
  os?: string;
  architecture?: string;
  variant?: string;
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  annotations?: Record<string, string>;
  platform?: Platform;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function descriptor(v: unknown, bundle: Bundle, where: string): Descriptor {
  if (!isObject(v) || typeof v.digest !== 'string') throw bundle.invalid(`${where} is not a descriptor`);
  if (!DIGEST.test(v.digest))
    throw bundle.invalid(`${where} has the unsupported digest "${v.digest}" (only sha256 is supported)`);
  const d: Descriptor = { digest: v.digest };
  if (typeof v.mediaType === 'string') d.mediaType = v.mediaType;
  if (typeof v.size === 'number') d.size = v.size;
  if (isObject(v.annotations)) {
    d.annotations = Object.fromEntries(Object.entries(v.annotations).filter(([, s]) => typeof s === 'string')) as Record<
      string,
      string
    >;
  }
  if (isObject(v.platform)) d.platform = v.platform as Platform;
  return d;
}

function descriptors(v: unknown, bundle: Bundle, where: string): Descriptor[] {
  if (!Array.isArray(v)) throw bundle.invalid(`${where} is not a list`);
  return v.map((d, i) => descriptor(d, bundle, `${where}[${i}]`));
}

function blobName(digest: string): string {
  return `blobs/sha256/${digest.slice('sha256:'.length)}`;
}

function platformName(p: Platform | undefined): string {
  if (!p) return 'unknown';
  return [p.os ?? '?', p.architecture ?? '?', p.variant].filter(Boolean).join('/');
}

function isAttestation(d: Descriptor): boolean {
  return d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' || d.platform?.os === 'unknown';
}

/** Tags named by a top-level descriptor's annotations. */
export function tagsFromAnnotations(annotations: Record<string, string> | undefined): string[] {
  if (!annotations) return [];
  const candidates = [annotations['io.containerd.image.name'], annotations['org.opencontainers.image.ref.name']];
  for (const c of candidates) {
    if (c === undefined || c === '') continue;
    if (c === annotations['org.opencontainers.image.ref.name'] && !c.includes(':') && !c.includes('/')) continue;
    try {
      return [normalizeRepoTag(c)];
    } catch {}
  }
  return [];
}

export class OciLayoutReader {
  constructor(
    private readonly bundle: Bundle,
    private readonly layers: LayerSink,
    private readonly platform: { os: string; architecture: string },
  ) {}

  /** A blob's bytes, checked against its digest. */
  private async blob(d: Descriptor): Promise<Buffer> {
    const bytes = await this.bundle.readBytes(blobName(d.digest));
    const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (actual !== d.digest) throw this.bundle.invalid(`blob ${d.digest} hashes to ${actual}`);
    return bytes;
  }

  private async json(d: Descriptor, what: string): Promise<Record<string, unknown>> {
    const bytes = await this.blob(d);
    try {
      const v: unknown = JSON.parse(bytes.toString('utf8'));
      if (!isObject(v)) throw new Error('not an object');
      return v;
    } catch (err) {
      throw this.bundle.invalid(`${what} ${d.digest} is not a JSON object (${(err as Error).message})`);
    }
  }

  private matches(p: Platform | undefined): boolean {
    return p?.os === this.platform.os && p?.architecture === this.platform.architecture;
  }

  /** The image manifest a descriptor leads to, choosing this platform in indexes. */
  private async manifest(d: Descriptor, depth: number): Promise<Record<string, unknown>> {
    if (depth > MAX_DEPTH) throw this.bundle.invalid('indexes nested too deeply');
    const doc = await this.json(d, 'manifest');
    const mediaType = d.mediaType ?? (typeof doc.mediaType === 'string' ? doc.mediaType : undefined);
    const isIndex = mediaType !== undefined ? INDEX_TYPES.has(mediaType) : Array.isArray(doc.manifests);
    if (!isIndex) {
      if (mediaType !== undefined && !MANIFEST_TYPES.has(mediaType))
        throw this.bundle.invalid(`unsupported manifest type ${mediaType}`);
      return doc;
    }
    const entries = descriptors(doc.manifests, this.bundle, `index ${d.digest.slice(0, 19)} manifests`).filter(
      (e) => !isAttestation(e),
    );
    const chosen =
      entries.find((e) => this.matches(e.platform)) ?? (entries.length === 1 && !entries[0]!.platform ? entries[0] : undefined);
    if (!chosen) {
      const have = entries.map((e) => platformName(e.platform)).join(', ') || 'none';
      throw new TsnetError(
        'TSNET_IMAGE_INVALID',
        `${this.bundle.what} has no ${this.platform.os}/${this.platform.architecture} image (it has: ${have})`,
      );
    }
    return this.manifest(chosen, depth + 1);
  }

  private async image(manifest: Record<string, unknown>, repoTags: string[]): Promise<ImportedImage> {
    const configDesc = descriptor(manifest.config, this.bundle, 'manifest config');
    if (configDesc.mediaType !== undefined && !CONFIG_TYPES.has(configDesc.mediaType)) {
      throw this.bundle.invalid(`not a container image (config type ${configDesc.mediaType})`);
    }
    const configBytes = await this.blob(configDesc);
    const cfg = parseImageConfig(configBytes, `image config ${configDesc.digest.slice(0, 19)} in ${this.bundle.what}`);
    const layerDescs = descriptors(manifest.layers, this.bundle, 'manifest layers');
    if (layerDescs.length !== cfg.diffIds.length) {
      throw this.bundle.invalid(`manifest lists ${layerDescs.length} layers but the config has ${cfg.diffIds.length} diff ids`);
    }
    const layers = [];
    for (const [i, d] of layerDescs.entries()) {
      if (d.mediaType !== undefined && FOREIGN_LAYER_TYPES.has(d.mediaType) && !(await this.bundle.has(blobName(d.digest)))) {
        throw this.bundle.invalid(`layer ${d.digest} is a foreign layer that is not in the archive`);
      }
      if (d.mediaType !== undefined && !LAYER_TYPES.has(d.mediaType) && !FOREIGN_LAYER_TYPES.has(d.mediaType)) {
        throw this.bundle.invalid(`layer ${d.digest} has the unsupported type ${d.mediaType}`);
      }
      const what = `layer ${i + 1}/${layerDescs.length} (${d.digest.slice(0, 19)}) of ${this.bundle.what}`;
      layers.push(await this.layers.ensure(() => this.verified(d), cfg.diffIds[i]!, what));
    }
    const image: ImportedImage = {
      id: configDesc.digest,
      architecture: cfg.architecture,
      os: cfg.os,
      config: cfg.config,
      layers,
      repoTags,
    };
    if (cfg.created !== undefined) image.created = cfg.created;
    if (cfg.history !== undefined) image.history = cfg.history;
    return image;
  }

  /** A layer blob's bytes, failing at the end if they do not hash to the digest. */
  private verified(d: Descriptor): AsyncIterable<Buffer> {
    const source = this.bundle.open(blobName(d.digest));
    const bundle = this.bundle;
    return {
      async *[Symbol.asyncIterator]() {
        const hash = createHash('sha256');
        for await (const chunk of source) {
          hash.update(chunk);
          yield chunk;
        }
        const actual = `sha256:${hash.digest('hex')}`;
        if (actual !== d.digest) throw bundle.invalid(`layer blob ${d.digest} hashes to ${actual}`);
      },
    };
  }

  async load(): Promise<ImportedImage[]> {
    const layout = (await this.bundle.readJson('oci-layout')).value;
    if (!isObject(layout) || typeof layout.imageLayoutVersion !== 'string')
      throw this.bundle.invalid('oci-layout has no imageLayoutVersion');
    const index = (await this.bundle.readJson('index.json')).value;
    if (!isObject(index)) throw this.bundle.invalid('index.json is not a JSON object');
    const top = descriptors(index.manifests, this.bundle, 'index.json manifests').filter((d) => !isAttestation(d));
    // Entries for other platforms listed side by side at the top level are skipped.
    const wanted = top.filter((d) => !d.platform || this.matches(d.platform));
    if (wanted.length === 0) {
      const have = top.map((d) => platformName(d.platform)).join(', ') || 'none';
      throw new TsnetError(
        'TSNET_IMAGE_INVALID',
        `${this.bundle.what} has no ${this.platform.os}/${this.platform.architecture} image (it has: ${have})`,
      );
    }
    const images = new Map<string, ImportedImage>();
    for (const d of wanted) {
      const tags = tagsFromAnnotations(d.annotations);
      const manifest = await this.manifest(d, 0);
      const configDigest = isObject(manifest.config) ? manifest.config.digest : undefined;
      const existing = typeof configDigest === 'string' ? images.get(configDigest) : undefined;
      if (existing) {
        existing.repoTags = [...new Set([...existing.repoTags, ...tags])];
        continue;
      }
      const image = await this.image(manifest, tags);
      images.set(image.id, image);
    }
    return [...images.values()];
  }
}
