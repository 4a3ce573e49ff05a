/**
 * GET /images/json's filters, as dockerd's image list (daemon/images/images.go): `reference`
 * (a glob, path.Match's, on `name:tag` or `name`: `docker images busy*`), `dangling`, `label`,
 * `before`/`since` (an image; by creation time, itself excluded; unknown → 404), and `all`
 * (an untagged image others were committed from is listed only with it). A reference filter
 * narrows an image's RepoTags to the matching ones, and an image none match is left out.
 */
import { TsnetError } from '../../errors/index.js';
import type { ImageRecord } from '../../runtime/image/types.js';
import { MAX_PATTERNS } from './name-pattern.js';
import { labelMatch } from './params.js';

export const IMAGE_LIST_FILTERS = ['dangling', 'label', 'before', 'since', 'reference'] as const;

const MAX_PATTERN = 256;

type Token = { kind: 'star' } | { kind: 'one'; test: (c: string) => boolean };

function badPattern(pattern: string): TsnetError {
  return new TsnetError('TSNET_INVALID_ARGUMENT', `invalid reference filter ${JSON.stringify(pattern)}: syntax error in pattern`);
}

/** Go's path.Match syntax: `*` (no `/`), `?`, `[a-z]`, `[^…]`, `\x`. */
function tokens(pattern: string): Token[] {
  if (pattern.length > MAX_PATTERN) throw badPattern(pattern.slice(0, 40));
  const out: Token[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') out.push({ kind: 'star' });
    else if (ch === '?') out.push({ kind: 'one', test: (c) => c !== '/' });
    else if (ch === '\\') {
      const lit = pattern[++i];
      if (lit === undefined) throw badPattern(pattern);
      out.push({ kind: 'one', test: (c) => c === lit });
    } else if (ch === '[') {
      let j = i + 1;
      const negate = pattern[j] === '^';
      if (negate) j++;
      const ranges: Array<[string, string]> = [];
      while (j < pattern.length && (pattern[j] !== ']' || ranges.length === 0)) {
        let lo = pattern[j]!;
        if (lo === '\\') lo = pattern[++j] ?? '';
        let hi = lo;
        if (pattern[j + 1] === '-' && pattern[j + 2] !== undefined && pattern[j + 2] !== ']') {
          hi = pattern[j + 2] === '\\' ? (pattern[j + 3] ?? '') : pattern[j + 2]!;
          j += pattern[j + 2] === '\\' ? 3 : 2;
        }
        if (lo === '' || hi === '' || hi < lo) throw badPattern(pattern);
        ranges.push([lo, hi]);
        j++;
      }
      if (pattern[j] !== ']') throw badPattern(pattern);
      const inClass = (c: string) => ranges.some(([lo, hi]) => c >= lo && c <= hi);
      out.push({ kind: 'one', test: (c) => c !== '/' && inClass(c) !== negate });
      i = j;
    } else out.push({ kind: 'one', test: (c) => c === ch });
  }
  return out;
}

/** Does the whole of `s` match? One row of states per character: linear in tokens × length. */
function globMatch(toks: Token[], s: string): boolean {
  let states = new Array<boolean>(toks.length + 1).fill(false);
  states[0] = true;
  const close = (st: boolean[]) => {
    for (let i = 0; i < toks.length; i++) if (st[i] && toks[i]!.kind === 'star') st[i + 1] = true;
    return st;
  };
  states = close(states);
  for (const c of s) {
    const next = new Array<boolean>(toks.length + 1).fill(false);
    for (let i = 0; i < toks.length; i++) {
      if (!states[i]) continue;
      const t = toks[i]!;
      if (t.kind === 'star') {
        if (c !== '/') next[i] = true;
      } else if (t.test(c)) next[i + 1] = true;
    }
    states = close(next);
  }
  return states[toks.length] === true;
}

/** reference.FamiliarMatch: the pattern against `name:tag`, else against `name`. */
export function referenceMatcher(patterns: readonly string[]): (repoTag: string) => boolean {
  if (patterns.length > MAX_PATTERNS)
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `at most ${MAX_PATTERNS} reference filters in one request`);
  const compiled = patterns.map(tokens);
  return (repoTag) => {
    const name = repoTag.slice(0, repoTag.lastIndexOf(':') > repoTag.lastIndexOf('/') ? repoTag.lastIndexOf(':') : undefined);
    return compiled.some((t) => globMatch(t, repoTag) || globMatch(t, name));
  };
}

export interface ImageListOptions {
  all: boolean;
  /** An image by reference or id; throws TSNET_IMAGE_NOT_FOUND. */
  resolve(ref: string): Promise<ImageRecord>;
}

/** The images of `list` (newest first) dockerd lists for `f`, each with the RepoTags it shows. */
export async function filterImages(
  list: readonly ImageRecord[],
  f: Record<string, string[]>,
  o: ImageListOptions,
): Promise<ImageRecord[]> {
  let danglingOnly = false;
  if (f.dangling) {
    if (f.dangling.length === 1 && f.dangling[0] === 'true') danglingOnly = true;
    else if (!(f.dangling.length === 1 && f.dangling[0] === 'false'))
      throw new TsnetError('TSNET_INVALID_ARGUMENT', `Invalid filter 'dangling=[${f.dangling.join(' ')}]'`);
  }
  const before = f.before?.length ? Date.parse((await o.resolve(f.before[f.before.length - 1]!)).created) : undefined;
  const since = f.since?.length ? Date.parse((await o.resolve(f.since[f.since.length - 1]!)).created) : undefined;
  const refMatch = f.reference ? referenceMatcher(f.reference) : undefined;
  const parents = new Set(list.map((i) => i.parent).filter((p): p is string => p !== undefined));
  const out: ImageRecord[] = [];
  for (const img of list) {
    const created = Date.parse(img.created);
    if (before !== undefined && created >= before) continue;
    if (since !== undefined && created <= since) continue;
    if (f.label && !f.label.every((l) => labelMatch(img.config.Labels, l))) continue;
    const tags = refMatch ? img.repoTags.filter(refMatch) : img.repoTags;
    const digests = refMatch ? (img.repoDigests ?? []).filter((d) => refMatch(d.split('@')[0]!)) : (img.repoDigests ?? []);
    if (tags.length === 0 && digests.length === 0) {
      // untagged: an image others were made from shows only with all; a reference filter or
      // dangling=false leaves it out
      if (!o.all && parents.has(img.id)) continue;
      if ((f.dangling && !danglingOnly) || refMatch) continue;
    } else if (danglingOnly && tags.length > 0) continue;
    out.push(refMatch ? { ...img, repoTags: tags, repoDigests: digests } : img);
  }
  return out;
}
