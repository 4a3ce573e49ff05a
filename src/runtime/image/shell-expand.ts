/**
 * The word expansion of the Dockerfile shell lexer, as dockerd runs it over the values of
 * `commit --change` / `import --change` instructions: quotes taken off (`'…'` literal, `"…"`
 * with `\"`, `\$`, `\\`), a backslash escaping one character outside quotes, and the variables
 * of `env` put in — `$X`, `${X}`, `${X-w}` `${X:-w}`, `${X+w}` `${X:+w}`, `${X?w}` `${X:?w}`,
 * `${X#p}` `${X##p}` `${X%p}` `${X%%p}` (shell patterns with `*` and `?`), `${X/p/r}` `${X//p/r}`.
 * An unset variable is empty. Pure; a syntax error is a TsnetError of one line.
 */
import { TsnetError } from '../../errors/index.js';

/** An environment from `KEY=VALUE` entries; a later entry of a key wins. */
export function envOf(list: readonly string[]): ReadonlyMap<string, string> {
  const m = new Map<string, string>();
  for (const e of list) {
    const eq = e.indexOf('=');
    m.set(eq < 0 ? e : e.slice(0, eq), eq < 0 ? '' : e.slice(eq + 1));
  }
  return m;
}

/** `word` expanded as one word (spaces kept). */
export function expandWord(word: string, env: ReadonlyMap<string, string>): string {
  return lex(word, env).text;
}

/** `word` expanded, then split on the spaces that are neither quoted nor escaped (EXPOSE's form). */
export function expandWords(word: string, env: ReadonlyMap<string, string>): string[] {
  return lex(word, env).words;
}

const ESCAPE = '\\';
const isSpace = (ch: string): boolean => /^\s$/u.test(ch);
const isDigit = (ch: string): boolean => /^\p{Nd}$/u.test(ch);
const isNameChar = (ch: string): boolean => /^[\p{L}\p{Nd}_]$/u.test(ch);
/** POSIX special parameters ($@, $*, $#, …): names of one character, never set here. */
const SPECIAL = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);

/** Words as the lexer builds them: an expanded variable splits on its spaces, a quoted or escaped text does not. */
class Words {
  readonly list: string[] = [];
  private buf = '';
  private inWord = false;

  char(ch: string): void {
    if (!isSpace(ch)) this.raw(ch);
    else if (this.inWord && this.buf !== '') {
      this.list.push(this.buf);
      this.buf = '';
      this.inWord = false;
    }
  }

  text(s: string): void {
    for (const ch of s) this.char(ch);
  }

  raw(s: string): void {
    this.buf += s;
    this.inWord = true;
  }

  end(): string[] {
    if (this.buf !== '') this.list.push(this.buf);
    this.buf = '';
    this.inWord = false;
    return this.list;
  }
}

function lex(word: string, env: ReadonlyMap<string, string>): { text: string; words: string[] } {
  const chars = Array.from(word);
  let pos = 0;
  const peek = (): string | undefined => chars[pos];
  const next = (): string | undefined => chars[pos++];
  function fail(why: string): never {
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `failed to process ${JSON.stringify(word)}: ${why}`);
  }

  /** Up to `stop` (consumed) or the end; `raw` keeps escape characters (in patterns). */
  function until(stop: string | undefined, raw: boolean): { text: string; words: string[] } {
    let text = '';
    const words = new Words();
    while (peek() !== undefined) {
      const ch = peek()!;
      if (stop !== undefined && ch === stop) {
        next();
        return { text, words: words.end() };
      }
      if (ch === '$') {
        const v = dollar();
        text += v;
        words.text(v);
      } else if (ch === "'" || ch === '"') {
        const v = ch === "'" ? single() : double(raw);
        text += v;
        words.raw(v);
      } else {
        let c = next()!;
        if (c === ESCAPE) {
          if (raw) {
            words.raw(c);
            text += c;
          }
          const escaped = next();
          if (escaped === undefined) break; // a backslash at the end is dropped
          c = escaped;
          words.raw(c);
        } else words.char(c);
        text += c;
      }
    }
    if (stop !== undefined) fail(`unexpected end of statement while looking for matching ${stop}`);
    return { text, words: words.end() };
  }

  function single(): string {
    next();
    let out = '';
    for (;;) {
      const ch = next();
      if (ch === undefined) fail('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return out;
      out += ch;
    }
  }

  function double(raw: boolean): string {
    next();
    let out = '';
    for (;;) {
      const p = peek();
      if (p === undefined) fail('unexpected end of statement while looking for matching double-quote');
      if (p === '"') {
        next();
        return out;
      }
      if (p === '$') {
        out += dollar();
        continue;
      }
      let ch = next()!;
      if (ch === ESCAPE) {
        if (raw) out += ch;
        const q = peek();
        if (q === undefined) continue;
        if (q === '"' || q === '$' || q === ESCAPE) ch = next()!;
      }
      out += ch;
    }
  }

  function name(): string {
    let n = '';
    for (let ch = peek(); ch !== undefined; ch = peek()) {
      if (n === '' && isDigit(ch)) {
        while (peek() !== undefined && isDigit(peek()!)) n += next();
        return n;
      }
      if (n === '' && SPECIAL.has(ch)) return next()!;
      if (!isNameChar(ch)) break;
      n += next();
    }
    return n;
  }

  /** A nested part up to `stop`; a missing `stop` is reported as dockerd does. */
  function part(stop: string, raw: boolean, missing: string): string {
    try {
      return until(stop, raw).text;
    } catch (e) {
      if (peek() === undefined) fail(missing);
      throw e;
    }
  }

  function dollar(): string {
    next();
    if (peek() !== '{') {
      const n = name();
      return n === '' ? '$' : (env.get(n) ?? '');
    }
    next();
    const first = peek();
    if (first === undefined) fail("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') fail('syntax error: bad substitution');
    const n = name();
    const value = env.get(n);
    let op = next();
    if (op === '}') return value ?? '';
    if (op === undefined) fail("syntax error: missing '}'");
    if (op === '/') {
      const all = peek() === '/';
      if (all) next();
      // biome-ignore lint/suspicious/noTemplateCurlyInString: dockerd's message names the ${} syntax
      const pattern = part('/', true, "syntax error: missing '/' in ${}");
      const replacement = part('}', true, "syntax error: missing '}'");
      const re = patternRegex(pattern, true, false, all, fail);
      return (value ?? '').replace(re, () => replacement);
    }
    const colon = op === ':';
    let shown = op!;
    if (colon) {
      op = next();
      shown += op ?? '';
    }
    const trims = op === '#' || op === '%';
    if (colon && trims) fail(`unsupported modifier (${shown}) in substitution`);
    let w = part('}', trims, "syntax error: missing '}'");
    const unset = value === undefined || (colon && value === '');
    switch (op) {
      case '-':
        return unset ? w : value!;
      case '+':
        return unset ? '' : w;
      case '?':
        if (value === undefined) fail(`${n}: ${w || 'is not allowed to be unset'}`);
        if (unset) fail(`${n}: ${w || 'is not allowed to be empty'}`);
        return value!;
      case '#':
      case '%': {
        const greedy = w.startsWith(op);
        if (greedy) w = w.slice(1);
        return op === '#' ? trimPrefix(w, value ?? '', greedy, fail) : trimSuffix(w, value ?? '', greedy, fail);
      }
      default:
        return fail(`unsupported modifier (${shown}) in substitution`);
    }
  }

  return until(undefined, false);
}

/** A shell pattern (`*` any run, shortest unless `greedy`; `?` one character; `\` escapes) as a regex. */
function patternRegex(pattern: string, greedy: boolean, anchored: boolean, all: boolean, fail: (why: string) => never): RegExp {
  const chars = Array.from(pattern);
  let out = anchored ? '^' : '';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '*') out += greedy ? '.*' : '.*?';
    else if (ch === '?') out += '.';
    else if (ch === '\\') {
      // an escaped } or / of the ${} is that character, not an escape in the pattern
      if (chars[i + 1] === '}' || chars[i + 1] === '/') continue;
      const e = chars[++i];
      if (e !== '*' && e !== '?' && e !== '\\')
        fail(`invalid pattern (${pattern}) in substitution: invalid escape '\\${e ?? ''}'`);
      out += `\\${e}`;
    } else out += /[[\]{}.+()|^$]/.test(ch) ? `\\${ch}` : ch;
  }
  return new RegExp(out, all ? 'gu' : 'u');
}

function trimPrefix(pattern: string, value: string, greedy: boolean, fail: (why: string) => never): string {
  const m = patternRegex(pattern, greedy, true, false, fail).exec(value);
  return m ? value.slice(m[0].length) : value;
}

/** The shortest (longest) matching end is the matching start of the reversed value, with the pattern reversed. */
function trimSuffix(pattern: string, value: string, greedy: boolean, fail: (why: string) => never): string {
  const p = Array.from(pattern);
  const reversed: string[] = [];
  for (let i = 0; i < p.length; i++) {
    // an escape stays before the character it escapes
    if (p[i] === '\\' && i < p.length - 1) {
      reversed.unshift('\\', p[i + 1]!);
      i++;
    } else reversed.unshift(p[i]!);
  }
  const back = (s: string) => Array.from(s).reverse().join('');
  return back(trimPrefix(reversed.join(''), back(value), greedy, fail));
}
