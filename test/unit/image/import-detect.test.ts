import test from 'ava';
import { detectFormat, FormatDetector, sniffCompression } from '../../../src/runtime/image/import-detect.js';

test('manifest.json at the top is a docker save archive', (t) => {
  t.is(detectFormat(['abc/', 'abc/layer.tar', 'abc/json', 'def.json', 'manifest.json', 'repositories']), 'docker-save');
  t.is(detectFormat(['./manifest.json', './blobs/sha256/aa']), 'docker-save');
  // Docker 25+ writes both an OCI layout and manifest.json: manifest.json (with RepoTags) wins.
  t.is(detectFormat(['blobs/', 'blobs/sha256/aa', 'index.json', 'manifest.json', 'oci-layout']), 'docker-save');
});

test('oci-layout and index.json at the top is an OCI layout', (t) => {
  t.is(detectFormat(['blobs/', 'blobs/sha256/aa', 'index.json', 'oci-layout']), 'oci-layout');
  t.is(detectFormat(['./oci-layout', './index.json']), 'oci-layout');
  t.is(detectFormat(['oci-layout', 'blobs/sha256/aa']), 'rootfs', 'index.json is needed too');
});

test('anything else is a root filesystem', (t) => {
  t.is(detectFormat(['./', './bin/', './bin/busybox', './etc/passwd']), 'rootfs');
  t.is(detectFormat(['etc/manifest.json', 'usr/share/index.json', 'x/oci-layout']), 'rootfs', 'only top-level names count');
  t.is(detectFormat(['manifest.json/', 'manifest.json/x']), 'rootfs', 'a directory is not the manifest');
  t.is(detectFormat([]), 'rootfs');
});

test('the streaming detector only counts regular files', (t) => {
  const d = new FormatDetector();
  d.add('manifest.json', false);
  t.is(d.result(), 'rootfs');
  d.add('manifest.json', true);
  t.is(d.result(), 'docker-save');
});

test('compression is sniffed from the magic bytes', (t) => {
  t.is(sniffCompression(Buffer.from([0x1f, 0x8b, 8, 0])), 'gzip');
  t.is(sniffCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0])), 'zstd');
  t.is(sniffCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])), 'xz');
  t.is(sniffCompression(Buffer.from('BZh91AY&SY', 'latin1')), 'bzip2');
  t.is(
    sniffCompression(Buffer.from('BZh-file-name\0\0\0', 'latin1')),
    'none',
    'a tar whose first member is named BZh… is not bzip2',
  );
  t.is(sniffCompression(Buffer.from('./bin/\0\0\0\0\0\0', 'latin1')), 'none');
  t.is(sniffCompression(Buffer.alloc(0)), 'none');
});
