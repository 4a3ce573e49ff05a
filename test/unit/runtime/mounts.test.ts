import test from 'ava';
import { localKind } from '../../../src/runtime/volumes/local-options.js';
import { mountOrder, parseBindSpec, planMounts, tmpfsOptions } from '../../../src/runtime/volumes/mounts.js';
import { checkVolumeName } from '../../../src/runtime/volumes/names.js';

test('Binds: host paths, volume names, anonymous; modes', (t) => {
  t.like(parseBindSpec('/srv:/data:ro'), { Type: 'bind', Source: '/srv', Destination: '/data', RW: false, CreateSource: true });
  t.like(parseBindSpec('web:/www'), { Type: 'volume', Name: 'web', Destination: '/www', RW: true, Mode: 'z' });
  t.like(parseBindSpec('web:/www:ro,nocopy'), { NoCopy: true, RW: false });
  t.like(parseBindSpec('/scratch'), { Type: 'volume', Anonymous: true, Destination: '/scratch' });
  t.throws(() => parseBindSpec('../x:/y'), { message: /relative/ });
  t.throws(() => parseBindSpec('a/b:/y'), { message: /invalid volume name/ });
  t.throws(() => parseBindSpec('/a:/'), { message: /root/ });
  t.throws(() => parseBindSpec('/a:/b:bogus'), { message: /invalid mode "bogus"/ });
  t.throws(() => parseBindSpec('/a:/b\n:ro'), { message: /control characters/ });
});

test('planMounts: order of sources, duplicates, anonymous volumes only where nothing is mounted', (t) => {
  const p = planMounts({
    binds: ['v1:/a'],
    mounts: [{ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1024, Mode: 0o700 } }],
    tmpfs: { '/run': 'size=64k,exec' },
    volumes: { '/a': {}, '/b': {} },
    imageVolumes: { '/b': {}, '/c': {} },
  });
  t.deepEqual(
    p.map((m) => [m.Type, m.Destination]),
    [
      ['volume', '/a'],
      ['tmpfs', '/t'],
      ['tmpfs', '/run'],
      ['volume', '/b'],
      ['volume', '/c'],
    ],
  );
  t.is(p[1]!.TmpfsOptions, 'rw,noexec,nosuid,nodev,size=1024,mode=700');
  t.is(p[2]!.TmpfsOptions, 'rw,nosuid,nodev,size=64k');
  t.throws(() => planMounts({ binds: ['/x:/d'], tmpfs: { '/d/': '' } }), { message: 'Duplicate mount point: /d' });
  t.throws(() => planMounts({ mounts: [{ Type: 'volume', Target: '/v', VolumeOptions: { DriverConfig: { Name: 'nfs' } } }] }), {
    message: /volume driver "nfs" is not available/,
  });
  t.throws(() => planMounts({ mounts: [{ Type: 'npipe', Target: '/v' }] }), { message: /type "npipe" is not supported/ });
  t.deepEqual(
    mountOrder([{ Destination: '/a/b/c' }, { Destination: '/a' }, { Destination: '/a/b' }]).map((m) => m.Destination),
    ['/a', '/a/b', '/a/b/c'],
  );
});

test('tmpfs options: Docker defaults and overrides; junk refused', (t) => {
  t.deepEqual(tmpfsOptions('', 'x'), { rw: true, options: 'rw,noexec,nosuid,nodev' });
  t.deepEqual(tmpfsOptions('ro,exec,mode=1777', 'x'), { rw: false, options: 'ro,nosuid,nodev,mode=1777' });
  t.throws(() => tmpfsOptions('size=1m,lowerdir=/etc', 'x'), { message: /invalid tmpfs option "lowerdir=\/etc"/ });
});

test('local driver options: dir, tmpfs, bind; the rest refused', (t) => {
  t.deepEqual(localKind({}), { kind: 'dir' });
  t.deepEqual(localKind({ type: 'tmpfs', device: 'tmpfs', o: 'size=2m,uid=1000' }), {
    kind: 'tmpfs',
    options: 'size=2m,uid=1000',
  });
  t.deepEqual(localKind({ type: 'none', o: 'bind', device: '/srv/x' }), { kind: 'bind', device: '/srv/x' });
  t.throws(() => localKind({ type: 'nfs', o: 'addr=1.2.3.4', device: ':/x' }), { message: /not supported by tsnet/ });
  t.throws(() => localKind({ type: 'none', o: 'bind', device: 'rel' }), { message: /absolute/ });
  t.throws(() => localKind({ size: '1g' }), { message: /invalid option "size"/ });
});

test('volume names: Docker regex, no path escapes', (t) => {
  for (const ok of ['ab', 'web_data', 'a.b-c', 'X1']) t.notThrows(() => checkVolumeName(ok));
  for (const bad of ['a', '..', '../x', '.x', 'a/b', 'a b', '', 'x'.repeat(256)]) t.throws(() => checkVolumeName(bad));
});
