/**
 * Extracting one layer tar into a directory in overlayfs lower-dir form.
 *
 * Node reads the (possibly gzipped) stream, hashes the uncompressed bytes (the diff id),
 * checks every member name, and rewrites the stream: whiteouts become 0:0 character
 * devices, opaque markers become `trusted.overlay.opaque=y` xattrs, missing parent
 * directories are made explicit. GNU tar writes the result (`--numeric-owner`,
 * `--same-permissions`, xattrs), because Node itself can neither mknod nor set xattrs.
 * GNU tar only ever sees normalized relative names that cannot climb out of the
 * directory, never a path through a symlink, and no hard link to outside the layer.
 */
import { mkdir } from 'node:fs/promises';
import { TsnetError } from '../../errors/index.js';
import { ancestorsOf, normalizeEntryPath } from './entry-path.js';
import type { FormatDetector } from './import-detect.js';
import { encodeHeader, END_OF_ARCHIVE, padding, type EntryType } from './tar-header.js';
import { counted, type ImportBudget } from './limits.js';
import { decompress, TarDigest, tarEntries, type TarEntry } from './tar-read.js';
import { classifyWhiteout, OVERLAY_OPAQUE_XATTR, type WhiteoutAction } from './whiteouts.js';
import { runProgram } from '../../kernel/process.js';

export interface ExtractResult {
  /** `sha256:<hex>` of the uncompressed tar. */
  diffId: string;
  /** Bytes of the uncompressed tar. */
  tarSize: number;
  /** Bytes of regular-file content in the layer. */
  size: number;
}

export interface ExtractOptions {
  /** How to name the input in messages: `layer sha256:3f2a…`, `archive`. */
  what: string;
  /** Sees every member name (used to tell a docker-save archive from a rootfs). */
  detector?: FormatDetector;
  /** The import's limits (size, entries, path length); none when absent. */
  budget?: ImportBudget;
}

interface Meta {
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
}

type Node = { kind: 'dir'; meta: Meta; xattrs: ReadonlyMap<string, Buffer> } | { kind: 'symlink' };

const FLUSH_AT = 64 * 1024;
const IMPLICIT_DIR_MODE = 0o755;
const NO_XATTRS: ReadonlyMap<string, Buffer> = new Map();

/**
 * Extended attributes an image may carry: file capabilities and user.*. Anything else —
 * trusted.* above all, which overlayfs reads (trusted.overlay.redirect, .metacopy, …) — is
 * dropped, so a layer cannot forge overlay metadata.
 */
export function keepXattr(name: string): boolean {
  return name === 'security.capability' || name.startsWith('user.');
}

function keptXattrs(e: TarEntry): ReadonlyMap<string, Buffer> {
  if (e.xattrs.size === 0) return NO_XATTRS;
  return new Map([...e.xattrs].filter(([k]) => keepXattr(k)));
}

function invalid(what: string, message: string): TsnetError {
  return new TsnetError('TSNET_IMAGE_INVALID', `invalid ${what}: ${message}`);
}

function metaOf(e: TarEntry): Meta {
  return { mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime };
}

/**
 * The cleaned-up tar stream for GNU tar (exported for tests): normalized names, whiteouts
 * as 0:0 character devices, opaque markers as a trailing directory entry carrying
 * trusted.overlay.opaque=y, explicit parent directories, only kept xattrs. Adds the
 * regular-file bytes to `result.size`.
 */
export async function* translateLayer(
  entries: AsyncIterable<TarEntry>,
  result: { size: number },
  opts: ExtractOptions,
): AsyncGenerator<Buffer> {
  const { what } = opts;
  const nodes = new Map<string, Node>();
  const opaque = new Set<string>();
  let rootMeta: Meta | undefined;
  let pending: Buffer[] = [];
  let pendingLength = 0;
  const push = (b: Buffer): void => {
    pending.push(b);
    pendingLength += b.length;
  };
  const flush = (): Buffer => {
    const out = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingLength);
    pending = [];
    pendingLength = 0;
    return out;
  };
  const header = (
    path: string,
    type: EntryType,
    meta: Meta,
    extra: {
      size?: number;
      linkpath?: string;
      devmajor?: number;
      devminor?: number;
      xattrs?: ReadonlyMap<string, Buffer | string>;
    } = {},
  ): void => {
    push(encodeHeader({ path, type, ...meta, ...extra }));
  };
  /** Parents must be directories made by this archive; missing ones are made explicit. */
  const ensureParents = (path: string, mtime: Date): void => {
    for (const a of ancestorsOf(path)) {
      const node = nodes.get(a);
      if (node === undefined) {
        const meta = { mode: IMPLICIT_DIR_MODE, uid: 0, gid: 0, mtime };
        nodes.set(a, { kind: 'dir', meta, xattrs: NO_XATTRS });
        header(a, 'Directory', meta);
      } else if (node.kind === 'symlink') {
        throw invalid(what, `entry "${path}" would be written through the symbolic link "${a}"`);
      }
    }
  };
  /** A non-directory is about to be written at `path`. */
  const replaceWithNonDir = (path: string): void => {
    if (nodes.get(path)?.kind === 'dir') throw invalid(what, `"${path}" is both a directory and a non-directory`);
    nodes.delete(path);
  };

  const safePath = (raw: string, kind?: string): string => {
    try {
      return normalizeEntryPath(raw, kind);
    } catch (err) {
      throw invalid(what, (err as Error).message);
    }
  };

  for await (const e of entries) {
    opts.budget?.addEntry(e.path, what);
    if (e.type === '0') opts.budget?.checkFileSize(e.size, e.path, what);
    const path = safePath(e.path);
    const meta = metaOf(e);
    const xattrs = keptXattrs(e);
    opts.detector?.add(path, e.type === '0');
    if (path === '') {
      if (e.type !== '5') throw invalid(what, `entry "${e.path}" names the layer root but is not a directory`);
      rootMeta = meta;
      header('.', 'Directory', meta, { xattrs });
      continue;
    }
    let wh: WhiteoutAction;
    try {
      wh = classifyWhiteout(path);
    } catch (err) {
      throw invalid(what, (err as Error).message);
    }
    if (wh.kind !== 'none') {
      if (wh.kind === 'opaque') {
        ensureParents(path, meta.mtime);
        opaque.add(wh.dir);
      } else if (wh.kind === 'whiteout') {
        ensureParents(wh.target, meta.mtime);
        replaceWithNonDir(wh.target);
        header(wh.target, 'CharacterDevice', { ...meta, mode: 0 }, { devmajor: 0, devminor: 0 });
      }
      continue;
    }
    ensureParents(path, meta.mtime);
    switch (e.type) {
      case '5': {
        if (nodes.get(path)?.kind === 'symlink') throw invalid(what, `"${path}" is both a symbolic link and a directory`);
        nodes.set(path, { kind: 'dir', meta, xattrs });
        header(path, 'Directory', meta, { xattrs });
        break;
      }
      case '0': {
        replaceWithNonDir(path);
        header(path, 'File', meta, { size: e.size, xattrs });
        yield flush();
        for await (const chunk of e.body()) yield chunk;
        result.size += e.size;
        push(padding(e.size));
        break;
      }
      case '1': {
        const target = safePath(e.linkpath, 'hard link target');
        if (target === '') throw invalid(what, `hard link "${path}" points at the layer root`);
        for (const a of ancestorsOf(target)) {
          if (nodes.get(a)?.kind !== 'dir')
            throw invalid(what, `hard link "${path}" -> "${target}": "${a}" is not a directory of this layer`);
        }
        const targetNode = nodes.get(target);
        if (targetNode?.kind === 'dir') throw invalid(what, `hard link "${path}" points at the directory "${target}"`);
        replaceWithNonDir(path);
        // A hard link to a symlink is a symlink: nothing may be written below it either.
        if (targetNode?.kind === 'symlink') nodes.set(path, targetNode);
        header(path, 'Link', meta, { linkpath: target });
        break;
      }
      case '2': {
        if (e.linkpath === '') throw invalid(what, `symbolic link "${path}" has no target`);
        replaceWithNonDir(path);
        nodes.set(path, { kind: 'symlink' });
        header(path, 'SymbolicLink', meta, { linkpath: e.linkpath, xattrs });
        break;
      }
      case '3':
      case '4':
      case '6': {
        replaceWithNonDir(path);
        const type = e.type === '3' ? 'CharacterDevice' : e.type === '4' ? 'BlockDevice' : 'FIFO';
        header(path, type, meta, { devmajor: e.devmajor, devminor: e.devminor, xattrs });
        break;
      }
    }
    if (pendingLength >= FLUSH_AT) yield flush();
  }
  // Opaque markers last: GNU tar then sets the xattr on the finished directory.
  for (const dir of opaque) {
    const node = dir === '' ? undefined : nodes.get(dir);
    if (dir !== '' && node?.kind !== 'dir') continue;
    const meta = node?.kind === 'dir' ? node.meta : (rootMeta ?? { mode: IMPLICIT_DIR_MODE, uid: 0, gid: 0, mtime: new Date(0) });
    const kept = node?.kind === 'dir' ? node.xattrs : NO_XATTRS;
    header(dir === '' ? '.' : dir, 'Directory', meta, {
      xattrs: new Map<string, Buffer | string>([...kept, [OVERLAY_OPAQUE_XATTR, 'y']]),
    });
  }
  push(END_OF_ARCHIVE);
  yield flush();
}

/**
 * `--absolute-names` only turns off GNU tar's delayed creation of symlinks (a guard
 * against archives that write through their own symlinks, which costs a placeholder file
 * per symlink): translateLayer() already refuses any entry below a symlink and emits only
 * normalized relative names, so the guard is redundant here, and extraction twice as fast.
 */
const GNU_TAR_ARGS = [
  '--extract',
  '--absolute-names',
  '--file=-',
  '--numeric-owner',
  '--same-owner',
  '--same-permissions',
  '--delay-directory-restore',
  '--xattrs',
  `--xattrs-include=${OVERLAY_OPAQUE_XATTR}`,
  '--xattrs-include=security.capability',
  '--xattrs-include=user.*',
  '--warning=no-timestamp',
  '--warning=no-unknown-keyword',
];

/** The first line of GNU tar's complaints, without its `tar: ` prefix. */
function firstError(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.replace(/^tar: /, '').trim())
    .filter((l) => l !== '' && !l.startsWith('Exiting with failure'));
  return lines[0] ?? 'unknown error';
}

/**
 * Extract a tar stream (plain or gzip) into `dest`, which must not exist yet.
 * On failure `dest` may hold a partial tree: the caller removes it.
 */
export async function extractLayer(
  source: AsyncIterable<Buffer | string | Uint8Array>,
  dest: string,
  opts: ExtractOptions,
): Promise<ExtractResult> {
  await mkdir(dest, { mode: IMPLICIT_DIR_MODE });
  const digest = new TarDigest();
  const result = { size: 0 };
  const plain = decompress(source, opts.what);
  const entries = tarEntries(opts.budget ? counted(plain, opts.budget, opts.what) : plain, digest, opts.what);
  const ran = await runProgram('tar', [...GNU_TAR_ARGS, `--directory=${dest}`], {
    input: translateLayer(entries, result, opts),
    ignoreStdout: true,
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
  });
  const fed = ran.inputError;
  if (fed !== undefined) {
    if (fed instanceof TsnetError) throw fed;
    // Reading the input failed (not tar going away under us): that is the story to tell.
    const code = (fed as NodeJS.ErrnoException | null)?.code;
    if (code !== 'EPIPE' && code !== 'ERR_STREAM_PREMATURE_CLOSE' && code !== 'ERR_STREAM_DESTROYED') {
      throw new TsnetError('TSNET_IMAGE_INVALID', `cannot read ${opts.what}: ${(fed as Error).message}`, {
        cause: fed,
      });
    }
  }
  if (ran.startError) {
    throw new TsnetError(
      'TSNET_INTERNAL',
      `cannot run GNU tar to extract ${opts.what} (is the tar package installed?): ${ran.startError.message}`,
    );
  }
  if (ran.exitCode !== 0) {
    const why = firstError(ran.stderr) || `tar was killed by ${ran.signal}`;
    // The host's fault (disk full, read-only), not the archive's.
    const code = /No space left|Disk quota|Read-only file system/.test(why) ? 'TSNET_INTERNAL' : 'TSNET_IMAGE_INVALID';
    throw new TsnetError(code, `cannot extract ${opts.what}: ${why}`);
  }
  if (fed !== undefined) {
    const err = fed as Error;
    throw new TsnetError('TSNET_IMAGE_INVALID', `cannot extract ${opts.what}: ${err.message}`, { cause: err });
  }
  return { diffId: digest.digest(), tarSize: digest.bytes, size: result.size };
}
