/**
 * What an imported tarball is, decided from its member names, and how a byte stream is
 * compressed, decided from its first bytes. Pure, no I/O.
 *
 * - `manifest.json` at the top: `docker save` output (legacy or the OCI-flavoured one of
 *   Docker 25+, which also has `index.json`; manifest.json wins because it carries RepoTags).
 * - `oci-layout` and `index.json` at the top: an OCI image layout.
 * - anything else: a plain root filesystem (`docker export`, a debootstrap tarball…).
 */
import type { ImportFormat } from './types.js';

export type Compression = 'none' | 'gzip' | 'zstd' | 'bzip2' | 'xz';

const BZIP2_BLOCK = Buffer.from([0x31, 0x41, 0x59, 0x26, 0x53, 0x59]);
const MARKERS = new Set(['manifest.json', 'oci-layout', 'index.json']);

/** Collects the top-level marker files while an archive streams by. */
export class FormatDetector {
  private readonly seen = new Set<string>();

  /** `path` is a normalized member name; only regular files count as markers. */
  add(path: string, isRegularFile: boolean): void {
    if (isRegularFile && MARKERS.has(path)) this.seen.add(path);
  }

  result(): ImportFormat {
    if (this.seen.has('manifest.json')) return 'docker-save';
    if (this.seen.has('oci-layout') && this.seen.has('index.json')) return 'oci-layout';
    return 'rootfs';
  }
}

/** Format of an archive from its member names (`./x` and `x` are the same; dirs end in `/`). */
export function detectFormat(names: Iterable<string>): ImportFormat {
  const d = new FormatDetector();
  for (const raw of names) {
    const isDir = raw.endsWith('/');
    const name = raw.replace(/^(\.?\/)+/, '').replace(/\/+$/, '');
    d.add(name, !isDir);
  }
  return d.result();
}

export function sniffCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  // "BZh" + block size digit + the block magic (pi), so a tar whose first member is named
  // "BZh…" is not mistaken for bzip2.
  if (
    head.length >= 10 &&
    Buffer.from(head.subarray(0, 3)).toString('latin1') === 'BZh' &&
    head[3]! >= 0x31 &&
    head[3]! <= 0x39
  ) {
    if (Buffer.from(head.subarray(4, 10)).equals(BZIP2_BLOCK)) return 'bzip2';
  }
  if (
    head.length >= 6 &&
    head[0] === 0xfd &&
    head[1] === 0x37 &&
    head[2] === 0x7a &&
    head[3] === 0x58 &&
    head[4] === 0x5a &&
    head[5] === 0x00
  ) {
    return 'xz';
  }
  return 'none';
}
