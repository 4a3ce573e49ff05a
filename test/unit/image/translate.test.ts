/** The stream handed to GNU tar: whiteouts and opaque markers in overlayfs form. No I/O. */
import test from 'ava';
import { isTsnetError } from '../../../src/errors/index.js';
import { translateLayer } from '../../../src/runtime/image/layer-extract.js';
import { encodeHeader, END_OF_ARCHIVE, padding, type HeaderFields } from '../../../src/runtime/image/tar-header.js';
import { TarDigest, tarEntries } from '../../../src/runtime/image/tar-read.js';

type In = Omit<HeaderFields, 'mode' | 'uid' | 'gid'> & Partial<Pick<HeaderFields, 'mode' | 'uid' | 'gid'>> & { body?: string };

function rawTar(entries: In[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = e.body === undefined ? undefined : Buffer.from(e.body);
    parts.push(encodeHeader({ mode: 0o644, uid: 0, gid: 0, ...e, size: body?.length ?? 0 }));
    if (body) parts.push(body, padding(body.length));
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

async function translate(entries: In[]) {
  const result = { size: 0 };
  const out: Buffer[] = [];
  for await (const chunk of translateLayer(tarEntries(once(rawTar(entries)), new TarDigest(), 'in'), result, {
    what: 'test layer',
  }))
    out.push(chunk);
  const back = [];
  for await (const e of tarEntries(once(Buffer.concat(out)), new TarDigest(), 'out')) {
    const chunks: Buffer[] = [];
    for await (const c of e.body()) chunks.push(c);
    back.push({
      path: e.path.replace(/\/$/, ''),
      type: e.type,
      mode: e.mode,
      uid: e.uid,
      dev: [e.devmajor, e.devminor],
      xattrs: Object.fromEntries([...e.xattrs].map(([k, v]) => [k, v.toString()])),
      data: Buffer.concat(chunks).toString(),
    });
  }
  return { entries: back, size: result.size };
}

const mtime = new Date('2021-01-01T00:00:00Z');

test('.wh.<name> becomes a 0:0 character device named <name>, keeping its owner', async (t) => {
  const { entries } = await translate([
    { path: 'etc', type: 'Directory', mode: 0o755, mtime },
    { path: 'etc/.wh.passwd', type: 'File', uid: 7, mtime, body: '' },
  ]);
  t.deepEqual(entries, [
    { path: 'etc', type: '5', mode: 0o755, uid: 0, dev: [0, 0], xattrs: {}, data: '' },
    { path: 'etc/passwd', type: '3', mode: 0, uid: 7, dev: [0, 0], xattrs: {}, data: '' },
  ]);
});

test('.wh..wh..opq becomes trusted.overlay.opaque=y on its directory, set after its contents', async (t) => {
  const { entries } = await translate([
    { path: 'var/cache', type: 'Directory', mode: 0o700, mtime },
    { path: 'var/cache/.wh..wh..opq', type: 'File', mtime, body: '' },
    { path: 'var/cache/new', type: 'File', mtime, body: 'n' },
  ]);
  t.deepEqual(
    entries.map((e) => [e.path, e.type, e.mode, e.xattrs]),
    [
      ['var', '5', 0o755, {}], // implicit parent, made explicit
      ['var/cache', '5', 0o700, {}],
      ['var/cache/new', '0', 0o644, {}],
      ['var/cache', '5', 0o700, { 'trusted.overlay.opaque': 'y' }],
    ],
  );
});

test('an opaque marker whose directory has no entry of its own gets a default one', async (t) => {
  const { entries } = await translate([{ path: 'a/b/.wh..wh..opq', type: 'File', mtime, body: '' }]);
  t.deepEqual(
    entries.map((e) => [e.path, e.mode, e.xattrs]),
    [
      ['a', 0o755, {}],
      ['a/b', 0o755, {}],
      ['a/b', 0o755, { 'trusted.overlay.opaque': 'y' }],
    ],
  );
});

test('aufs metadata is dropped; trusted.* xattrs from the image are dropped, capabilities kept', async (t) => {
  const { entries, size } = await translate([
    { path: '.wh..wh.plnk', type: 'Directory', mtime },
    { path: '.wh..wh.plnk/123.456', type: 'File', mtime, body: 'x' },
    {
      path: 'bin/ping',
      type: 'File',
      mode: 0o755,
      mtime,
      body: 'ELF',
      xattrs: new Map([
        ['security.capability', 'cap'],
        ['trusted.overlay.redirect', '/etc'],
        ['user.note', 'hi'],
        ['security.selinux', 'ctx'],
      ]),
    },
  ]);
  t.deepEqual(
    entries.map((e) => [e.path, e.xattrs]),
    [
      ['bin', {}],
      ['bin/ping', { 'security.capability': 'cap', 'user.note': 'hi' }],
    ],
  );
  t.is(size, 3);
});

test('names are normalized; hostile ones are refused', async (t) => {
  const { entries } = await translate([
    { path: './', type: 'Directory', mode: 0o755, mtime },
    { path: '/abs/file', type: 'File', mtime, body: 'a' },
  ]);
  t.deepEqual(
    entries.map((e) => e.path),
    ['.', 'abs', 'abs/file'],
  );
  const hostile: In[][] = [
    [{ path: '../x', type: 'File', mtime, body: '' }],
    [
      { path: 'l', type: 'SymbolicLink', linkpath: '/', mtime },
      { path: 'l/x', type: 'File', mtime, body: '' },
    ],
    [
      { path: 'l', type: 'SymbolicLink', linkpath: '/', mtime },
      { path: 'l/.wh.x', type: 'File', mtime, body: '' },
    ],
    [{ path: 'h', type: 'Link', linkpath: '../../etc/shadow', mtime }],
    [
      { path: 'l', type: 'SymbolicLink', linkpath: '/etc', mtime },
      { path: 'h', type: 'Link', linkpath: 'l/shadow', mtime },
    ],
    [
      { path: 'd', type: 'Directory', mtime },
      { path: 'h', type: 'Link', linkpath: 'd', mtime },
    ],
    [
      { path: 'l', type: 'SymbolicLink', linkpath: '/tmp', mtime },
      { path: 'l', type: 'Directory', mtime },
    ],
  ];
  for (const entries of hostile) {
    const err = await t.throwsAsync(translate(entries), undefined, JSON.stringify(entries));
    t.true(isTsnetError(err, 'TSNET_IMAGE_INVALID'), err?.message);
    t.regex(err!.message, /^invalid test layer: /);
  }
});
