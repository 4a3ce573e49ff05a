import test from 'ava';
import { isTsnetError } from '../../../src/errors/index.js';
import { ancestorsOf, normalizeEntryPath } from '../../../src/runtime/image/entry-path.js';
import { classifyWhiteout } from '../../../src/runtime/image/whiteouts.js';

test('.wh.<name> deletes <name> of the layers below: a 0:0 char device named <name>', (t) => {
  t.deepEqual(classifyWhiteout('etc/.wh.passwd'), { kind: 'whiteout', target: 'etc/passwd' });
  t.deepEqual(classifyWhiteout('.wh.tmp'), { kind: 'whiteout', target: 'tmp' });
  t.deepEqual(classifyWhiteout('a/b/.wh..hidden'), { kind: 'whiteout', target: 'a/b/.hidden' });
});

test('.wh..wh..opq makes its directory opaque', (t) => {
  t.deepEqual(classifyWhiteout('var/cache/.wh..wh..opq'), { kind: 'opaque', dir: 'var/cache' });
  t.deepEqual(classifyWhiteout('.wh..wh..opq'), { kind: 'opaque', dir: '' });
});

test('aufs metadata is dropped, ordinary names pass', (t) => {
  t.deepEqual(classifyWhiteout('.wh..wh.plnk'), { kind: 'skip' });
  t.deepEqual(classifyWhiteout('x/.wh..wh.aufs'), { kind: 'skip' });
  t.deepEqual(classifyWhiteout('.wh..wh.plnk/123.456'), { kind: 'skip' }, 'everything below aufs metadata dirs');
  t.deepEqual(classifyWhiteout('etc/passwd'), { kind: 'none' });
  t.deepEqual(classifyWhiteout('etc/x.wh.y'), { kind: 'none' });
  t.deepEqual(classifyWhiteout('.whatever'), { kind: 'none' });
});

test('a whiteout without a name is invalid', (t) => {
  t.true(
    isTsnetError(
      t.throws(() => classifyWhiteout('a/.wh.')),
      'TSNET_IMAGE_INVALID',
    ),
  );
});

test('member names are normalized relative to the layer root', (t) => {
  t.is(normalizeEntryPath('./bin/busybox'), 'bin/busybox');
  t.is(normalizeEntryPath('bin/'), 'bin');
  t.is(normalizeEntryPath('./'), '');
  t.is(normalizeEntryPath('/etc/passwd'), 'etc/passwd', 'absolute names stay inside the layer, as with Docker');
  t.is(normalizeEntryPath('a//b/./c'), 'a/b/c');
  t.is(normalizeEntryPath('a/b/../c'), 'a/c');
});

test('names climbing out of the layer are path traversal', (t) => {
  for (const bad of ['../x', '..', 'a/../../x', '/../etc/passwd', './../x', 'a/b/../../../x']) {
    const err = t.throws(() => normalizeEntryPath(bad), undefined, bad);
    t.true(isTsnetError(err, 'TSNET_IMAGE_INVALID'), bad);
    t.regex(err!.message, /path traversal/);
  }
  t.true(
    isTsnetError(
      t.throws(() => normalizeEntryPath('a\0b')),
      'TSNET_IMAGE_INVALID',
    ),
  );
});

test('ancestors, outermost first', (t) => {
  t.deepEqual(ancestorsOf('a/b/c'), ['a', 'a/b']);
  t.deepEqual(ancestorsOf('a'), []);
});
