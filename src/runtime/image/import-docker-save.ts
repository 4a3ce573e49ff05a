/**
 * `docker save` archives: `manifest.json` lists, per image, the config file (its sha256 is
 * the image id), the tags, and the layer tars bottom first (`<hash>/layer.tar` in the
 * legacy format, `blobs/sha256/<hex>` since Docker 25; plain or gzip).
 */
import { createHash } from 'node:crypto';
import { TsnetError } from '../../errors/index.js';
import type { Bundle } from './bundle.js';
import { parseImageConfig } from './config.js';
import type { ImportedImage, LayerSink } from './imported.js';
import { normalizeRepoTag } from './reference.js';

interface ManifestItem {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

function parseManifest(value: unknown, bundle: Bundle): ManifestItem[] {
  if (!Array.isArray(value) || value.length === 0) throw bundle.invalid('manifest.json is not a non-empty list of images');
  return value.map((raw, i) => {
    const item = raw as Partial<Record<keyof ManifestItem, unknown>> | null;
    if (typeof item !== 'object' || item === null) throw bundle.invalid(`manifest.json entry ${i + 1} is not an object`);
    if (typeof item.Config !== 'string') throw bundle.invalid(`manifest.json entry ${i + 1} has no Config`);
    if (!Array.isArray(item.Layers) || !item.Layers.every((l) => typeof l === 'string')) {
      throw bundle.invalid(`manifest.json entry ${i + 1} has no Layers list`);
    }
    const tags = item.RepoTags ?? [];
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string'))
      throw bundle.invalid(`manifest.json entry ${i + 1} has bad RepoTags`);
    return { Config: item.Config, RepoTags: tags as string[], Layers: item.Layers as string[] };
  });
}

export async function loadDockerSave(bundle: Bundle, layers: LayerSink): Promise<ImportedImage[]> {
  const manifest = parseManifest((await bundle.readJson('manifest.json')).value, bundle);
  const images = new Map<string, ImportedImage>();
  for (const item of manifest) {
    const configBytes = await bundle.readBytes(item.Config);
    const id = `sha256:${createHash('sha256').update(configBytes).digest('hex')}`;
    const cfg = parseImageConfig(configBytes, `image config ${item.Config} in ${bundle.what}`);
    if (cfg.diffIds.length !== item.Layers.length) {
      throw bundle.invalid(
        `image ${id.slice(7, 19)} lists ${item.Layers.length} layers but its config has ${cfg.diffIds.length} diff ids`,
      );
    }
    const repoTags = item.RepoTags.map((t) => {
      try {
        return normalizeRepoTag(t);
      } catch (err) {
        throw new TsnetError('TSNET_IMAGE_INVALID', `invalid ${bundle.what}: bad RepoTag "${t}" (${(err as Error).message})`);
      }
    });
    const existing = images.get(id);
    if (existing) {
      existing.repoTags = [...new Set([...existing.repoTags, ...repoTags])];
      continue;
    }
    const imageLayers = [];
    for (const [i, name] of item.Layers.entries()) {
      const what = `layer ${i + 1}/${item.Layers.length} (${name}) of ${bundle.what}`;
      imageLayers.push(await layers.ensure(() => bundle.open(name), cfg.diffIds[i]!, what));
    }
    const image: ImportedImage = {
      id,
      architecture: cfg.architecture,
      os: cfg.os,
      config: cfg.config,
      layers: imageLayers,
      repoTags,
    };
    if (cfg.created !== undefined) image.created = cfg.created;
    if (cfg.history !== undefined) image.history = cfg.history;
    images.set(id, image);
  }
  return [...images.values()];
}
