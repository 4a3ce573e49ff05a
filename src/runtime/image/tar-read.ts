/**
 * Reading tar streams: transparent decompression, and a streaming reader that yields one
 * entry at a time with its body as an async iterator, pulling from the source only as the
 * body is consumed (nothing larger than a source chunk, or a 1 MiB pax header, is held in
 * memory). Every uncompressed byte, including padding after the end of the archive, goes
 * through a TarDigest: that is the layer's diff id.
 *
 * Header fields are decoded by node-tar's Header; the rest is done here because node-tar's
 * Parser drops xattrs (pax `SCHILY.xattr.*`, needed for file capabilities) and reads no
 * device numbers from GNU-format headers (what GNU tar writes by default).
 */
import { createHash } from 'node:crypto';
import { Readable, pipeline } from 'node:stream';
import * as zlib from 'node:zlib';
import { Header } from 'tar';
import { TsnetError } from '../../errors/index.js';
import { sniffCompression } from './import-detect.js';

const SNIFF_BYTES = 10;
const BLOCK = 512;
const MAX_META = 1024 * 1024;
const EMPTY = Buffer.alloc(0);

async function* asBuffers(source: AsyncIterable<Buffer | string | Uint8Array>): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    yield typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
  }
}

function isZlibError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/**
 * The bytes of `source`, gunzipped when they start with the gzip magic (zstd too where
 * this Node has it). Other compressions are refused with a clear error.
 */
export async function* decompress(source: AsyncIterable<Buffer | string | Uint8Array>, what: string): AsyncGenerator<Buffer> {
  const it = asBuffers(source)[Symbol.asyncIterator]();
  try {
    const head: Buffer[] = [];
    let headLength = 0;
    let ended = false;
    while (headLength < SNIFF_BYTES) {
      const r = await it.next();
      if (r.done) {
        ended = true;
        break;
      }
      head.push(r.value);
      headLength += r.value.length;
    }
    const first = Buffer.concat(head);
    const rest = async function* (): AsyncGenerator<Buffer> {
      if (first.length > 0) yield first;
      if (ended) return;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    };
    const kind = sniffCompression(first);
    if (kind === 'none') {
      yield* rest();
      return;
    }
    const zstd = (zlib as unknown as { createZstdDecompress?: () => NodeJS.ReadWriteStream }).createZstdDecompress;
    let decompressor: NodeJS.ReadWriteStream;
    if (kind === 'gzip') decompressor = zlib.createGunzip();
    else if (kind === 'zstd' && zstd) decompressor = zstd();
    else {
      throw new TsnetError(
        'TSNET_IMAGE_INVALID',
        `${what} is ${kind}-compressed; only uncompressed and gzip-compressed tar archives can be imported`,
      );
    }
    const out = pipeline(Readable.from(rest(), { objectMode: false }), decompressor, () => {});
    try {
      for await (const chunk of out as AsyncIterable<Buffer>) yield chunk;
    } catch (err) {
      if (isZlibError(err)) {
        throw new TsnetError('TSNET_IMAGE_INVALID', `${what} is corrupt: cannot decompress it (${(err as Error).message})`, {
          cause: err,
        });
      }
      throw err;
    }
  } finally {
    await it.return?.(undefined);
  }
}

/** sha256 and length of the (uncompressed) tar bytes read so far. */
export class TarDigest {
  private readonly hash = createHash('sha256');
  bytes = 0;
  update(chunk: Buffer): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
  }
  /** `sha256:<hex>`; call once, after the stream is done. */
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/** Pulls bytes from an async source on demand. */
class ByteReader {
  private buf: Buffer = EMPTY;
  private ended = false;
  private readonly it: AsyncIterator<Buffer>;

  constructor(
    source: AsyncIterable<Buffer>,
    private readonly onChunk: (chunk: Buffer) => void,
    private readonly truncated: () => Error,
  ) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    if (this.ended) return false;
    const r = await this.it.next();
    if (r.done) {
      this.ended = true;
      return false;
    }
    this.onChunk(r.value);
    this.buf = this.buf.length === 0 ? r.value : Buffer.concat([this.buf, r.value]);
    return true;
  }

  /** Exactly n bytes, or undefined at a clean end of input. */
  async exact(n: number): Promise<Buffer | undefined> {
    while (this.buf.length < n) {
      if (!(await this.fill())) {
        if (this.buf.length === 0) return undefined;
        throw this.truncated();
      }
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Between 1 and n bytes. */
  async upTo(n: number): Promise<Buffer> {
    if (this.buf.length === 0 && !(await this.fill())) throw this.truncated();
    const take = Math.min(n, this.buf.length);
    const out = this.buf.subarray(0, take);
    this.buf = this.buf.subarray(take);
    return out;
  }

  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) left -= (await this.upTo(left)).length;
  }

  /** Read (and hash) whatever follows, discarding it. */
  async drain(): Promise<void> {
    this.buf = EMPTY;
    while (await this.fill()) this.buf = EMPTY;
  }

  async close(): Promise<void> {
    await this.it.return?.(undefined);
  }
}

/** Tar typeflags as letters; `0` stands for regular files (`0`, NUL, `7`). */
export type TarType = '0' | '1' | '2' | '3' | '4' | '5' | '6';

export interface TarEntry {
  /** Member name as written in the archive (not yet normalized). */
  path: string;
  type: TarType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
  linkpath: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes from pax `SCHILY.xattr.*` / `LIBARCHIVE.xattr.*` records. */
  xattrs: Map<string, Buffer>;
  /** The body; consume it before asking for the next entry (or leave it: it is skipped). */
  body(): AsyncGenerator<Buffer>;
}

interface Overrides {
  path?: string;
  linkpath?: string;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  xattrs: Map<string, Buffer>;
  sparse?: boolean;
}

function parseOctal(block: Buffer, off: number, len: number): number {
  const s = block
    .toString('latin1', off, off + len)
    .replace(/\0.*$/s, '')
    .trim();
  if (s === '') return 0;
  const n = parseInt(s, 8);
  return Number.isNaN(n) ? 0 : n;
}

/** Parse a pax extended header body into `into` (binary-safe for xattr values). */
export function parsePax(body: Buffer, into: Overrides, global: boolean): void {
  let pos = 0;
  while (pos < body.length) {
    if (body[pos] === 0) break;
    const space = body.indexOf(0x20, pos);
    if (space < 0) break;
    const length = parseInt(body.toString('latin1', pos, space), 10);
    if (!Number.isInteger(length) || length <= 0 || pos + length > body.length) throw new Error('malformed pax header');
    const record = body.subarray(space + 1, pos + length - 1); // without the trailing \n
    pos += length;
    const eq = record.indexOf(0x3d);
    if (eq < 0) continue;
    const key = record.toString('utf8', 0, eq);
    const raw = record.subarray(eq + 1);
    const value = (): string => raw.toString('utf8');
    if (key.startsWith('SCHILY.xattr.')) {
      into.xattrs.set(key.slice('SCHILY.xattr.'.length), Buffer.from(raw));
    } else if (key.startsWith('LIBARCHIVE.xattr.')) {
      into.xattrs.set(decodeURIComponent(key.slice('LIBARCHIVE.xattr.'.length)), Buffer.from(value(), 'base64'));
    } else if (key.startsWith('GNU.sparse.')) {
      into.sparse = true;
    } else if (key === 'path' && !global) {
      into.path = value();
    } else if (key === 'linkpath' && !global) {
      into.linkpath = value();
    } else if (key === 'size') {
      into.size = Number(value());
    } else if (key === 'uid') {
      into.uid = Number(value());
    } else if (key === 'gid') {
      into.gid = Number(value());
    } else if (key === 'mtime') {
      into.mtime = new Date(Number(value()) * 1000);
    }
  }
}

const TYPES: Partial<Record<string, TarType | 'meta' | 'skip' | 'unsupported'>> = {
  '0': '0',
  '\0': '0',
  '7': '0',
  '1': '1',
  '2': '2',
  '3': '3',
  '4': '4',
  '5': '5',
  '6': '6',
  x: 'meta',
  g: 'meta',
  L: 'meta',
  K: 'meta',
  D: '5', // GNU dump dir: a directory followed by a listing to skip
  S: 'unsupported', // GNU sparse
  M: 'unsupported', // multi-volume continuation
  V: 'skip', // volume label
};

/**
 * The entries of an uncompressed tar stream, in order. Malformed archives (bad checksums,
 * truncation, not a tar at all) throw TSNET_IMAGE_INVALID.
 */
export async function* tarEntries(source: AsyncIterable<Buffer>, digest: TarDigest, what: string): AsyncGenerator<TarEntry> {
  const bad = (why: string): TsnetError => new TsnetError('TSNET_IMAGE_INVALID', `${what} is not a valid tar archive: ${why}`);
  const reader = new ByteReader(
    source,
    (c) => digest.update(c),
    () => bad('unexpected end of data (truncated?)'),
  );
  const global: Overrides = { xattrs: new Map() };
  let local: Overrides = { xattrs: new Map() };
  let entries = 0;
  try {
    for (;;) {
      const block = await reader.exact(BLOCK);
      if (block === undefined) {
        if (entries === 0) throw bad('it is empty');
        break; // no end-of-archive blocks: tolerated, like GNU tar
      }
      const header = new Header(block);
      // an archive of no entries (its end-of-archive blocks only) is valid: an empty layer, a
      // commit of a container that changed nothing
      if (header.nullBlock) break;
      if (!header.cksumValid)
        throw bad(entries === 0 ? 'no tar header at the start' : `bad header checksum after ${entries} entries`);
      entries++;
      const flag = String.fromCharCode(block[156]!);
      let kind = TYPES[flag];
      // Old (v7) archives mark directories as regular files whose name ends in a slash.
      if (kind === '0' && (local.path ?? header.path ?? '').endsWith('/')) kind = '5';
      if (kind === 'meta') {
        // A pending pax size applies to the next file entry, never to another meta header.
        const size = header.size ?? 0;
        if (size > MAX_META) throw bad(`a "${flag}" header of ${size} bytes is too large`);
        const body = size === 0 ? EMPTY : await reader.exact(Math.ceil(size / BLOCK) * BLOCK);
        if (body === undefined) throw bad('unexpected end of data (truncated?)');
        const data = body.subarray(0, size);
        try {
          if (flag === 'x') parsePax(data, local, false);
          else if (flag === 'g') parsePax(data, global, true);
          else if (flag === 'L') local.path = data.toString('utf8').replace(/\0.*$/s, '');
          else local.linkpath = data.toString('utf8').replace(/\0.*$/s, '');
        } catch (err) {
          throw bad((err as Error).message);
        }
        continue;
      }
      const path = local.path ?? header.path ?? '';
      if (kind === undefined || kind === 'unsupported' || local.sparse) {
        const sparse = local.sparse || flag === 'S' ? ' (sparse file)' : '';
        throw new TsnetError('TSNET_IMAGE_INVALID', `${what}: entry "${path}" has an unsupported tar type "${flag}"${sparse}`);
      }
      if (path === '') throw bad('an entry has no name');
      // Like Go's archive/tar (Docker): links, devices, fifos and directories carry no data
      // whatever their size field says; a GNU dump dir ('D') is followed by a listing.
      const headerOnly = kind !== '0' && kind !== 'skip' && flag !== 'D';
      const size = headerOnly ? 0 : (local.size ?? header.size ?? 0);
      let left = size;
      const entry: TarEntry = {
        path,
        type: kind === 'skip' ? '0' : kind,
        mode: (header.mode ?? 0) & 0o7777,
        uid: local.uid ?? global.uid ?? header.uid ?? 0,
        gid: local.gid ?? global.gid ?? header.gid ?? 0,
        size: kind === '0' ? size : 0,
        mtime: local.mtime ?? global.mtime ?? header.mtime ?? new Date(0),
        linkpath: local.linkpath ?? header.linkpath ?? '',
        devmajor: parseOctal(block, 329, 8),
        devminor: parseOctal(block, 337, 8),
        xattrs: new Map([...global.xattrs, ...local.xattrs]),
        body: async function* () {
          if (kind !== '0') return;
          while (left > 0) {
            const chunk = await reader.upTo(left);
            left -= chunk.length;
            yield chunk;
          }
        },
      };
      local = { xattrs: new Map() };
      if (kind !== 'skip') yield entry;
      if (left > 0) await reader.skip(left);
      const pad = Math.ceil(size / BLOCK) * BLOCK - size;
      if (pad > 0) await reader.skip(pad);
    }
    await reader.drain();
  } finally {
    await reader.close();
  }
}
