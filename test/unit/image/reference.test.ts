import test from 'ava';
import { isTsnetError } from '../../../src/errors/index.js';
import {
  idPrefixOf,
  isFullImageId,
  normalizeRepoTag,
  parseReference,
  repositoryOf,
  shortId,
} from '../../../src/runtime/image/reference.js';
import { formatSize } from '../../../src/runtime/image/size.js';

test('a bare name means :latest', (t) => {
  t.deepEqual(parseReference('busybox'), { name: 'busybox', tag: 'latest' });
  t.deepEqual(parseReference('busybox:1.36'), { name: 'busybox', tag: '1.36' });
  t.deepEqual(parseReference('foo/bar'), { name: 'foo/bar', tag: 'latest' });
  t.deepEqual(parseReference('foo/bar_baz.qux-1:v1.0-rc_2'), { name: 'foo/bar_baz.qux-1', tag: 'v1.0-rc_2' });
});

test('a registry with a port is part of the name, not a tag', (t) => {
  t.deepEqual(parseReference('localhost:5000/x'), { name: 'localhost:5000/x', tag: 'latest' });
  t.deepEqual(parseReference('localhost:5000/x:1'), { name: 'localhost:5000/x', tag: '1' });
  t.deepEqual(parseReference('registry.example.com/team/app:2'), { name: 'registry.example.com/team/app', tag: '2' });
  t.deepEqual(parseReference('localhost/x'), { name: 'localhost/x', tag: 'latest' });
  t.deepEqual(parseReference('[::1]:5000/x:y'), { name: '[::1]:5000/x', tag: 'y' });
});

test('Docker Hub names are shown in familiar form', (t) => {
  t.deepEqual(parseReference('docker.io/library/busybox:1'), { name: 'busybox', tag: '1' });
  t.deepEqual(parseReference('index.docker.io/library/busybox'), { name: 'busybox', tag: 'latest' });
  t.deepEqual(parseReference('library/busybox'), { name: 'busybox', tag: 'latest' });
  t.deepEqual(parseReference('docker.io/foo/bar'), { name: 'foo/bar', tag: 'latest' });
  t.is(normalizeRepoTag('docker.io/library/busybox'), 'busybox:latest');
  t.is(normalizeRepoTag('localhost:5000/x'), 'localhost:5000/x:latest');
});

test('invalid references are refused with TSNET_INVALID_ARGUMENT', (t) => {
  for (const bad of [
    '',
    'Busybox',
    'foo:',
    'foo:bad tag',
    'foo//bar',
    '-foo',
    `foo@sha256:${'a'.repeat(64)}`,
    'a'.repeat(64),
    `foo:${'x'.repeat(129)}`,
  ]) {
    const err = t.throws(() => parseReference(bad), undefined, bad);
    t.true(isTsnetError(err, 'TSNET_INVALID_ARGUMENT'), bad);
    t.false(err!.message.includes('\n'));
  }
  t.regex(t.throws(() => parseReference('Busybox'))!.message, /lowercase/);
});

test('ids and id prefixes', (t) => {
  const id = `sha256:${'3f2a'.repeat(16)}`;
  t.true(isFullImageId(id));
  t.false(isFullImageId('3f2a'.repeat(16)));
  t.false(isFullImageId('sha256:3f2a'));
  t.is(idPrefixOf('3f2a'), '3f2a');
  t.is(idPrefixOf('sha256:3f'), '3f');
  t.is(idPrefixOf('busybox'), undefined);
  t.is(idPrefixOf('3F2A'), undefined);
  t.is(shortId(id), '3f2a3f2a3f2a');
  t.is(repositoryOf('localhost:5000/x:1'), 'localhost:5000/x');
  t.is(repositoryOf('busybox:latest'), 'busybox');
});

test('formatSize prints like docker images', (t) => {
  t.is(formatSize(0), '0B');
  t.is(formatSize(999), '999B');
  t.is(formatSize(1000), '1kB');
  t.is(formatSize(1500), '1.5kB');
  t.is(formatSize(4_261_234), '4.26MB');
  t.is(formatSize(1_982_373), '1.98MB');
  t.is(formatSize(77_800_000), '77.8MB');
  t.is(formatSize(123_456_789), '123MB');
  t.is(formatSize(999_999), '1MB');
  t.is(formatSize(1_130_000_000), '1.13GB');
});
