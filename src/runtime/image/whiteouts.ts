/**
 * OCI / Docker whiteouts and their overlayfs form. Pure, no I/O.
 *
 * In a layer tar, `dir/.wh.name` deletes `dir/name` of the layers below, and
 * `dir/.wh..wh..opq` makes `dir` opaque (hides everything the layers below have in it).
 * overlayfs expresses the same with a character device 0:0 named `name`, and with the
 * xattr `trusted.overlay.opaque=y` on `dir` — what containerd's overlay snapshotter and
 * Docker's overlay2 driver write. Other `.wh..wh.` names (aufs bookkeeping such as
 * `.wh..wh.plnk/…`) carry nothing for overlayfs and are dropped, as Docker does.
 */
import { TsnetError } from '../../errors/index.js';
import { baseName, parentOf } from './entry-path.js';

export const WHITEOUT_PREFIX = '.wh.';
export const WHITEOUT_META_PREFIX = '.wh..wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';
export const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';

export type WhiteoutAction =
  | { kind: 'none' }
  /** Write a 0:0 character device at `target`. */
  | { kind: 'whiteout'; target: string }
  /** Set `trusted.overlay.opaque=y` on `dir` ('' is the layer root). */
  | { kind: 'opaque'; dir: string }
  /** aufs metadata: drop the entry. */
  | { kind: 'skip' };

/** What an entry at a normalized path means for an overlayfs lower dir. */
export function classifyWhiteout(path: string): WhiteoutAction {
  // aufs keeps its metadata in top-level `.wh..wh.*` dirs (`.wh..wh.plnk/…`): all of it goes.
  const first = path.split('/', 1)[0]!;
  if (first.startsWith(WHITEOUT_META_PREFIX) && path !== OPAQUE_MARKER) return { kind: 'skip' };
  const base = baseName(path);
  if (!base.startsWith(WHITEOUT_PREFIX)) return { kind: 'none' };
  const dir = parentOf(path);
  if (base === OPAQUE_MARKER) return { kind: 'opaque', dir };
  if (base.startsWith(WHITEOUT_META_PREFIX)) return { kind: 'skip' };
  const name = base.slice(WHITEOUT_PREFIX.length);
  if (name === '' || name === '.' || name === '..') {
    throw new TsnetError('TSNET_IMAGE_INVALID', `bad whiteout entry "${path}" (no name after .wh.)`);
  }
  return { kind: 'whiteout', target: dir === '' ? name : `${dir}/${name}` };
}
