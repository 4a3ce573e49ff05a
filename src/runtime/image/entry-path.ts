/**
 * Member names of tar archives, made safe to write under a layer directory.
 * Pure, no I/O.
 *
 * A name is taken relative to the layer root: a leading `/` is dropped (`/etc/passwd` is
 * `etc/passwd`, as Docker does), `.` and empty components vanish, and `..` is resolved
 * lexically. A name whose `..` would climb above the root (`../x`, `a/../../x`,
 * `/../etc`) is path traversal and is refused.
 */
import { TsnetError } from '../../errors/index.js';

/** `kind` names the thing in the message: `entry "../x" escapes…`, `hard link target "…" escapes…`. */
export function normalizeEntryPath(raw: string, kind = 'entry'): string {
  if (raw.includes('\0')) {
    throw new TsnetError('TSNET_IMAGE_INVALID', `${kind} name contains a NUL byte`);
  }
  const out: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) {
        throw new TsnetError('TSNET_IMAGE_INVALID', `${kind} "${raw}" escapes the layer directory (path traversal)`);
      }
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out.join('/');
}

/** Proper ancestors of a normalized path, outermost first: `a/b/c` -> [`a`, `a/b`]. */
export function ancestorsOf(path: string): string[] {
  const parts = path.split('/');
  const result: string[] = [];
  for (let i = 1; i < parts.length; i++) result.push(parts.slice(0, i).join('/'));
  return result;
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
