/**
 * The list filters: Docker's `name` filter is a regular expression; tsnet's matcher
 * (src/daemon/routes/name-pattern.ts) takes the usual part of the syntax, in time linear in the
 * name, and refuses the rest in one line. Also the port sets of the ps publish/expose filters
 * (container-list.ts) and the reference globs of the image list (image-list.ts).
 */
import test from 'ava';
import { namePattern, nameFilter } from '../../../src/daemon/routes/name-pattern.js';
import { portSet } from '../../../src/daemon/routes/container-list.js';
import { referenceMatcher } from '../../../src/daemon/routes/image-list.js';

const m = (p: string, s: string) => namePattern(p).test(s);

test('literal text is searched anywhere in the name, as a regexp search', (t) => {
  t.true(m('web', 'myweb1'));
  t.false(m('web', 'wxb'));
  t.true(m('', 'anything'));
});

test('^ and $ anchor; . [] [^] \\d \\w and escapes match one character', (t) => {
  t.true(m('^/ps1$', '/ps1'));
  t.false(m('^ps1$', '/ps1'));
  t.false(m('^ps1$', 'ps10'));
  t.true(m('^ps', 'ps3'));
  t.false(m('^ps', 'xps'));
  t.true(m('s[23]', 'ps3'));
  t.false(m('s[23]', 'ps4'));
  t.true(m('s[^23]', 'ps4'));
  t.true(m('^p.\\d$', 'ps7'));
  t.true(m('[a-c]-\\w', 'b-_'));
  t.true(m('a\\.b', 'a.b'));
  t.false(m('a\\.b', 'axb'));
  t.true(m('[]a]', ']'));
});

test('* + ? repeat the piece before them; | separates alternatives', (t) => {
  t.true(m('^ab*c$', 'ac'));
  t.true(m('^ab*c$', 'abbbc'));
  t.false(m('^ab+c$', 'ac'));
  t.true(m('^ab+c$', 'abc'));
  t.true(m('^ab?c$', 'ac'));
  t.false(m('^ab?c$', 'abbc'));
  t.true(m('^web$|^db$', 'db'));
  t.false(m('^web$|^db$', 'dbx'));
  t.true(m('^.*-1$', 'proj-web-1'));
  t.true(m('[|]', '|'));
});

test('many quantifiers stay linear: a*…a*b over 255 a is answered (a backtracking engine takes ages)', (t) => {
  t.false(m(`${'a*'.repeat(30)}b`, 'a'.repeat(255)));
  t.true(m(`${'a*'.repeat(30)}b`, `${'a'.repeat(254)}b`));
});

test('groups, counted repeats, backreferences and a mid-pattern anchor are refused in one line', (t) => {
  for (const p of ['(a+)+$', 'a{2}', '\\1', 'a^b', 'a$b', 'a**', '[abc', 'x\\', 'a\\bc', 'x'.repeat(300)]) {
    const err = t.throws(() => namePattern(p), undefined, p);
    t.is((err as { code?: string }).code, 'TSNET_INVALID_ARGUMENT', p);
    t.notRegex(err!.message, /\n/);
  }
});

test('at most 16 patterns per filter (each is matched against every name listed)', (t) => {
  t.throws(() => nameFilter(Array.from({ length: 17 }, (_, i) => `n${i}`)), { code: 'TSNET_INVALID_ARGUMENT' } as never);
  t.throws(() => referenceMatcher(Array.from({ length: 17 }, (_, i) => `r${i}`)), { code: 'TSNET_INVALID_ARGUMENT' } as never);
  t.notThrows(() => nameFilter(Array.from({ length: 16 }, (_, i) => `n${i}`)));
  t.throws(
    () =>
      portSet(
        'publish',
        Array.from({ length: 17 }, () => '1-65535'),
      ),
    { code: 'TSNET_INVALID_ARGUMENT' } as never,
  );
});

test('nameFilter: any pattern against any of the names', (t) => {
  const f = nameFilter(['^/a$', 'zz']);
  t.true(f(['a', '/a']));
  t.true(f(['xzzx']));
  t.false(f(['b', '/b']));
});

test('portSet: a port, a range, a protocol; tcp by default; refuses host addresses and junk', (t) => {
  t.deepEqual([...portSet('publish', ['80'])], ['80/tcp']);
  t.deepEqual([...portSet('expose', ['8000-8002/udp'])], ['8000/udp', '8001/udp', '8002/udp']);
  for (const bad of ['1.2.3.4:80', 'x', '80/icmp', '9-8', '70000', '-1'])
    t.throws(() => portSet('publish', [bad]), { code: 'TSNET_INVALID_ARGUMENT' } as never, bad);
});

test('referenceMatcher: path.Match globs on name:tag or name; * and ? stop at /; bad classes refused', (t) => {
  const m = (p: string, ref: string) => referenceMatcher([p])(ref);
  t.true(m('busybox', 'busybox:latest'));
  t.true(m('busy*', 'busybox:latest'));
  t.false(m('*', 'team/app:1'), '* does not cross /');
  t.true(m('*/*', 'team/app:1'));
  t.true(m('localhost:5000/x', 'localhost:5000/x:1'), 'a registry port is not the tag');
  t.true(m('app:[0-9]', 'team/app:1') === false && m('*/app:[0-9]', 'team/app:1'));
  t.true(m('ap?:1', 'app:1'));
  t.false(m('ap?:1', 'ap/:1'));
  t.true(m('a[^b]c', 'axc:1'));
  t.throws(() => referenceMatcher(['[z-a]']), { code: 'TSNET_INVALID_ARGUMENT' } as never);
  t.throws(() => referenceMatcher(['[ab']), { code: 'TSNET_INVALID_ARGUMENT' } as never);
});
