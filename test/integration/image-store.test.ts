/**
 * The image store on a real file system, with real overlayfs mounts. Needs root.
 * Tarballs are made with GNU tar (an implementation independent of the store's) in each
 * test's own temp dir, and each test uses its own store root; teardown unmounts and
 * removes everything.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { execa } from 'execa';
import { isTsnetError } from '../../src/errors/index.js';
import { ImageStore } from '../../src/runtime/image/image-store.js';
import { encodeHeader, END_OF_ARCHIVE, padding, type HeaderFields } from '../../src/runtime/image/tar-header.js';
import { requireNeeds } from '../helpers/preconditions.js';

const test = anyTest as TestFn;
test.before(() => requireNeeds({ root: true }));
const REPO = path.resolve(import.meta.dirname, '../..');
const BUSYBOX_TAR = path.join(REPO, 'build', 'busybox-rootfs.tar');

// ------------------------------------------------------------------ helpers

async function tmpdir(t: ExecutionContext, prefix = 'tsnet-image-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

type Spec = string | { dir: true } | { symlink: string };

/** Write a tree: `path: content` for files, `{dir: true}` for empty dirs, `{symlink}` for links. */
function writeTree(root: string, tree: Record<string, Spec>): void {
  fs.mkdirSync(root, { recursive: true });
  for (const [rel, spec] of Object.entries(tree)) {
    const p = path.join(root, rel);
    if (typeof spec !== 'string' && 'dir' in spec) {
      fs.mkdirSync(p, { recursive: true });
      continue;
    }
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (typeof spec === 'string') fs.writeFileSync(p, spec);
    else fs.symlinkSync(spec.symlink, p);
  }
}

/** Pack a directory with GNU tar. */
async function packDir(src: string, file: string): Promise<string> {
  await execa('tar', ['--create', `--file=${file}`, `--directory=${src}`, '--sort=name', '--numeric-owner', '.']);
  return file;
}

interface Layer {
  file: string;
  diffId: string;
}

async function layerTar(dir: string, name: string, tree: Record<string, Spec>): Promise<Layer> {
  const src = path.join(dir, `${name}.src`);
  writeTree(src, tree);
  const file = await packDir(src, path.join(dir, `${name}.tar`));
  return { file, diffId: `sha256:${sha256(fs.readFileSync(file))}` };
}

/** A tar written entry by entry, for archives GNU tar would not make. */
function rawTar(entries: Array<Omit<HeaderFields, 'mode' | 'uid' | 'gid'> & { body?: string }>): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = e.body === undefined ? undefined : Buffer.from(e.body);
    parts.push(encodeHeader({ mode: e.type === 'Directory' ? 0o755 : 0o644, uid: 0, gid: 0, ...e, size: body?.length ?? 0 }));
    if (body) parts.push(body, padding(body.length));
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

interface SaveImage {
  layers: Layer[];
  tags?: string[];
  config?: Record<string, unknown>;
  gzipLayers?: boolean;
}

/** A `docker save` archive in the legacy layout: <hash>/layer.tar, <id>.json, manifest.json. */
async function dockerSave(
  dir: string,
  name: string,
  images: SaveImage[],
): Promise<{ file: string; bundle: string; ids: string[] }> {
  const bundle = path.join(dir, `${name}.bundle`);
  fs.mkdirSync(bundle, { recursive: true });
  const manifest = [];
  const ids: string[] = [];
  for (const img of images) {
    const layerNames = [];
    for (const l of img.layers) {
      const hex = l.diffId.slice(7);
      const layerName = img.gzipLayers ? `${hex}/layer.tar.gz` : `${hex}/layer.tar`;
      fs.mkdirSync(path.join(bundle, hex), { recursive: true });
      const data = fs.readFileSync(l.file);
      fs.writeFileSync(path.join(bundle, layerName), img.gzipLayers ? gzipSync(data) : data);
      layerNames.push(layerName);
    }
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        created: '2024-01-02T03:04:05.000000006Z',
        config: { Env: ['PATH=/bin'], Cmd: ['sh'] },
        rootfs: { type: 'layers', diff_ids: img.layers.map((l) => l.diffId) },
        ...img.config,
      }),
    );
    const id = sha256(config);
    ids.push(`sha256:${id}`);
    fs.writeFileSync(path.join(bundle, `${id}.json`), config);
    manifest.push({ Config: `${id}.json`, RepoTags: img.tags ?? null, Layers: layerNames });
  }
  fs.writeFileSync(path.join(bundle, 'manifest.json'), JSON.stringify(manifest));
  return { file: await packDir(bundle, path.join(dir, `${name}.tar`)), bundle, ids };
}

async function mountOverlay(t: ExecutionContext, lowerDirs: string[]): Promise<string> {
  const base = await tmpdir(t, 'tsnet-ovl-');
  const merged = path.join(base, 'merged');
  fs.mkdirSync(merged);
  await execa('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lowerDirs.join(':')}`, merged]);
  // Teardowns run last-registered first: this unmount runs before the dir is removed.
  t.teardown(async () => {
    await execa('umount', [merged]).catch(() => execa('umount', ['-l', merged]));
  });
  return merged;
}

function storeDirs(root: string): { layers: string[]; images: string[]; tmp: string[] } {
  const list = (d: string) => (fs.existsSync(path.join(root, d)) ? fs.readdirSync(path.join(root, d)).sort() : []);
  return { layers: list('layers'), images: list('images'), tmp: list('tmp') };
}

const EMPTY_STORE = { layers: [], images: [], tmp: [] };

function isWhiteout(p: string): boolean {
  const st = fs.lstatSync(p);
  return st.isCharacterDevice() && st.rdev === 0;
}

async function busyboxTar(t: ExecutionContext): Promise<string> {
  if (!fs.existsSync(BUSYBOX_TAR)) {
    if (!fs.existsSync('/bin/busybox')) throw new Error('/bin/busybox is missing: apt-get install busybox-static');
    await execa('bash', [path.join(REPO, 'scripts', 'make-busybox-rootfs.sh')]);
  }
  t.true(fs.existsSync(BUSYBOX_TAR));
  return BUSYBOX_TAR;
}

// ------------------------------------------------------------------ busybox

test('the busybox rootfs imports, runs under chroot, and re-importing it is idempotent', async (t) => {
  const tarFile = await busyboxTar(t);
  const dir = await tmpdir(t);
  const store = new ImageStore({ root: path.join(dir, 'store') });
  const [img] = await store.importTar(tarFile, { repoTag: 'busybox' });
  t.deepEqual(img!.repoTags, ['busybox:latest']);
  const [layer] = store.layerDirs(img!);
  t.is(fs.readlinkSync(path.join(layer!, 'bin/ls')), '/bin/busybox');
  t.is(fs.statSync(path.join(layer!, 'tmp')).mode & 0o7777, 0o1777);
  t.regex(fs.readFileSync(path.join(layer!, 'etc/passwd'), 'utf8'), /^root:x:0:0:root:\/root:\/bin\/sh\nnobody:x:65534:65534:/);
  t.regex(fs.readFileSync(path.join(layer!, 'etc/group'), 'utf8'), /tty:x:5:/);
  const r = await execa('chroot', [layer!, '/bin/sh', '-c', 'echo ok']);
  t.is(r.stdout, 'ok');
  const [again] = await store.importTar(tarFile, { repoTag: 'busybox' });
  t.is(again!.id, img!.id, 'the same tarball gives the same image');
  t.is((await store.list()).length, 1, 're-importing the same tarball is idempotent');
  t.is(
    fs.readlinkSync(path.join(store.layerDirs(again!)[0]!, 'bin/ls')),
    '/bin/busybox',
    'the layer is intact after the re-import',
  );
});

// ------------------------------------------------------------------ (1) rootfs

test('a rootfs tarball imports as one layer with files, modes, owners, links, devices and mtimes', async (t) => {
  const dir = await tmpdir(t);
  const src = path.join(dir, 'rootfs');
  writeTree(src, {
    'bin/tool': '#!/bin/sh\necho tool\n',
    'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\n',
    tmp: { dir: true },
    'usr/bin/sh': { symlink: '/bin/tool' },
  });
  fs.chmodSync(path.join(src, 'bin/tool'), 0o4755);
  fs.chmodSync(path.join(src, 'tmp'), 0o1777);
  fs.chownSync(path.join(src, 'etc/passwd'), 1234, 5678);
  fs.linkSync(path.join(src, 'bin/tool'), path.join(src, 'bin/hard'));
  await execa('mknod', [path.join(src, 'null'), 'c', '1', '3']);
  fs.utimesSync(path.join(src, 'etc/passwd'), 1_000_000_000, 1_000_000_000);
  fs.lutimesSync(path.join(src, 'usr/bin/sh'), 1_100_000_000, 1_100_000_000);
  const tarFile = await packDir(src, path.join(dir, 'rootfs.tar'));

  const root = path.join(dir, 'store');
  const store = new ImageStore({ root });
  const [img] = await store.importTar(tarFile, { repoTag: 'myroot' });
  t.deepEqual(img!.repoTags, ['myroot:latest']);
  t.deepEqual(img!.layers, [`sha256:${sha256(fs.readFileSync(tarFile))}`]);
  t.regex(img!.id, /^sha256:[0-9a-f]{64}$/);
  t.deepEqual(img!.config, { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] });
  t.is(img!.architecture, 'amd64');
  t.is(img!.os, 'linux');
  t.false(Number.isNaN(Date.parse(img!.created)));

  const dirs = store.layerDirs(img!);
  t.deepEqual(dirs, [path.join(root, 'layers', img!.layers[0]!.slice(7))]);
  const layer = dirs[0]!;
  t.is(fs.readFileSync(path.join(layer, 'bin/tool'), 'utf8'), '#!/bin/sh\necho tool\n');
  t.is(fs.statSync(path.join(layer, 'bin/tool')).mode & 0o7777, 0o4755);
  t.is(fs.statSync(path.join(layer, 'tmp')).mode & 0o7777, 0o1777);
  const passwd = fs.statSync(path.join(layer, 'etc/passwd'));
  t.is(passwd.uid, 1234);
  t.is(passwd.gid, 5678);
  t.is(passwd.mtimeMs, 1_000_000_000_000);
  t.is(fs.readlinkSync(path.join(layer, 'usr/bin/sh')), '/bin/tool');
  t.is(fs.lstatSync(path.join(layer, 'usr/bin/sh')).mtimeMs, 1_100_000_000_000);
  t.is(fs.statSync(path.join(layer, 'bin/hard')).ino, fs.statSync(path.join(layer, 'bin/tool')).ino);
  const nul = fs.lstatSync(path.join(layer, 'null'));
  t.true(nul.isCharacterDevice());
  t.is(nul.rdev, (1 << 8) | 3);
  t.is(img!.size, fs.statSync(path.join(layer, 'bin/tool')).size + passwd.size);

  t.deepEqual(storeDirs(root).images, [`${img!.id.slice(7)}.json`]);
  t.deepEqual(storeDirs(root).tmp, []);
  t.deepEqual(await new ImageStore({ root }).resolve('myroot'), img!, 'the record is on disk');
});

test('a gzipped rootfs from a stream gives the same layer and image', async (t) => {
  const dir = await tmpdir(t);
  const src = path.join(dir, 'rootfs');
  writeTree(src, { 'a/b': 'x', c: 'y' });
  const plain = await packDir(src, path.join(dir, 'r.tar'));
  const gz = path.join(dir, 'r.tar.gz');
  fs.writeFileSync(gz, gzipSync(fs.readFileSync(plain)));
  const root = path.join(dir, 'store');
  const store = new ImageStore({ root });
  const [a] = await store.importTar(plain);
  t.deepEqual(a!.repoTags, []);
  const [b] = await store.importTar(fs.createReadStream(gz), { repoTag: 'gz:1', cmd: [] });
  t.is(a!.id, b!.id, 'same content, same generated config, same id');
  t.deepEqual(b!.repoTags, ['gz:1']);
  t.is(storeDirs(root).layers.length, 2, 'one layer dir and its size file');
  const [c] = await store.importTar(plain, { cmd: ['sh'] });
  t.not(c!.id, a!.id);
  t.deepEqual(c!.config.Cmd, ['sh']);
});

test('re-importing a tag moves it to the new image; the old one stays, untagged', async (t) => {
  const dir = await tmpdir(t);
  const x = await layerTar(dir, 'x', { v: '1' });
  const y = await layerTar(dir, 'y', { v: '2' });
  const store = new ImageStore({ root: path.join(dir, 'store') });
  const [old] = await store.importTar(x.file, { repoTag: 'app' });
  const [now] = await store.importTar(y.file, { repoTag: 'app:latest' });
  t.not(old!.id, now!.id);
  t.is((await store.resolve('app')).id, now!.id);
  t.deepEqual((await store.resolve(old!.id)).repoTags, []);
  t.is((await store.list()).length, 2);
});

test('two imports of the same tarball at once', async (t) => {
  const dir = await tmpdir(t);
  const x = await layerTar(dir, 'x', { 'a/b/c': 'same' });
  const root = path.join(dir, 'store');
  const store = new ImageStore({ root });
  const [[a], [b]] = await Promise.all([
    store.importTar(x.file, { repoTag: 'one' }),
    store.importTar(fs.createReadStream(x.file), { repoTag: 'two' }),
  ]);
  t.is(a!.id, b!.id);
  const rec = await store.resolve(a!.id);
  t.deepEqual(rec.repoTags.sort(), ['one:latest', 'two:latest']);
  t.deepEqual(storeDirs(root), {
    layers: [x.diffId.slice(7), `${x.diffId.slice(7)}.json`],
    images: [`${a!.id.slice(7)}.json`],
    tmp: [],
  });
});

test('what a crashed process left behind is cleaned up by the next store on that root', async (t) => {
  const dir = await tmpdir(t);
  const x = await layerTar(dir, 'x', { f: 'x' });
  const root = path.join(dir, 'store');
  const [img] = await new ImageStore({ root }).importTar(x.file);
  // a layer whose record was never written, a half extraction, a half-written record
  fs.rmSync(path.join(root, 'images', `${img!.id.slice(7)}.json`));
  const deadPid = 999_999_999; // above any pid_max
  fs.mkdirSync(path.join(root, 'tmp', `${deadPid}-import-abc`, 'layer-0', 'usr'), { recursive: true });
  fs.writeFileSync(path.join(root, 'images', `.${'a'.repeat(64)}.json.${deadPid}.xyz.tmp`), '{');
  const live = path.join(root, 'tmp', `${process.pid}-import-live`);
  fs.mkdirSync(live);
  const store = new ImageStore({ root });
  t.deepEqual(await store.list(), []);
  t.deepEqual(
    storeDirs(root),
    { layers: [], images: [], tmp: [`${process.pid}-import-live`] },
    'a live process keeps its temp dir',
  );
});

// ------------------------------------------------------------------ (2) docker save + overlayfs

test('docker save: whiteouts and opaque dirs work in a real overlayfs mount', async (t) => {
  const dir = await tmpdir(t);
  const l1 = await layerTar(dir, 'l1', {
    'data/a.txt': 'a1',
    'data/keep.txt': 'keep',
    'gone.txt': 'bye',
    'opq/old1': 'o1',
    'opq/sub/deep': 'd',
  });
  const l2 = await layerTar(dir, 'l2', {
    '.wh.gone.txt': '',
    'data/.wh.a.txt': '',
    'data/b.txt': 'b2',
    'opq/.wh..wh..opq': '',
    'opq/new': 'n2',
  });
  const save = await dockerSave(dir, 'two', [
    {
      layers: [l1, l2],
      tags: ['test/two:1', 'docker.io/library/two'],
      config: { config: { Cmd: ['sh'], WorkingDir: '/data', Labels: { x: 'y' } } },
    },
  ]);
  const store = new ImageStore({ root: path.join(dir, 'store') });
  const [img] = await store.importTar(save.file, { repoTag: 'extra:tag' });
  t.is(img!.id, save.ids[0]!);
  t.deepEqual(img!.repoTags, ['test/two:1', 'two:latest', 'extra:tag']);
  t.deepEqual(img!.layers, [l1.diffId, l2.diffId]);
  t.is(img!.created, '2024-01-02T03:04:05.000000006Z');
  t.deepEqual(img!.config, { Cmd: ['sh'], WorkingDir: '/data', Labels: { x: 'y' } });

  const dirs = store.layerDirs(img!);
  t.deepEqual(
    dirs,
    [l2.diffId, l1.diffId].map((d) => path.join(dir, 'store', 'layers', d.slice(7))),
    'topmost first',
  );
  const top = dirs[0]!;
  t.true(isWhiteout(path.join(top, 'gone.txt')));
  t.true(isWhiteout(path.join(top, 'data/a.txt')));
  t.false(fs.existsSync(path.join(top, '.wh.gone.txt')));
  t.false(fs.existsSync(path.join(top, 'opq/.wh..wh..opq')));

  const merged = await mountOverlay(t, dirs);
  t.false(fs.existsSync(path.join(merged, 'gone.txt')), 'the whiteout hides the lower file');
  t.deepEqual(fs.readdirSync(path.join(merged, 'data')).sort(), ['b.txt', 'keep.txt']);
  t.is(fs.readFileSync(path.join(merged, 'data/keep.txt'), 'utf8'), 'keep');
  t.deepEqual(fs.readdirSync(path.join(merged, 'opq')), ['new'], 'the opaque dir shows only the upper layer');
  t.deepEqual(fs.readdirSync(merged).sort(), ['data', 'opq']);
});

test('docker save with gzip layers, inside a gzipped archive, from a stream', async (t) => {
  const dir = await tmpdir(t);
  const l1 = await layerTar(dir, 'l1', { f: 'one' });
  const save = await dockerSave(dir, 'gz', [{ layers: [l1], tags: ['gz:1'], gzipLayers: true }]);
  const gzFile = path.join(dir, 'gz.tar.gz');
  fs.writeFileSync(gzFile, gzipSync(fs.readFileSync(save.file)));
  const store = new ImageStore({ root: path.join(dir, 'store') });
  const [img] = await store.importTar(fs.createReadStream(gzFile));
  t.is(img!.id, save.ids[0]!);
  t.deepEqual(img!.repoTags, ['gz:1']);
  t.is(fs.readFileSync(path.join(store.layerDirs(img!)[0]!, 'f'), 'utf8'), 'one');
});

test('a layer whose content does not match its diff id is refused, leaving nothing', async (t) => {
  const dir = await tmpdir(t);
  const l1 = await layerTar(dir, 'l1', { f: 'one' });
  const l2 = await layerTar(dir, 'l2', { f: 'two' });
  const save = await dockerSave(dir, 'bad', [{ layers: [l1], tags: ['bad:1'] }]);
  fs.writeFileSync(path.join(save.bundle, l1.diffId.slice(7), 'layer.tar'), fs.readFileSync(l2.file));
  await packDir(save.bundle, save.file);
  const root = path.join(dir, 'store');
  const err = await t.throwsAsync(new ImageStore({ root }).importTar(save.file));
  t.true(isTsnetError(err, 'TSNET_IMAGE_INVALID'), err?.message);
  t.regex(err!.message, /hashes to/);
  t.deepEqual(storeDirs(root), EMPTY_STORE);
});

// ------------------------------------------------------------------ (3) OCI layout

test('an OCI layout with a gzip layer, through a nested index, picking linux/amd64', async (t) => {
  const dir = await tmpdir(t);
  const l1 = await layerTar(dir, 'l1', { 'etc/os-release': 'NAME=oci\n', 'bin/x': 'x' });
  const root = path.join(dir, 'oci');
  fs.mkdirSync(path.join(root, 'blobs', 'sha256'), { recursive: true });
  const blob = (data: Buffer | string): { digest: string; size: number } => {
    const buf = Buffer.from(data);
    const hex = sha256(buf);
    fs.writeFileSync(path.join(root, 'blobs', 'sha256', hex), buf);
    return { digest: `sha256:${hex}`, size: buf.length };
  };
  const layer = blob(gzipSync(fs.readFileSync(l1.file)));
  const config = blob(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Entrypoint: ['/bin/x'], User: 'nobody' },
      rootfs: { type: 'layers', diff_ids: [l1.diffId] },
    }),
  );
  const manifest = blob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
    }),
  );
  const index = blob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        // another platform, whose blobs are not even in the archive: never read
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: `sha256:${'e'.repeat(64)}`,
          size: 1,
          platform: { os: 'linux', architecture: 'arm64' },
        },
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          platform: { os: 'linux', architecture: 'amd64' },
        },
      ],
    }),
  );
  fs.writeFileSync(path.join(root, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  fs.writeFileSync(
    path.join(root, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.index.v1+json',
          ...index,
          annotations: { 'io.containerd.image.name': 'docker.io/library/ocitest:v1', 'org.opencontainers.image.ref.name': 'v1' },
        },
      ],
    }),
  );
  const tarFile = await packDir(root, path.join(dir, 'oci.tar'));

  const store = new ImageStore({ root: path.join(dir, 'store') });
  const [img] = await store.importTar(tarFile);
  t.is(img!.id, config.digest);
  t.deepEqual(img!.repoTags, ['ocitest:v1']);
  t.deepEqual(img!.config, { Entrypoint: ['/bin/x'], User: 'nobody' });
  t.deepEqual(img!.layers, [l1.diffId]);
  t.is(fs.readFileSync(path.join(store.layerDirs(img!)[0]!, 'etc/os-release'), 'utf8'), 'NAME=oci\n');
  t.is((await store.resolve('ocitest:v1')).id, img!.id);

  // A layer blob that does not match its digest is caught.
  fs.writeFileSync(path.join(root, 'blobs', 'sha256', layer.digest.slice(7)), gzipSync(fs.readFileSync(l1.file), { level: 1 }));
  const bad = await packDir(root, path.join(dir, 'oci-bad.tar'));
  const root2 = path.join(dir, 'store2');
  const err = await t.throwsAsync(new ImageStore({ root: root2 }).importTar(bad));
  t.true(isTsnetError(err, 'TSNET_IMAGE_INVALID'), err?.message);
  t.deepEqual(storeDirs(root2), EMPTY_STORE);
});

// ------------------------------------------------------------------ (4) tags, resolve, remove, sharing

test('shared layers are stored once and deleted with their last image', async (t) => {
  const dir = await tmpdir(t);
  const base = await layerTar(dir, 'base', { 'base.txt': 'base' });
  const app1 = await layerTar(dir, 'app1', { 'app.txt': '1' });
  const app2 = await layerTar(dir, 'app2', { 'app.txt': '2' });
  const s1 = await dockerSave(dir, 's1', [{ layers: [base, app1], tags: ['app:1'] }]);
  const s2 = await dockerSave(dir, 's2', [{ layers: [base, app2], tags: ['app:2'] }]);
  const root = path.join(dir, 'store');
  const store = new ImageStore({ root });
  // two imports at once, sharing a layer
  const [[i1], [i2]] = await Promise.all([store.importTar(s1.file), store.importTar(s2.file)]);
  const layerDirsOnDisk = () => storeDirs(root).layers.filter((n) => !n.endsWith('.json'));
  t.deepEqual(layerDirsOnDisk(), [base, app1, app2].map((l) => l.diffId.slice(7)).sort());
  t.deepEqual((await store.list()).map((i) => i.id).sort(), [i1!.id, i2!.id].sort());
  t.deepEqual(storeDirs(root).tmp, []);

  t.deepEqual(await store.remove('app:1'), { untagged: ['app:1'], deleted: [i1!.id, app1.diffId] });
  t.deepEqual(layerDirsOnDisk(), [base, app2].map((l) => l.diffId.slice(7)).sort(), 'the shared base stays');
  const r2 = await store.remove(i2!.id.slice(7, 15));
  t.deepEqual(r2.untagged, ['app:2']);
  t.deepEqual([...r2.deleted].sort(), [i2!.id, base.diffId, app2.diffId].sort());
  t.is(r2.deleted[0], i2!.id);
  t.deepEqual(storeDirs(root), EMPTY_STORE);
});

test('tags, resolve by name, tag, id and prefix, and Docker remove semantics', async (t) => {
  const dir = await tmpdir(t);
  const l = await layerTar(dir, 'l', { f: 'x' });
  // 17 images with one layer and different configs: two of the ids share a first hex digit.
  const images: SaveImage[] = Array.from({ length: 17 }, (_, i) => ({
    layers: [l],
    tags: i === 0 ? ['multi:a'] : [],
    config: { config: { Labels: { n: String(i) } } },
  }));
  const save = await dockerSave(dir, 'many', images);
  const root = path.join(dir, 'store');
  const store = new ImageStore({ root });
  const imported = await store.importTar(save.file);
  t.is(imported.length, 17);
  t.is(storeDirs(root).layers.length, 2, 'the one layer is stored once');

  const img = imported[0]!;
  const hex = img.id.slice(7);
  t.is((await store.resolve('multi:a')).id, img.id);
  t.is((await store.resolve(img.id)).id, img.id);
  t.is((await store.resolve(hex)).id, img.id);
  t.is((await store.resolve(hex.slice(0, 12))).id, img.id);
  t.is((await store.resolve(`sha256:${hex.slice(0, 12)}`)).id, img.id);
  const counts = new Map<string, number>();
  for (const i of imported) counts.set(i.id[7]!, (counts.get(i.id[7]!) ?? 0) + 1);
  const sharedDigit = [...counts].find(([, n]) => n > 1)![0];
  const ambiguous = await t.throwsAsync(store.resolve(sharedDigit));
  t.true(isTsnetError(ambiguous, 'TSNET_IMAGE_AMBIGUOUS'), ambiguous?.message);

  const missing = await t.throwsAsync(store.resolve('foo'));
  t.true(isTsnetError(missing, 'TSNET_IMAGE_NOT_FOUND'));
  t.is(
    missing!.message,
    'No such image: foo:latest (pull it with: tsnet pull foo, or import one with: tsnet image import FILE --tag foo)',
  );
  t.true(isTsnetError(await t.throwsAsync(store.resolve(`sha256:${'0'.repeat(64)}`)), 'TSNET_IMAGE_NOT_FOUND'));
  t.true(isTsnetError(await t.throwsAsync(store.resolve('Bad Name')), 'TSNET_INVALID_ARGUMENT'));

  // tag adds; tagging another image with the same tag moves it
  await store.tag('multi:a', 'multi:b');
  await store.tag(img.id, 'other/repo');
  t.deepEqual((await store.resolve('other/repo')).repoTags, ['multi:a', 'multi:b', 'other/repo:latest']);
  const img2 = imported[1]!;
  await store.tag(img2.id.slice(7, 20), 'multi:b');
  t.is((await store.resolve('multi:b')).id, img2.id);
  t.deepEqual((await store.resolve(img.id)).repoTags, ['multi:a', 'other/repo:latest']);

  // by id, with tags in two repositories: refused without force
  const multiRepo = await t.throwsAsync(store.remove(img.id));
  t.true(isTsnetError(multiRepo, 'TSNET_IMAGE_IN_USE'), multiRepo?.message);
  t.regex(multiRepo!.message, /several repositories/);
  // by tag while other tags remain: untag only
  t.deepEqual(await store.remove('multi:a'), { untagged: ['multi:a'], deleted: [] });
  // the last tag of an image a container uses: refused, then with force untagged but kept
  const inUse = (id: string) => id === img.id;
  const used = await t.throwsAsync(store.remove('other/repo', { inUse }));
  t.true(isTsnetError(used, 'TSNET_IMAGE_IN_USE'), used?.message);
  t.false(used!.message.includes('\n'));
  t.deepEqual(await store.remove('other/repo', { inUse, force: true }), { untagged: ['other/repo:latest'], deleted: [] });
  t.deepEqual((await store.resolve(img.id)).repoTags, []);
  t.true(isTsnetError(await t.throwsAsync(store.remove(img.id, { inUse })), 'TSNET_IMAGE_IN_USE'));
  // no longer used: deleted; the layer stays for the other 16 images
  t.deepEqual(await store.remove(img.id), { untagged: [], deleted: [img.id] });
  t.true(isTsnetError(await t.throwsAsync(store.resolve(img.id)), 'TSNET_IMAGE_NOT_FOUND'));
  t.is(storeDirs(root).layers.length, 2);
  t.is((await store.list()).length, 16);
});

// ------------------------------------------------------------------ (5) hostile archives

test('path traversal and escapes through links are refused, leaving nothing behind', async (t) => {
  const dir = await tmpdir(t);
  const outside = path.join(dir, 'outside');
  fs.mkdirSync(outside);
  const cases: Record<string, Buffer> = {
    'dot-dot': rawTar([
      { path: 'ok', type: 'File', body: 'fine' },
      { path: '../../../escaped', type: 'File', body: 'evil' },
    ]),
    'absolute dot-dot': rawTar([{ path: '/../../escaped', type: 'File', body: 'evil' }]),
    'deep dot-dot': rawTar([{ path: 'a/b/../../../escaped', type: 'File', body: 'evil' }]),
    'write through a symlink': rawTar([
      { path: 'link', type: 'SymbolicLink', linkpath: outside },
      { path: 'link/escaped', type: 'File', body: 'evil' },
    ]),
    'directory through a symlink': rawTar([
      { path: 'link', type: 'SymbolicLink', linkpath: outside },
      { path: 'link/sub', type: 'Directory' },
    ]),
    'hard link out of the layer': rawTar([{ path: 'h', type: 'Link', linkpath: '../../../../etc/passwd' }]),
    'hard link through a symlink': rawTar([
      { path: 'etc', type: 'SymbolicLink', linkpath: '/etc' },
      { path: 'h', type: 'Link', linkpath: 'etc/passwd' },
    ]),
    'write through a hard link to a symlink': rawTar([
      { path: 'link', type: 'SymbolicLink', linkpath: outside },
      { path: 'hard', type: 'Link', linkpath: 'link' },
      { path: 'hard/escaped', type: 'File', body: 'evil' },
    ]),
    'whiteout through a symlink': rawTar([
      { path: 'link', type: 'SymbolicLink', linkpath: outside },
      { path: 'link/.wh.x', type: 'File', body: '' },
    ]),
  };
  const root = path.join(dir, 'store');
  const store = new ImageStore({ root });
  for (const [name, data] of Object.entries(cases)) {
    const file = path.join(dir, `${name.replace(/ /g, '-')}.tar`);
    fs.writeFileSync(file, data);
    const err = await t.throwsAsync(store.importTar(file, { repoTag: 'evil' }), undefined, name);
    t.true(isTsnetError(err, 'TSNET_IMAGE_INVALID'), `${name}: ${err?.message}`);
    t.false(err!.message.includes('\n'), name);
    t.deepEqual(storeDirs(root), EMPTY_STORE, name);
  }
  t.deepEqual(fs.readdirSync(outside), []);
  t.false(fs.existsSync(path.join(dir, 'escaped')));
  t.false(fs.existsSync(path.join(root, 'escaped')));
  t.true(isTsnetError(await t.throwsAsync(store.resolve('evil')), 'TSNET_IMAGE_NOT_FOUND'));

  // The same traversal inside a docker save layer: refused too.
  const evilLayer = path.join(dir, 'evil-layer.tar');
  fs.writeFileSync(evilLayer, cases['dot-dot']!);
  const save = await dockerSave(dir, 'evil-save', [
    { layers: [{ file: evilLayer, diffId: `sha256:${sha256(cases['dot-dot']!)}` }], tags: ['evil:1'] },
  ]);
  const err = await t.throwsAsync(store.importTar(save.file));
  t.true(isTsnetError(err, 'TSNET_IMAGE_INVALID'), err?.message);
  t.regex(err!.message, /path traversal/);
  t.deepEqual(storeDirs(root), EMPTY_STORE);
});

test('input that is not an image is refused with one clear line', async (t) => {
  const dir = await tmpdir(t);
  const root = path.join(dir, 'store');
  const store = new ImageStore({ root });
  const junk = path.join(dir, 'junk.tar');
  fs.writeFileSync(junk, 'this is not a tar archive at all\n'.repeat(100));
  const e1 = await t.throwsAsync(store.importTar(junk));
  t.true(isTsnetError(e1, 'TSNET_IMAGE_INVALID'), e1?.message);
  const e2 = await t.throwsAsync(store.importTar(path.join(dir, 'missing.tar')));
  t.true(isTsnetError(e2, 'TSNET_INVALID_ARGUMENT'));
  t.regex(e2!.message, /no such file/);
  const e3 = await t.throwsAsync(store.importTar(junk, { repoTag: 'UPPER' }));
  t.true(isTsnetError(e3, 'TSNET_INVALID_ARGUMENT'));
  // a docker save manifest pointing outside the archive
  const bundle = path.join(dir, 'b');
  writeTree(bundle, { 'manifest.json': JSON.stringify([{ Config: '../../../../etc/hostname', RepoTags: ['x:1'], Layers: [] }]) });
  const e4 = await t.throwsAsync(store.importTar(await packDir(bundle, path.join(dir, 'b.tar'))));
  t.true(isTsnetError(e4, 'TSNET_IMAGE_INVALID'), e4?.message);
  t.deepEqual(storeDirs(root), EMPTY_STORE);
});

test('the store reads its records once; each resolve hands out a copy of its own', async (t) => {
  const dir = await tmpdir(t);
  const l = await layerTar(dir, 'l', { f: 'x' });
  const save = await dockerSave(dir, 'one', [{ layers: [l], tags: ['one:v1'], config: { config: { Env: ['A=1'] } } }]);
  const root = path.join(dir, 'store');
  const store = new ImageStore({ root });
  const [img] = await store.importTar(save.file);
  // a caller that changes what it got (a container record built from the image) changes its copy only
  const got = await store.resolve('one:v1');
  got.repoTags.push('other:tag');
  (got.config as { Env: string[] }).Env.push('B=2');
  const again = await store.resolve('one:v1');
  t.deepEqual(again.repoTags, ['one:v1']);
  t.deepEqual((again.config as { Env?: string[] }).Env, ['A=1']);
  // kept in memory: a record file removed behind the store's back is still served by this store…
  fs.rmSync(path.join(root, 'images', `${img!.id.slice(7)}.json`));
  t.is((await store.resolve('one:v1')).id, img!.id);
  // …and a new store on the root reads the disk
  await t.throwsAsync(new ImageStore({ root }).resolve('one:v1'), { message: /No such image/ });
});
