/**
 * Docker's `name` filter (ps, network ls, volume ls) is a regular expression searched in the
 * name (Go's RE2): `name=^web$`, `name=^/db`, `name=api|worker`. JavaScript's RegExp backtracks,
 * so a hostile pattern like `(a+)+$` could hold the daemon's event loop for hours; this matcher
 * takes the part of the syntax names are filtered with — literal text, `.`, classes `[a-z0-9_]`
 * and `[^…]`, `\d \w \s` and escaped punctuation, the quantifiers `* + ?` on one of those, `^` at
 * the start, `$` at the end, `|` between alternatives — and runs it as a set of states over the
 * name, linear in the name's length. Anything else is refused with one line, never matched wrongly.
 */
import { TsnetError } from '../../errors/index.js';

type Atom = (c: string) => boolean;
interface Piece {
  atom: Atom;
  q: '' | '*' | '+' | '?';
}
interface Alternative {
  start: boolean;
  end: boolean;
  pieces: Piece[];
}

export interface NamePattern {
  test(name: string): boolean;
}

const MAX_PATTERN = 256;
/** Patterns per request: each is matched against every name listed (a bound on the work). */
export const MAX_PATTERNS = 16;

const CLASS_ESCAPES: Record<string, Atom> = {
  d: (c) => c >= '0' && c <= '9',
  w: (c) => /[A-Za-z0-9_]/.test(c),
  s: (c) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v',
};

function refuse(pattern: string, why: string): TsnetError {
  return new TsnetError(
    'TSNET_INVALID_ARGUMENT',
    `name filter ${JSON.stringify(pattern)}: ${why} (tsnet matches text, . [a-z] [^…] \\d \\w \\s, * + ? after one of those, ^ at the start, $ at the end, and | between alternatives)`,
  );
}

/** `\x` inside or outside a class: a class escape or an escaped punctuation character. */
function escaped(pattern: string, ch: string | undefined): Atom {
  if (ch === undefined) throw refuse(pattern, 'it ends with a lone \\');
  const cls = CLASS_ESCAPES[ch];
  if (cls) return cls;
  if (/[A-Za-z0-9]/.test(ch)) throw refuse(pattern, `\\${ch} is not supported`);
  return (c) => c === ch;
}

function parseClass(pattern: string, src: string, from: number): { atom: Atom; next: number } {
  let i = from + 1;
  const negate = src[i] === '^';
  if (negate) i++;
  const parts: Atom[] = [];
  let first = true;
  while (i < src.length && (src[i] !== ']' || first)) {
    first = false;
    let lo: Atom | string;
    if (src[i] === '\\') {
      lo = escaped(pattern, src[i + 1]);
      i += 2;
    } else {
      lo = src[i]!;
      i++;
    }
    if (typeof lo === 'string' && src[i] === '-' && src[i + 1] !== undefined && src[i + 1] !== ']') {
      const hi = src[i + 1]!;
      if (hi === '\\' || hi < lo) throw refuse(pattern, `bad range ${lo}-${hi}`);
      const l = lo;
      parts.push((c) => c >= l && c <= hi);
      i += 2;
    } else if (typeof lo === 'string') {
      const l = lo;
      parts.push((c) => c === l);
    } else parts.push(lo);
  }
  if (src[i] !== ']') throw refuse(pattern, 'a [ class is not closed');
  const inClass = (c: string) => parts.some((p) => p(c));
  return { atom: negate ? (c) => !inClass(c) : inClass, next: i + 1 };
}

function parseAlternative(pattern: string, src: string): Alternative {
  const alt: Alternative = { start: false, end: false, pieces: [] };
  let i = 0;
  if (src[0] === '^') {
    alt.start = true;
    i = 1;
  }
  while (i < src.length) {
    const ch = src[i]!;
    let atom: Atom;
    if (ch === '$' && i === src.length - 1) {
      alt.end = true;
      break;
    }
    if (ch === '\\') {
      atom = escaped(pattern, src[i + 1]);
      i += 2;
    } else if (ch === '[') {
      const c = parseClass(pattern, src, i);
      atom = c.atom;
      i = c.next;
    } else if (ch === '.') {
      atom = (c) => c !== '\n';
      i++;
    } else if ('()*+?{}^$'.includes(ch)) {
      throw refuse(pattern, `${ch} is not supported here`);
    } else {
      atom = (c) => c === ch;
      i++;
    }
    const q = src[i];
    if (q === '*' || q === '+' || q === '?') {
      i++;
      if ('*+?{'.includes(src[i] ?? '')) throw refuse(pattern, 'a quantifier cannot follow a quantifier');
      alt.pieces.push({ atom, q });
    } else alt.pieces.push({ atom, q: '' });
  }
  return alt;
}

/** Split at the `|` that are not escaped and not inside a class. */
function alternatives(src: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const ch = src[i]!;
    if (ch === '\\') {
      cur += ch + (src[i + 1] ?? '');
      i++;
      continue;
    }
    if (ch === '[' && !inClass) inClass = true;
    else if (ch === ']' && inClass && !cur.endsWith('[') && !cur.endsWith('[^')) inClass = false;
    if (ch === '|' && !inClass) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** Does `alt` match somewhere in `s`? States are piece indexes; one pass over `s`. */
function search(alt: Alternative, s: string): boolean {
  const n = alt.pieces.length;
  const closure = (set: Set<number>): Set<number> => {
    // a `*` or `?` piece may match nothing: its state also stands at the next piece
    for (let i = 0; i < n; i++) if (set.has(i) && alt.pieces[i]!.q !== '' && alt.pieces[i]!.q !== '+') set.add(i + 1);
    return set;
  };
  let states = closure(new Set([0]));
  for (let pos = 0; ; pos++) {
    if (states.has(n) && !alt.end) return true;
    if (pos === s.length) return states.has(n);
    const c = s[pos]!;
    const next = new Set<number>();
    for (const i of states) {
      const p = alt.pieces[i];
      if (!p?.atom(c)) continue;
      if (p.q === '*' || p.q === '+') next.add(i);
      next.add(i + 1);
    }
    if (!alt.start) next.add(0);
    states = closure(next);
    if (states.size === 0) return false;
  }
}

export function namePattern(pattern: string): NamePattern {
  if (pattern.length > MAX_PATTERN) throw refuse(pattern.slice(0, 40), `longer than ${MAX_PATTERN} characters`);
  const alts = alternatives(pattern).map((a) => parseAlternative(pattern, a));
  return { test: (name) => alts.some((a) => search(a, name)) };
}

/** True when any of `patterns` matches any of `names` (Docker: a name, or `/name` for containers). */
export function nameFilter(patterns: readonly string[]): (names: readonly string[]) => boolean {
  if (patterns.length > MAX_PATTERNS)
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `at most ${MAX_PATTERNS} name filters in one request`);
  const compiled = patterns.map(namePattern);
  return (names) => compiled.some((p) => names.some((n) => p.test(n)));
}
