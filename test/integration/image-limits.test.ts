/**
 * Image import limits (tsnetd --image-max-size, --image-max-entries, --image-max-path): a gzip
 * bomb, an archive of 300 000 files and an over-long path are refused with one 400 line, and
 * the aborted import leaves nothing behind (no temp dir, no layer, no image). The archives are
 * generated on the fly, small to send: the limits are set low for the test.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { encodeHeader, END_OF_ARCHIVE, padding } from '../../src/runtime/image/tar-header.js';
import { api } from '../helpers/api.js';
import { createWorld, type World } from '../helpers/world.js';

const test = anyTest as TestFn<{ w: World }>;
const MiB = 1024 * 1024;

test.before(async (t) => {
  // busybox (≈ 2 MB, ≈ 300 entries) is imported under these limits by createWorld.
  t.context.w = await createWorld({
    daemonArgs: ['--image-max-size', '16m', '--image-max-entries', '1000', '--image-max-path', '200'],
  });
});
test.after.always(async (t) => {
  await t.context.w?.teardown();
});

const mtime = new Date(0);
const file = (p: string, size: number): Buffer =>
  encodeHeader({ path: p, type: 'File', mode: 0o644, uid: 0, gid: 0, size, mtime });

/**
 * POST the stream as an image import; resolves with the answer. The daemon may answer before
 * the end: then the rest is not generated nor sent.
 */
function importStream(w: World, body: AsyncIterable<Buffer>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const source = Readable.from(body);
    const req = http.request(
      {
        socketPath: w.socket,
        method: 'POST',
        path: '/images/create?fromSrc=-&repo=limits&tag=t',
        headers: { 'Content-Type': 'application/x-tar' },
      },
      (res) => {
        source.destroy();
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, text });
        });
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') reject(err);
    });
    source.on('end', () => req.end());
    source.on('data', (chunk: Buffer) => {
      if (!req.write(chunk)) {
        source.pause();
        req.once('drain', () => source.resume());
      }
    });
  });
}

async function* gzip(source: AsyncIterable<Buffer> | Iterable<Buffer>): AsyncGenerator<Buffer> {
  const z = zlib.createGzip({ level: 1 });
  const out = Readable.from(source).pipe(z);
  for await (const c of out) yield c as Buffer;
}

function* zeros(total: number): Generator<Buffer> {
  const chunk = Buffer.alloc(MiB);
  for (let n = 0; n < total; n += MiB) yield chunk;
}

/** What an import may leave behind: temp dirs, layers, image records. */
function storeState(w: World): { tmp: string[]; layers: string[]; images: string[] } {
  const ls = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d).sort() : []);
  const root = path.join(w.root, 'image');
  return { tmp: ls(path.join(root, 'tmp')), layers: ls(path.join(root, 'layers')), images: ls(path.join(root, 'images')) };
}

async function assertRefused(t: ExecutionContext<{ w: World }>, body: AsyncIterable<Buffer>, pattern: RegExp): Promise<void> {
  const { w } = t.context;
  const before = storeState(w);
  const r = await importStream(w, body);
  t.is(r.status, 400, r.text);
  const message = (JSON.parse(r.text) as { message: string }).message;
  t.regex(message, pattern);
  t.false(message.includes('\n'));
  t.deepEqual(storeState(w), before, 'the aborted import left nothing behind');
  // liveness, not timing: the box may be loaded
  t.is((await api(w.socket, { path: '/_ping', timeoutMs: 120_000 })).status, 200);
}

test.serial('a gzip bomb (64 MiB of zeros in one file, 64 KiB on the wire) stops at --image-max-size', async (t) => {
  async function* tar(): AsyncGenerator<Buffer> {
    yield file('zero', 64 * MiB);
    yield* zeros(64 * MiB);
    yield END_OF_ARCHIVE;
  }
  await assertRefused(t, gzip(tar()), /is too large: .*16777216 bytes uncompressed \(tsnetd --image-max-size\)/);
});

test.serial('a small archive followed by 64 MiB of zeros (read past its end) stops at --image-max-size too', async (t) => {
  async function* tar(): AsyncGenerator<Buffer> {
    yield file('hello', 5);
    yield Buffer.concat([Buffer.from('hello'), padding(5)]);
    yield END_OF_ARCHIVE;
    yield* zeros(64 * MiB);
  }
  await assertRefused(t, gzip(tar()), /is too large: more than 16777216 bytes uncompressed/);
});

test.serial('an archive of 300 000 files stops at --image-max-entries', async (t) => {
  function* tar(): Generator<Buffer> {
    const batch: Buffer[] = [];
    for (let i = 0; i < 300_000; i++) {
      batch.push(file(`d${i % 100}/f${i}`, 0));
      if (batch.length === 1000) yield Buffer.concat(batch.splice(0));
    }
    yield END_OF_ARCHIVE;
  }
  await assertRefused(t, gzip(tar()), /has too many entries: more than 1000 files, directories and links/);
});

test.serial('a path longer than --image-max-path is refused', async (t) => {
  async function* tar(): AsyncGenerator<Buffer> {
    const long = `${'a/'.repeat(150)}f`;
    yield file(long, 3);
    yield Buffer.concat([Buffer.from('abc'), padding(3)]);
    yield END_OF_ARCHIVE;
  }
  await assertRefused(t, tar(), /has a path longer than 200 bytes/);
});

test.serial('an archive within the limits imports', async (t) => {
  const { w } = t.context;
  async function* tar(): AsyncGenerator<Buffer> {
    yield file('hello', 5);
    yield Buffer.concat([Buffer.from('hello'), padding(5)]);
    yield END_OF_ARCHIVE;
  }
  const r = await importStream(w, gzip(tar()));
  t.is(r.status, 200, r.text);
  t.is((await api(w.socket, { path: '/images/limits:t/json' })).status, 200);
});
