/**
 * Limits of one image import (tsnetd --image-max-size, --image-max-entries, --image-max-path):
 * a gzip bomb, an archive of millions of files or a path longer than any file system takes
 * stops with one clear error, and the import's clean-up removes what it had extracted.
 * Bytes are counted after decompression: the outer archive and the layers inside it together.
 */
import { TsnetError } from '../../errors/index.js';

export interface ImportLimits {
  /** Uncompressed bytes read in one import. */
  maxBytes: number;
  /** Tar entries (files, directories, links) in one import. */
  maxEntries: number;
  /** Bytes of one entry's path. */
  maxPathLength: number;
}

export const DEFAULT_IMPORT_LIMITS: ImportLimits = {
  maxBytes: 64 * 1024 ** 3,
  maxEntries: 1_000_000,
  maxPathLength: 4096,
};

/** The running count of one import against its limits. */
export class ImportBudget {
  private bytes = 0;
  private entries = 0;

  constructor(readonly limits: ImportLimits = DEFAULT_IMPORT_LIMITS) {}

  addBytes(n: number, what: string): void {
    this.bytes += n;
    if (this.bytes > this.limits.maxBytes) {
      throw new TsnetError(
        'TSNET_IMAGE_INVALID',
        `${what} is too large: more than ${this.limits.maxBytes} bytes uncompressed (tsnetd --image-max-size)`,
      );
    }
  }

  /** A file whose header says `size`: refused before its bytes are read when it cannot fit. */
  checkFileSize(size: number, path: string, what: string): void {
    if (this.bytes + size > this.limits.maxBytes) {
      throw new TsnetError(
        'TSNET_IMAGE_INVALID',
        `${what} is too large: "${path.slice(0, 200)}" alone has ${size} bytes, the limit is ${this.limits.maxBytes} bytes uncompressed (tsnetd --image-max-size)`,
      );
    }
  }

  addEntry(path: string, what: string): void {
    if (++this.entries > this.limits.maxEntries) {
      throw new TsnetError(
        'TSNET_IMAGE_INVALID',
        `${what} has too many entries: more than ${this.limits.maxEntries} files, directories and links (tsnetd --image-max-entries)`,
      );
    }
    if (Buffer.byteLength(path) > this.limits.maxPathLength) {
      throw new TsnetError(
        'TSNET_IMAGE_INVALID',
        `${what} has a path longer than ${this.limits.maxPathLength} bytes: "${path.slice(0, 80)}..." (tsnetd --image-max-path)`,
      );
    }
  }
}

/** Passes `source` through, counting its bytes against `budget`. */
export async function* counted(source: AsyncIterable<Buffer>, budget: ImportBudget, what: string): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    budget.addBytes(chunk.length, what);
    yield chunk;
  }
}

/** `64g`, `512m`, `1024k`, `1000`: a byte count for the tsnetd flags. */
export function parseByteSize(text: string, flag: string): number {
  const m = /^([0-9]+)([kmgt]?)b?$/i.exec(text.trim());
  if (!m) throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid ${flag} "${text}": use a number of bytes, e.g. 512m or 64g`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Number(m[1]) * unit;
}

export function parseCount(text: string, flag: string): number {
  if (!/^[0-9]+$/.test(text.trim()) || Number(text) < 1)
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid ${flag} "${text}": use a positive whole number`);
  return Number(text);
}
