/**
 * The image config generated for a plain rootfs tarball (`docker export` output), as
 * `docker import` makes one. It has no creation time, so the id depends only on the
 * content and the options: importing the same tarball again gives the same image.
 */
import { createHash } from 'node:crypto';
import type { ImageConfig } from './types.js';

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface RootfsConfig {
  /** The config document; the image id is its sha256. */
  bytes: Buffer;
  id: string;
  config: ImageConfig;
}

export function rootfsConfig(
  diffId: string,
  opts: { architecture: string; cmd?: string[]; edit?: (c: ImageConfig) => ImageConfig; comment?: string },
): RootfsConfig {
  let config: ImageConfig = { Env: [DEFAULT_PATH] };
  if (opts.cmd !== undefined && opts.cmd.length > 0) config.Cmd = [...opts.cmd];
  // `import --change` (Dockerfile instructions) apply on top
  if (opts.edit) config = opts.edit(config);
  // Key order is fixed here, so the bytes (and the id) are deterministic.
  const doc = {
    architecture: opts.architecture,
    ...(opts.comment ? { comment: opts.comment } : {}),
    config,
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [diffId] },
  };
  const bytes = Buffer.from(JSON.stringify(doc), 'utf8');
  return { bytes, id: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, config };
}
