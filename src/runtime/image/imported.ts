/** What the format readers hand back to the store, and what they need from it. */
import type { LayerInfo } from './layer-store.js';
import type { ImageConfig, ImageHistory } from './types.js';

export interface ImportedImage {
  id: string;
  created?: string;
  architecture: string;
  os: string;
  config: ImageConfig;
  /** Bottom first. */
  layers: LayerInfo[];
  /** Normalized `name:tag`s the archive names for this image. */
  repoTags: string[];
  /** `name@sha256:…` of the registry manifest (pulled images). */
  repoDigests?: string[];
  /** `import --message`. */
  comment?: string;
  /** The config's history, oldest first. */
  history?: ImageHistory[];
}

export interface LayerSink {
  /**
   * Make sure the layer with diff id `expected` is present, extracting it from `open()`
   * when it is not. `what` names it in messages.
   */
  ensure(open: () => AsyncIterable<Buffer>, expected: string, what: string): Promise<LayerInfo>;
}

/** What a registry pull gets from the store while it brings an image in. */
export interface IngestContext extends LayerSink {
  /** A scratch directory of this ingest (removed at its end), for downloads. */
  work: string;
  /** The layer if it is stored already (and then kept until the image is recorded). */
  reuse(diffId: string): Promise<LayerInfo | undefined>;
}
