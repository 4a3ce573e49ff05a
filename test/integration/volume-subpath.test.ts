/**
 * VolumeOptions.Subpath (API 1.45, `--mount …,volume-subpath=PATH`): only that path inside the
 * volume is mounted. It is checked lexically at create and resolved at start beneath the volume
 * with no symlink followed, so a symlink a container planted in the volume never leads out of it.
 */
import test from 'ava';
import { api } from '../helpers/api.js';
import { createWorld, type World } from '../helpers/world.js';

let w: World;
test.before(async () => {
  w = await createWorld();
  await w.ok(['volume', 'create', 'sp']);
  // what a hostile container may leave in a volume: symlinks out of it, and one inside it
  await w.ok([
    'run',
    '--rm',
    '--network',
    'none',
    '-v',
    'sp:/v',
    'busybox',
    'sh',
    '-c',
    'mkdir -p /v/sub/deeper && echo test content > /v/sub/f && echo deep > /v/sub/deeper/g && ' +
      'ln -s / /v/escape && ln -s /etc /v/sub/etc && ln -s ../../.. /v/sub/up && ln -s sub /v/inside',
  ]);
});
test.after.always(async () => {
  await w?.teardown();
});

const mount = (sub: string, extra = '') => `type=volume,src=sp,dst=/mnt,volume-subpath=${sub}${extra}`;

test.serial('a directory or a file inside the volume is what the container sees, read-only when asked', async (t) => {
  t.is(
    await w.ok(['run', '--rm', '--network', 'none', '--mount', mount('sub', ',ro'), 'busybox', 'cat', '/mnt/f']),
    'test content',
  );
  const ls = await w.ok(['run', '--rm', '--network', 'none', '--mount', mount('sub/deeper'), 'busybox', 'ls', '-A', '/mnt']);
  t.is(ls, 'g');
  const ro = await w.cli(['run', '--rm', '--network', 'none', '--mount', mount('sub', ',ro'), 'busybox', 'touch', '/mnt/x']);
  t.not(ro.exitCode, 0, 'read-only');
  t.is(
    await w.ok([
      'run',
      '--rm',
      '--network',
      'none',
      '--mount',
      'type=volume,src=sp,dst=/f,volume-subpath=sub/f',
      'busybox',
      'cat',
      '/f',
    ]),
    'test content',
  );
  const id = await w.ok(['create', '--network', 'none', '--mount', mount('./sub//deeper/'), 'busybox', 'true']);
  const mounts = JSON.parse(await w.ok(['inspect', '-f', '{{json .HostConfig.Mounts}}', id])) as Array<{
    VolumeOptions: { Subpath: string };
  }>;
  t.is(mounts[0]!.VolumeOptions.Subpath, './sub//deeper/', 'shown as given');
  await w.ok(['start', id]);
});

test.serial('a symlink anywhere on the way is refused at start with one line; nothing of the host shows', async (t) => {
  for (const [sub, why] of [
    ['escape', 'too many levels of symbolic links'],
    ['sub/etc', 'too many levels of symbolic links'],
    ['sub/up/etc', 'too many levels of symbolic links'],
    ['inside/f', 'too many levels of symbolic links'],
    ['sub/missing', 'no such file or directory'],
  ] as const) {
    const r = await w.cli(['run', '--rm', '--network', 'none', '--mount', mount(sub), 'busybox', 'ls', '/mnt']);
    t.not(r.exitCode, 0, sub);
    t.regex(r.stderr, new RegExp(`cannot access path \\S+/sp/\\S*${sub.replace(/\//g, '\\/')}: ${why}`), `${sub}: ${r.stderr}`);
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    t.notRegex(r.stdout, /passwd|bin|proc/, 'no host directory was listed');
  }
});

test.serial('lexically outside, anonymous, or before API 1.45: refused at create, nothing made', async (t) => {
  const before = await w.ok(['ps', '-aq', '--no-trunc']);
  for (const [m, re] of [
    [mount('../x'), /subpath must be a relative path within the volume/],
    [mount('sub/../../x'), /subpath must be a relative path within the volume/],
    [mount('/etc'), /subpath must be a relative path within the volume/],
    ['type=volume,dst=/mnt,volume-subpath=sub', /must not set Subpath when using anonymous volumes/],
  ] as const) {
    const r = await w.cli(['create', '--network', 'none', '--mount', m, 'busybox', 'true']);
    t.is(r.exitCode, 125, m);
    t.regex(r.stderr, re, m);
  }
  const old = await api(w.socket, {
    method: 'POST',
    path: '/v1.44/containers/create',
    body: {
      Image: 'busybox',
      HostConfig: {
        NetworkMode: 'none',
        Mounts: [{ Type: 'volume', Source: 'sp', Target: '/mnt', VolumeOptions: { Subpath: 'sub' } }],
      },
    },
  });
  t.is(old.status, 400);
  t.is((old.json as { message: string }).message, 'VolumeOptions.Subpath needs API v1.45 or newer');
  t.is(await w.ok(['ps', '-aq', '--no-trunc']), before);
});
