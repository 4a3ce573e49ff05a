/**
 * Registry manifests: OCI image index / Docker manifest list (one entry per platform) and
 * OCI image manifest / Docker image manifest v2 schema 2 (config + layers). Parsing, and
 * choosing this host's platform from an index. Pure, no I/O.
 */
import { TsnetError } from '../../../errors/index.js';
import { DIGEST } from '../config.js';

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const SCHEMA1 = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);

/** What the client asks for, in order of preference. */
export const MANIFEST_ACCEPT = [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST];

const CONFIG_TYPES = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);
const GZIP_LAYERS = new Set(['application/vnd.oci.image.layer.v1.tar+gzip', 'application/vnd.docker.image.rootfs.diff.tar.gzip']);
const PLAIN_LAYERS = new Set(['application/vnd.oci.image.layer.v1.tar', 'application/vnd.docker.image.rootfs.diff.tar']);
const ZSTD_LAYERS = new Set(['application/vnd.oci.image.layer.v1.tar+zstd']);
const FOREIGN_LAYERS = new Set([
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
]);

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface ImageManifest {
  kind: 'manifest';
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ManifestIndex {
  kind: 'index';
  mediaType: string;
  manifests: Descriptor[];
}

export type Manifest = ImageManifest | ManifestIndex;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(what: string, why: string): TsnetError {
  return new TsnetError('TSNET_REGISTRY_ERROR', `the registry sent an invalid ${what}: ${why}`);
}

function descriptor(v: unknown, what: string): Descriptor {
  if (!isObject(v)) throw bad(what, 'not a descriptor');
  if (typeof v.digest !== 'string' || !DIGEST.test(v.digest)) {
    throw bad(what, `unsupported digest ${JSON.stringify(v.digest)} (only sha256 is supported)`);
  }
  if (typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0) throw bad(what, 'no valid size');
  const d: Descriptor = { mediaType: typeof v.mediaType === 'string' ? v.mediaType : '', digest: v.digest, size: v.size };
  if (isObject(v.platform) && typeof v.platform.os === 'string' && typeof v.platform.architecture === 'string') {
    d.platform = { os: v.platform.os, architecture: v.platform.architecture };
    if (typeof v.platform.variant === 'string' && v.platform.variant !== '') d.platform.variant = v.platform.variant;
  }
  if (isObject(v.annotations)) {
    d.annotations = Object.fromEntries(Object.entries(v.annotations).filter(([, s]) => typeof s === 'string')) as Record<
      string,
      string
    >;
  }
  if (Array.isArray(v.urls)) d.urls = v.urls.filter((u): u is string => typeof u === 'string');
  return d;
}

function descriptors(v: unknown, what: string): Descriptor[] {
  if (!Array.isArray(v)) throw bad(what, 'not a list');
  return v.map((d, i) => descriptor(d, `${what}[${i}]`));
}

/**
 * Parse a manifest document. `contentType` is the registry's Content-Type; the document's
 * own mediaType decides when the header is missing or generic.
 */
export function parseManifest(bytes: Buffer, contentType: string | undefined): Manifest {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw bad('manifest', `not JSON (${(err as Error).message})`);
  }
  if (!isObject(doc)) throw bad('manifest', 'not a JSON object');
  const header = (contentType ?? '').split(';')[0]!.trim();
  const own = typeof doc.mediaType === 'string' ? doc.mediaType : '';
  let mediaType = [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST].includes(header) ? header : own;
  if (SCHEMA1.has(header) || SCHEMA1.has(own) || doc.schemaVersion === 1) {
    throw new TsnetError(
      'TSNET_IMAGE_INVALID',
      'the registry only has a Docker schema 1 manifest for this image, which tsnet does not support (push it again with a current client)',
    );
  }
  if (mediaType === '') mediaType = Array.isArray(doc.manifests) ? OCI_INDEX : OCI_MANIFEST;
  if (mediaType === OCI_INDEX || mediaType === DOCKER_LIST) {
    return { kind: 'index', mediaType, manifests: descriptors(doc.manifests, 'manifest list') };
  }
  if (mediaType !== OCI_MANIFEST && mediaType !== DOCKER_MANIFEST) {
    throw new TsnetError('TSNET_IMAGE_INVALID', `the registry sent a manifest of the unsupported type ${mediaType}`);
  }
  const config = descriptor(doc.config, 'manifest config');
  if (config.mediaType !== '' && !CONFIG_TYPES.has(config.mediaType)) {
    throw new TsnetError('TSNET_IMAGE_INVALID', `not a container image (its config has the type ${config.mediaType})`);
  }
  return { kind: 'manifest', mediaType, config, layers: descriptors(doc.layers, 'manifest layers') };
}

export type LayerCompression = 'gzip' | 'none' | 'zstd';

/** How a layer blob is compressed, from its media type; refuses what cannot be a layer. */
export function layerCompression(d: Descriptor): LayerCompression {
  if (GZIP_LAYERS.has(d.mediaType) || d.mediaType === '') return 'gzip';
  if (PLAIN_LAYERS.has(d.mediaType)) return 'none';
  if (ZSTD_LAYERS.has(d.mediaType)) return 'zstd';
  if (FOREIGN_LAYERS.has(d.mediaType)) {
    throw new TsnetError(
      'TSNET_IMAGE_INVALID',
      `layer ${d.digest} is a foreign (non-distributable) layer, which tsnet does not download`,
    );
  }
  throw new TsnetError('TSNET_IMAGE_INVALID', `layer ${d.digest} has the unsupported type ${d.mediaType}`);
}

/** Go's spelling of variants, as containerd normalizes them. */
function normalizeVariant(arch: string, variant: string | undefined): string {
  const v = variant ?? '';
  if (arch === 'arm64' && (v === 'v8' || v === '8')) return '';
  if (arch === 'amd64' && v === 'v1') return '';
  if (arch === 'arm' && v === '') return 'v7';
  return v;
}

export function platformName(p: Platform | undefined): string {
  if (!p) return 'unknown';
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

function isAttestation(d: Descriptor): boolean {
  return d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' || d.platform?.os === 'unknown';
}

/**
 * The entry of an index for `want`: same os and architecture, the same variant when there
 * is one for it, else one without a variant, else (amd64) the lowest level offered.
 */
export function choosePlatform(index: ManifestIndex, want: Platform): Descriptor {
  const entries = index.manifests.filter((d) => !isAttestation(d));
  const sameArch = entries.filter((d) => d.platform?.os === want.os && d.platform.architecture === want.architecture);
  const wantVariant = normalizeVariant(want.architecture, want.variant);
  const exact = sameArch.find((d) => normalizeVariant(want.architecture, d.platform?.variant) === wantVariant);
  const chosen =
    exact ??
    sameArch.find((d) => d.platform?.variant === undefined) ??
    (want.architecture === 'amd64'
      ? [...sameArch].sort((a, b) => (a.platform?.variant ?? '').localeCompare(b.platform?.variant ?? ''))[0]
      : undefined);
  if (chosen) return chosen;
  const have = entries.map((d) => platformName(d.platform)).join(', ') || 'none';
  throw new TsnetError(
    'TSNET_IMAGE_NOT_FOUND',
    `no matching manifest for ${platformName(want)} in the manifest list entries (it has: ${have})`,
  );
}
