import test from 'ava';
import { isTsnetError } from '../../../src/errors/index.js';
import { hostArchitecture, parseImageConfig, pickConfig } from '../../../src/runtime/image/config.js';
import { tagsFromAnnotations } from '../../../src/runtime/image/import-oci.js';
import { DEFAULT_PATH, rootfsConfig } from '../../../src/runtime/image/import-rootfs.js';

const diffId = `sha256:${'ab'.repeat(32)}`;

test('a config document yields the fields tsnet keeps', (t) => {
  const doc = {
    architecture: 'amd64',
    os: 'linux',
    created: '2024-05-06T07:08:09.123456789Z',
    config: {
      Env: ['A=1'],
      Cmd: ['sh'],
      Entrypoint: null,
      WorkingDir: '/w',
      User: '1000',
      ExposedPorts: { '80/tcp': {} },
      Labels: { a: 'b', n: 1 },
      Volumes: { '/v': {}, relative: {} },
      Healthcheck: { Test: ['CMD', 'true'], Interval: 1e9, Retries: -1 },
      StopSignal: 'SIGQUIT',
    },
    rootfs: { type: 'layers', diff_ids: [diffId] },
  };
  const parsed = parseImageConfig(Buffer.from(JSON.stringify(doc)), 'config');
  t.deepEqual(parsed, {
    architecture: 'amd64',
    os: 'linux',
    created: '2024-05-06T07:08:09.123456789Z',
    config: {
      Env: ['A=1'],
      Cmd: ['sh'],
      WorkingDir: '/w',
      User: '1000',
      ExposedPorts: { '80/tcp': {} },
      Labels: { a: 'b' },
      // kept for healthchecks, anonymous volumes and stop (issue 12); bad values dropped
      Healthcheck: { Test: ['CMD', 'true'], Interval: 1e9 },
      Volumes: { '/v': {} },
      StopSignal: 'SIGQUIT',
    },
    diffIds: [diffId],
  });
  t.deepEqual(pickConfig({ Cmd: 'sh -c x', Env: [1] }), {});
});

test('configs without valid layers are refused', (t) => {
  for (const doc of [
    'nope',
    '[]',
    '{}',
    JSON.stringify({ rootfs: { type: 'layers', diff_ids: ['sha256:short'] } }),
    JSON.stringify({ rootfs: { type: 'x', diff_ids: [] } }),
  ]) {
    t.true(
      isTsnetError(
        t.throws(() => parseImageConfig(Buffer.from(doc), 'config')),
        'TSNET_IMAGE_INVALID',
      ),
      doc,
    );
  }
  // path-like diff ids never reach the file system
  const evil = JSON.stringify({ rootfs: { type: 'layers', diff_ids: ['sha256:../../etc'] } });
  t.true(
    isTsnetError(
      t.throws(() => parseImageConfig(Buffer.from(evil), 'config')),
      'TSNET_IMAGE_INVALID',
    ),
  );
});

test('a rootfs import gets a deterministic Docker-like config', (t) => {
  const a = rootfsConfig(diffId, { architecture: 'amd64' });
  t.deepEqual(JSON.parse(a.bytes.toString()), {
    architecture: 'amd64',
    config: { Env: [DEFAULT_PATH] },
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [diffId] },
  });
  t.is(rootfsConfig(diffId, { architecture: 'amd64' }).id, a.id);
  const withCmd = rootfsConfig(diffId, { architecture: 'amd64', cmd: ['sh'] });
  t.deepEqual(withCmd.config.Cmd, ['sh']);
  t.not(withCmd.id, a.id);
  t.regex(a.id, /^sha256:[0-9a-f]{64}$/);
});

test('tags from OCI annotations', (t) => {
  t.deepEqual(
    tagsFromAnnotations({
      'io.containerd.image.name': 'docker.io/library/busybox:1.36',
      'org.opencontainers.image.ref.name': '1.36',
    }),
    ['busybox:1.36'],
  );
  t.deepEqual(tagsFromAnnotations({ 'org.opencontainers.image.ref.name': 'busybox:1.36' }), ['busybox:1.36']);
  t.deepEqual(tagsFromAnnotations({ 'org.opencontainers.image.ref.name': 'localhost/app' }), ['localhost/app:latest']);
  t.deepEqual(tagsFromAnnotations({ 'org.opencontainers.image.ref.name': 'latest' }), [], 'a bare ref name names no repository');
  t.deepEqual(tagsFromAnnotations({ 'io.containerd.image.name': 'Not Valid' }), []);
  t.deepEqual(tagsFromAnnotations(undefined), []);
});

test('host architecture in OCI spelling', (t) => {
  t.is(hostArchitecture('x64'), 'amd64');
  t.is(hostArchitecture('arm64'), 'arm64');
  t.is(hostArchitecture('ia32'), '386');
});
