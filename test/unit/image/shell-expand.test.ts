// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are shell words with ${X} in them, not templates
import test from 'ava';
import { isTsnetError } from '../../../src/errors/index.js';
import { envOf, expandWord, expandWords } from '../../../src/runtime/image/shell-expand.js';

const env = envOf(['A=one', 'E=', 'P=/usr/local/bin/tool.tar.gz', 'S=80 443', 'A=1']);

test('variables: $X and ${X}, a later entry of a key wins, an unset one is empty, $ alone stays', (t) => {
  t.is(expandWord('$A-${A}x$Ax', env), '1-1x');
  t.is(expandWord('[$NOPE]', env), '[]');
  t.is(expandWord('cost $ 5 $/x', env), 'cost $ 5 $/x');
  // $1, $@: positional and special parameters are names too, never set here
  t.is(expandWord('a$1b$@c', env), 'abc');
});

test('quotes and escapes: single quotes literal, double quotes expand, a backslash escapes', (t) => {
  t.is(expandWord(`'$A' "$A" \\$A "\\$A" "a\\"b" "\\x" \\x 'a\\'`, env), '$A 1 $A $A a"b \\x x a\\');
  t.is(expandWord('a\\', env), 'a');
  t.is(expandWord('  two  spaces ', env), '  two  spaces ');
});

test('defaults and alternatives: - + ? with and without the colon (the colon also counts empty as unset)', (t) => {
  t.is(expandWord('${E-d}|${E:-d}|${N-d}|${A:-d}|${N:-$A "q q"}', env), '|d|d|1|1 q q');
  t.is(expandWord('${E+x}|${E:+x}|${N+x}|${A:+x${A}}', env), 'x|||x1');
  t.is(expandWord('${A?}${A:?must}', env), '11');
  t.throws(() => expandWord('${N?}', env), { message: /N: is not allowed to be unset/ });
  t.throws(() => expandWord('${E:?give E}', env), { message: /E: give E/ });
  t.is(expandWord('${E?}', env), '');
});

test('patterns: # ## % %% trim, / // replace, * and ? wildcards, \\ escapes', (t) => {
  t.is(
    expandWord('${P#*/}|${P##*/}|${P%.*}|${P%%.*}', env),
    'usr/local/bin/tool.tar.gz|tool.tar.gz|/usr/local/bin/tool.tar|/usr/local/bin/tool',
  );
  t.is(
    expandWord('${P/o/0}|${P//o/0}|${P//?ar/_}', env),
    '/usr/l0cal/bin/tool.tar.gz|/usr/l0cal/bin/t00l.tar.gz|/usr/local/bin/tool._.gz',
  );
  t.is(expandWord('${P#/usr}|${P%.gz}|${P#nomatch}|${N#x}', envOf(['P=/usr/a.gz'])), '/a.gz|/usr/a|/usr/a.gz|');
  t.is(expandWord('${X#\\*}', envOf(['X=*a'])), 'a');
  t.is(expandWord('${X/\\//-}', envOf(['X=a/b'])), 'a-b');
});

test('EXPOSE form: words split after expansion, not inside quotes or escapes', (t) => {
  t.deepEqual(expandWords('$S', env), ['80', '443']);
  t.deepEqual(expandWords('"$S" a\\ b', env), ['80 443', 'a b']);
  t.deepEqual(expandWords('$E', env), []);
});

test('syntax errors: one line, TSNET_INVALID_ARGUMENT, naming the word', (t) => {
  for (const [word, why] of [
    ['${A', /missing '}'/],
    ['${}', /bad substitution/],
    ['${:A}', /bad substitution/],
    ['${A:#x}', /unsupported modifier \(:#\)/],
    ['${A*}', /unsupported modifier \(\*\)/],
    ['"open', /matching double-quote/],
    ["'open", /matching single-quote/],
    ['${A/x', /missing '\/'/],
    ['${A#\\x}', /invalid escape/],
  ] as const) {
    const err = t.throws(() => expandWord(word, env), undefined, word);
    t.true(isTsnetError(err) && err.code === 'TSNET_INVALID_ARGUMENT', word);
    t.regex(err!.message, why, word);
    t.true(err!.message.startsWith(`failed to process ${JSON.stringify(word)}`), word);
    t.notRegex(err!.message, /\n/);
  }
});
