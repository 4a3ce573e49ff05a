/**
 * A pull: reference → manifest (through a manifest list, choosing this platform) → config
 * blob (its digest is the image id) → layers. Layers already stored (by diff id, shared with
 * imported images) are not downloaded; the others are downloaded up to three at a time
 * into the store's scratch dir, verified, and extracted in order by the image store's
 * extractor. The image is recorded with its tag (or, pulled by digest, without one) and
 * its `name@digest`. Progress goes out as Docker's JSON messages.
 */
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { TsnetError } from '../../../errors/index.js';
import { hostArchitecture, parseImageConfig } from '../config.js';
import type { ImageStore } from '../image-store.js';
import type { IngestContext } from '../imported.js';
import type { LayerInfo } from '../layer-store.js';
import type { ImageRecord } from '../types.js';
import type { RegistryCredentials } from './auth.js';
import { downloadLayer } from './download.js';
import type { InsecureRegistries } from './insecure.js';
import {
  choosePlatform,
  layerCompression,
  parseManifest,
  type Descriptor,
  type ImageManifest,
  type Platform,
} from './manifest.js';
import { layerProgress, layerStatus, shortDigest, throttled, type ProgressSink } from './progress.js';
import { RegistryClient } from './registry-client.js';
import { formatRemoteReference, parseRemoteReference, registryHost, type RemoteReference } from './remote-reference.js';

const MAX_CONFIG = 8 * 1024 * 1024;
const MAX_INDEX_DEPTH = 2;
const PARALLEL_DOWNLOADS = 3;

export interface PullerDeps {
  images: ImageStore;
  insecure: InsecureRegistries;
  userAgent: string;
  platform?: Platform;
}

export interface PullRequest {
  /** `NAME[:TAG|@DIGEST]`. */
  reference: string;
  credentials?: RegistryCredentials;
  progress?: ProgressSink;
  signal?: AbortSignal;
  /** `os/arch[/variant]` to choose from a manifest list (default: this host's). */
  platform?: string;
}

export interface PullResult {
  record: ImageRecord;
  /** The manifest digest (of the list when the reference named one). */
  digest: string;
  /** False when the reference already named this image. */
  updated: boolean;
  reference: RemoteReference;
}

function zstdAvailable(): boolean {
  return typeof (zlib as { createZstdDecompress?: unknown }).createZstdDecompress === 'function';
}

/** Run at most `n` jobs at once, in the order they were given. */
function limiter(n: number): <T>(job: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async (job) => {
    if (running >= n) await new Promise<void>((r) => waiting.push(r));
    running++;
    try {
      return await job();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

/** `linux/arm64/v8`, `linux/amd64` → a platform; anything else is refused with one line. */
export function parsePlatform(text: string): Platform {
  const parts = text.toLowerCase().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/.test(p))) {
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid platform "${text}": use os/arch[/variant], e.g. linux/arm64`);
  }
  const [os, architecture, variant] = parts as [string, string, string?];
  return variant ? { os, architecture, variant } : { os, architecture };
}

export class Puller {
  private readonly platform: Platform;

  constructor(private readonly deps: PullerDeps) {
    this.platform = deps.platform ?? { os: 'linux', architecture: hostArchitecture() };
  }

  /** A client for a registry; used by pulls and by login checks. */
  async client(registry: string, repository: string | undefined, credentials: RegistryCredentials, signal?: AbortSignal) {
    const host = registryHost(registry);
    return new RegistryClient({
      host,
      registry,
      ...(repository !== undefined ? { repository } : {}),
      credentials,
      insecure: await this.deps.insecure.isInsecure(host),
      userAgent: this.deps.userAgent,
      ...(signal ? { signal } : {}),
    });
  }

  /** Check credentials against a registry (what `docker login` asks the daemon). */
  async login(registry: string, credentials: RegistryCredentials): Promise<void> {
    const client = await this.client(registry, undefined, credentials);
    await client.ping();
    if (!client.requiresAuth) return;
    await client.authorize();
    await client.checkLogin();
  }

  async pull(req: PullRequest): Promise<PullResult> {
    const ref = parseRemoteReference(req.reference);
    const platform = req.platform ? parsePlatform(req.platform) : this.platform;
    const progress = req.progress ?? (() => undefined);
    const client = await this.client(ref.registry, ref.repository, req.credentials ?? {}, req.signal);
    await client.authorize();

    // Manifest (by digest when given, else by tag), then through an index to this platform.
    const top = await client.manifest(ref.digest ?? ref.tag ?? 'latest');
    let manifest = parseManifest(top.bytes, top.contentType);
    for (let depth = 0; manifest.kind === 'index'; depth++) {
      if (depth >= MAX_INDEX_DEPTH) throw new TsnetError('TSNET_IMAGE_INVALID', 'manifest lists nested too deeply');
      const entry = choosePlatform(manifest, platform);
      const next = await client.manifest(entry.digest);
      manifest = parseManifest(next.bytes, next.contentType);
    }
    const image = manifest;
    progress({ status: `Pulling from ${ref.repository}`, id: ref.digest ?? ref.tag ?? 'latest' });
    for (const l of image.layers) {
      if (layerCompression(l) === 'zstd' && !zstdAvailable()) {
        throw new TsnetError(
          'TSNET_IMAGE_INVALID',
          `layer ${l.digest} is zstd-compressed, which this tsnetd cannot decompress (Node.js ${process.versions.node} has no zstd)`,
        );
      }
    }
    const configBytes = await client.blobBytes(image.config.digest, MAX_CONFIG, `image config ${image.config.digest}`);
    const cfg = parseImageConfig(configBytes, `image config ${image.config.digest}`);
    if (cfg.diffIds.length !== image.layers.length) {
      throw new TsnetError(
        'TSNET_IMAGE_INVALID',
        `the manifest lists ${image.layers.length} layers but the image config has ${cfg.diffIds.length} diff ids`,
      );
    }
    const id = image.config.digest;
    const repoTag = ref.tag !== undefined && ref.digest === undefined ? `${ref.name}:${ref.tag}` : undefined;
    const before = await this.deps.images.resolve(repoTag ?? `${ref.name}@${top.digest}`).catch(() => undefined);
    const record = await this.deps.images.ingest(
      async (ctx) => {
        const layers = await this.layers(ctx, client, image, cfg.diffIds, ref, progress, req.signal);
        return {
          id,
          architecture: cfg.architecture,
          os: cfg.os,
          config: cfg.config,
          layers,
          repoTags: [],
          repoDigests: [`${ref.name}@${top.digest}`],
          ...(cfg.created !== undefined ? { created: cfg.created } : {}),
          ...(cfg.history !== undefined ? { history: cfg.history } : {}),
        };
      },
      repoTag !== undefined ? { repoTag } : {},
    );
    const updated = before?.id !== id;
    progress({ status: `Digest: ${top.digest}` });
    const shown = formatRemoteReference(ref);
    progress({ status: updated ? `Status: Downloaded newer image for ${shown}` : `Status: Image is up to date for ${shown}` });
    return { record, digest: top.digest, updated, reference: ref };
  }

  /** Bring in the layers: reuse the stored ones, download the rest in parallel, extract in order. */
  private async layers(
    ctx: IngestContext,
    client: RegistryClient,
    image: ImageManifest,
    diffIds: string[],
    ref: RemoteReference,
    progress: ProgressSink,
    signal: AbortSignal | undefined,
  ): Promise<LayerInfo[]> {
    const present: Array<LayerInfo | undefined> = [];
    for (const [i, d] of image.layers.entries()) {
      const have = await ctx.reuse(diffIds[i]!);
      present.push(have);
      progress(layerStatus(shortDigest(d.digest), have ? 'Already exists' : 'Pulling fs layer'));
    }
    const name = formatRemoteReference(ref);
    const what = (i: number, d: Descriptor) => `layer ${i + 1}/${image.layers.length} (${shortDigest(d.digest)}) of ${name}`;
    const fileOf = (i: number) => join(ctx.work, `blob-${i}`);
    // Downloads: all queued at once, at most three running; each resolves when its file is verified.
    const cancel = new AbortController();
    const onAbort = () => cancel.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const limit = limiter(PARALLEL_DOWNLOADS);
    const downloads = new Map<number, Promise<void>>();
    let queued = 0;
    for (const [i, d] of image.layers.entries()) {
      if (present[i] !== undefined) continue;
      const short = shortDigest(d.digest);
      if (queued++ >= PARALLEL_DOWNLOADS) progress(layerStatus(short, 'Waiting'));
      const p = limit(async () => {
        if (cancel.signal.aborted) throw new TsnetError('TSNET_REGISTRY_UNAVAILABLE', 'the pull was cancelled');
        await downloadLayer({
          client,
          layer: d,
          file: fileOf(i),
          what: what(i, d),
          signal: cancel.signal,
          onProgress: throttled((c, t) => progress(layerProgress(short, 'Downloading', c, t))),
        });
        progress(layerStatus(short, 'Verifying Checksum'));
        progress(layerStatus(short, 'Download complete'));
      });
      // The first failure stops the other downloads; it surfaces where its layer is awaited.
      p.catch(() => cancel.abort());
      downloads.set(i, p);
    }
    try {
      const out: LayerInfo[] = [];
      for (const [i, d] of image.layers.entries()) {
        const have = present[i];
        if (have) {
          out.push(have);
          continue;
        }
        await downloads.get(i);
        const short = shortDigest(d.digest);
        const report = throttled((c, t) => progress(layerProgress(short, 'Extracting', c, t)));
        const file = fileOf(i);
        const total = d.size;
        const open = async function* (): AsyncGenerator<Buffer> {
          let current = 0;
          for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>) {
            current += chunk.length;
            report(current, total);
            yield chunk;
          }
        };
        out.push(await ctx.ensure(open, diffIds[i]!, what(i, d)));
        await rm(file, { force: true });
        progress(layerStatus(short, 'Pull complete'));
      }
      return out;
    } catch (err) {
      cancel.abort();
      await Promise.allSettled(downloads.values());
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }
}
