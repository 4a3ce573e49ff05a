import test from 'ava';
import { isTsnetError } from '../../../src/errors/index.js';
import { decodeRegistryAuth, parseChallenges } from '../../../src/runtime/image/pull/auth.js';
import { InsecureRegistries } from '../../../src/runtime/image/pull/insecure.js';
import {
  choosePlatform,
  layerCompression,
  parseManifest,
  type Descriptor,
  type ManifestIndex,
} from '../../../src/runtime/image/pull/manifest.js';
import { humanSize, progressBar } from '../../../src/runtime/image/pull/progress.js';
import { parseRemoteReference, registryHost } from '../../../src/runtime/image/pull/remote-reference.js';

const D = (n: string) => `sha256:${n.repeat(64)}`;

test('references: Docker Hub names, registries with ports, tags and digests', (t) => {
  t.deepEqual(parseRemoteReference('busybox'), {
    registry: 'docker.io',
    repository: 'library/busybox',
    name: 'busybox',
    tag: 'latest',
  });
  t.deepEqual(parseRemoteReference('docker.io/library/busybox:1.36'), {
    registry: 'docker.io',
    repository: 'library/busybox',
    name: 'busybox',
    tag: '1.36',
  });
  t.deepEqual(parseRemoteReference('team/app'), {
    registry: 'docker.io',
    repository: 'team/app',
    name: 'team/app',
    tag: 'latest',
  });
  t.deepEqual(parseRemoteReference(`localhost:5000/a/b@${D('a')}`), {
    registry: 'localhost:5000',
    repository: 'a/b',
    name: 'localhost:5000/a/b',
    digest: D('a'),
  });
  t.is(parseRemoteReference(`127.0.0.1:5000/x:2@${D('b')}`).tag, '2');
  t.is(registryHost('docker.io'), 'registry-1.docker.io');
  t.is(registryHost('https://index.docker.io/v1/'), 'registry-1.docker.io');
  t.is(registryHost('localhost:5000'), 'localhost:5000');
  for (const bad of ['', 'Busybox', 'x@sha256:12', `x@md5:${'a'.repeat(32)}`]) {
    t.true(
      isTsnetError(
        t.throws(() => parseRemoteReference(bad)),
        'TSNET_INVALID_ARGUMENT',
      ),
      bad,
    );
  }
});

test('X-Registry-Auth: base64url JSON, empty means anonymous, garbage is refused', (t) => {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  t.deepEqual(decodeRegistryAuth(undefined), {});
  t.deepEqual(decodeRegistryAuth(enc({})), {});
  t.deepEqual(decodeRegistryAuth(enc({ username: 'u', password: 'p?>~', serveraddress: 'r:5000' })), {
    username: 'u',
    password: 'p?>~',
    serverAddress: 'r:5000',
  });
  t.deepEqual(decodeRegistryAuth(enc({ identitytoken: 'tok' })), { identityToken: 'tok' });
  t.deepEqual(decodeRegistryAuth(enc({ auth: Buffer.from('a:b:c').toString('base64') })), { username: 'a', password: 'b:c' });
  t.true(
    isTsnetError(
      t.throws(() => decodeRegistryAuth('!!!')),
      'TSNET_INVALID_ARGUMENT',
    ),
  );
  t.true(
    isTsnetError(
      t.throws(() => decodeRegistryAuth(enc([1]))),
      'TSNET_INVALID_ARGUMENT',
    ),
  );
});

test('WWW-Authenticate challenges', (t) => {
  t.deepEqual(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io' } },
  ]);
  t.deepEqual(parseChallenges('Basic realm="a \\"b\\"", Bearer realm=x,scope="repository:a:pull,push"'), [
    { scheme: 'basic', params: { realm: 'a "b"' } },
    { scheme: 'bearer', params: { realm: 'x', scope: 'repository:a:pull,push' } },
  ]);
  t.deepEqual(parseChallenges(undefined), []);
});

const entry = (architecture: string, variant?: string, os = 'linux'): Descriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: D(String(architecture.length % 10)),
  size: 1,
  platform: { os, architecture, ...(variant ? { variant } : {}) },
});
const index = (...manifests: Descriptor[]): ManifestIndex => ({ kind: 'index', mediaType: 'x', manifests });

test('a manifest list entry for this platform: variants normalized, attestations skipped', (t) => {
  const amd = entry('amd64');
  t.is(choosePlatform(index(entry('arm64', 'v8'), amd), { os: 'linux', architecture: 'amd64' }), amd);
  const arm64 = entry('arm64', 'v8');
  t.is(choosePlatform(index(amd, arm64), { os: 'linux', architecture: 'arm64' }), arm64);
  const v7 = entry('arm', 'v7');
  t.is(choosePlatform(index(entry('arm', 'v6'), v7), { os: 'linux', architecture: 'arm', variant: 'v7' }), v7);
  const v2 = entry('amd64', 'v2');
  t.is(choosePlatform(index(entry('amd64', 'v3'), v2), { os: 'linux', architecture: 'amd64' }), v2);
  const err = t.throws(() =>
    choosePlatform(index(entry('arm64'), entry('unknown', undefined, 'unknown')), { os: 'linux', architecture: 'amd64' }),
  );
  t.is(err?.message, 'no matching manifest for linux/amd64 in the manifest list entries (it has: linux/arm64)');
});

test('manifests: OCI and Docker types, schema 1 and foreign layers refused, zstd recognized', (t) => {
  const m = {
    schemaVersion: 2,
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: D('c'), size: 10 },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: D('d'), size: 5 }],
  };
  const parsed = parseManifest(Buffer.from(JSON.stringify(m)), 'application/vnd.docker.distribution.manifest.v2+json');
  t.is(parsed.kind, 'manifest');
  const list = parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [entry('amd64')] })), 'application/json');
  t.is(list.kind, 'index');
  t.regex(t.throws(() => parseManifest(Buffer.from('{"schemaVersion":1}'), undefined))!.message, /schema 1/);
  t.is(layerCompression({ mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: D('e'), size: 1 }), 'zstd');
  t.is(layerCompression({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: D('e'), size: 1 }), 'none');
  t.regex(
    t.throws(() =>
      layerCompression({ mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: D('e'), size: 1 }),
    )!.message,
    /foreign/,
  );
  t.regex(
    t.throws(() => parseManifest(Buffer.from(JSON.stringify({ ...m, config: { digest: 'md5:x', size: 1 } })), undefined))!
      .message,
    /only sha256/,
  );
});

test('insecure registries: loopback always, names exactly, CIDRs; bad entries refused', async (t) => {
  const r = new InsecureRegistries(['reg.example:5000', '10.1.0.0/16']);
  t.true(await r.isInsecure('127.0.0.1:5000'));
  t.true(await r.isInsecure('127.3.4.5'));
  t.true(await r.isInsecure('localhost:5000'));
  t.true(await r.isInsecure('[::1]:5000'));
  t.true(await r.isInsecure('reg.example:5000'));
  t.false(await r.isInsecure('reg.example'));
  t.true(await r.isInsecure('10.1.2.3:443'));
  t.false(await r.isInsecure('10.2.0.1:5000'));
  t.false(await r.isInsecure('192.0.2.1:5000'));
  t.true(
    isTsnetError(
      t.throws(() => new InsecureRegistries(['10.0.0.0/40'])),
      'TSNET_INVALID_ARGUMENT',
    ),
  );
  t.true(
    isTsnetError(
      t.throws(() => new InsecureRegistries(['a b'])),
      'TSNET_INVALID_ARGUMENT',
    ),
  );
});

test('progress bars as Docker draws them', (t) => {
  t.is(humanSize(999), '999B');
  t.is(humanSize(1_056_498), '1.056MB');
  t.is(progressBar(0, 100), `[>${' '.repeat(49)}]  0B/100B`);
  t.is(progressBar(50, 100), `[${'='.repeat(25)}>${' '.repeat(24)}]  50B/100B`);
  t.is(progressBar(100, 100), `[${'='.repeat(50)}]  100B/100B`);
});
