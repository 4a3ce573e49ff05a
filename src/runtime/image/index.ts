/** The image store and its pure helpers. */
export { ImageStore, type ImageStoreOptions } from './image-store.js';
export { parseReference, normalizeRepoTag, shortId, type ParsedReference } from './reference.js';
export { formatSize } from './size.js';
export type { ImageConfig, ImageRecord, ImportFormat, ImportOptions, RemoveOptions, RemoveResult } from './types.js';
