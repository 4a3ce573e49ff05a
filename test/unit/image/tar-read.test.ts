import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import test from 'ava';
import { isTsnetError } from '../../../src/errors/index.js';
import { encodeHeader, END_OF_ARCHIVE, padding, type HeaderFields } from '../../../src/runtime/image/tar-header.js';
import { decompress, TarDigest, tarEntries, type TarEntry } from '../../../src/runtime/image/tar-read.js';

function archive(entries: Array<HeaderFields & { body?: Buffer }>, trailer = END_OF_ARCHIVE): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(encodeHeader({ ...e, size: e.body?.length ?? 0 }));
    if (e.body) parts.push(e.body, padding(e.body.length));
  }
  parts.push(trailer);
  return Buffer.concat(parts);
}

async function* chunked(buf: Buffer, size = 777): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function readAll(
  source: AsyncIterable<Buffer>,
  digest = new TarDigest(),
): Promise<Array<Omit<TarEntry, 'body'> & { data: Buffer }>> {
  const out = [];
  for await (const e of tarEntries(source, digest, 'test archive')) {
    const chunks: Buffer[] = [];
    for await (const c of e.body()) chunks.push(c);
    const { body: _body, ...rest } = e;
    out.push({ ...rest, data: Buffer.concat(chunks) });
  }
  return out;
}

const mtime = new Date('2020-01-02T03:04:05Z');
const longPath = `deep/${'x'.repeat(120)}/${'y'.repeat(120)}/file`;
const capability = Buffer.from('0100000200200000000000000000000000000000', 'hex');

const sample = archive([
  { path: '.', type: 'Directory', mode: 0o755, uid: 0, gid: 0, mtime },
  { path: 'bin', type: 'Directory', mode: 0o755, uid: 0, gid: 0, mtime },
  {
    path: 'bin/tool',
    type: 'File',
    mode: 0o4755,
    uid: 1000,
    gid: 2000,
    mtime,
    body: Buffer.alloc(1300, 7),
    xattrs: new Map([['security.capability', capability]]),
  },
  { path: 'bin/sh', type: 'SymbolicLink', mode: 0o777, uid: 0, gid: 0, mtime, linkpath: '/bin/tool' },
  { path: 'bin/hard', type: 'Link', mode: 0o755, uid: 0, gid: 0, mtime, linkpath: 'bin/tool' },
  { path: 'dev/null', type: 'CharacterDevice', mode: 0o666, uid: 0, gid: 0, mtime, devmajor: 1, devminor: 3 },
  {
    path: longPath,
    type: 'File',
    mode: 0o644,
    uid: 3_000_000,
    gid: 0,
    mtime: new Date(1_600_000_000_500),
    body: Buffer.from('long\n'),
  },
  { path: 'ünïcødé', type: 'File', mode: 0o600, uid: 0, gid: 0, mtime, body: Buffer.alloc(0) },
]);

test('entries come back with their metadata, bodies, xattrs and device numbers', async (t) => {
  const digest = new TarDigest();
  const entries = await readAll(chunked(sample), digest);
  t.deepEqual(
    entries.map((e) => [e.path.replace(/\/$/, ''), e.type]),
    [
      ['.', '5'],
      ['bin', '5'],
      ['bin/tool', '0'],
      ['bin/sh', '2'],
      ['bin/hard', '1'],
      ['dev/null', '3'],
      [longPath, '0'],
      ['ünïcødé', '0'],
    ],
  );
  const tool = entries[2]!;
  t.is(tool.mode, 0o4755);
  t.is(tool.uid, 1000);
  t.is(tool.gid, 2000);
  t.is(tool.size, 1300);
  t.deepEqual(tool.data, Buffer.alloc(1300, 7));
  t.is(tool.mtime.getTime(), mtime.getTime());
  t.deepEqual(tool.xattrs.get('security.capability'), capability);
  t.is(entries[3]!.linkpath, '/bin/tool');
  t.is(entries[4]!.linkpath, 'bin/tool');
  t.is(entries[5]!.devmajor, 1);
  t.is(entries[5]!.devminor, 3);
  t.is(entries[6]!.uid, 3_000_000);
  t.is(entries[6]!.mtime.getTime(), 1_600_000_000_500);
  t.is(entries[6]!.data.toString(), 'long\n');
  t.is(digest.digest(), `sha256:${createHash('sha256').update(sample).digest('hex')}`);
  t.is(digest.bytes, sample.length);
});

test('the digest covers padding after the end-of-archive blocks', async (t) => {
  const padded = Buffer.concat([sample, Buffer.alloc(10240)]);
  const digest = new TarDigest();
  await readAll(chunked(padded, 4096), digest);
  t.is(digest.digest(), `sha256:${createHash('sha256').update(padded).digest('hex')}`);
});

test('bodies left unread are skipped', async (t) => {
  const names: string[] = [];
  for await (const e of tarEntries(chunked(sample, 100), new TarDigest(), 'x')) names.push(e.path);
  t.is(names.length, 8);
});

test('gzip is decompressed transparently', async (t) => {
  const entries = await readAll(decompress(chunked(gzipSync(sample), 333), 'test archive'));
  t.is(entries.length, 8);
  t.deepEqual(entries[2]!.data, Buffer.alloc(1300, 7));
});

test('truncated, corrupt, empty and non-tar input is TSNET_IMAGE_INVALID', async (t) => {
  const cases: Array<[string, AsyncIterable<Buffer>]> = [
    ['truncated', chunked(sample.subarray(0, 2000))],
    ['not a tar', chunked(Buffer.from('hello world, this is not a tar archive'.repeat(40)))],
    ['empty', chunked(Buffer.alloc(0))],
    ['corrupt gzip', decompress(chunked(gzipSync(sample).subarray(0, 300)), 'x')],
    ['bzip2', decompress(chunked(Buffer.from(`BZh91AY&SY${'x'.repeat(100)}`, 'latin1')), 'x')],
  ];
  for (const [name, source] of cases) {
    const err = await t.throwsAsync(readAll(source), undefined, name);
    t.true(isTsnetError(err, 'TSNET_IMAGE_INVALID'), `${name}: ${err?.message}`);
  }
  const bad = Buffer.from(sample);
  bad[600] = bad[600]! ^ 0xff; // inside the second header
  t.true(isTsnetError(await t.throwsAsync(readAll(chunked(bad))), 'TSNET_IMAGE_INVALID'));
});

test('an archive of no entries (end-of-archive blocks only) is valid; no bytes at all is not', async (t) => {
  const entries = async (b: Buffer) => {
    const out: string[] = [];
    for await (const e of tarEntries(
      (async function* () {
        yield b;
      })(),
      new TarDigest(),
      'x',
    ))
      out.push(e.path);
    return out;
  };
  t.deepEqual(await entries(END_OF_ARCHIVE), []);
  await t.throwsAsync(entries(Buffer.alloc(0)), { message: /x is not a valid tar archive: it is empty/ });
});
