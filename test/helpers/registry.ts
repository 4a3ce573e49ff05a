/**
 * A real OCI distribution registry (Debian's docker-registry) for pull tests, started inside
 * a test world's host netns on 127.0.0.1, plus what fills it: OCI image layouts built here
 * from tarballs, copied in with skopeo. Nothing here reaches outside the machine.
 */
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { REPO, run, sleep, type World } from './world.js';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

/** Fail with one line naming the package when a tool is missing. */
export function requireTools(): void {
  for (const [bin, pkg] of [
    [REGISTRY_BIN, 'docker-registry'],
    ['/usr/bin/skopeo', 'skopeo'],
    ['/usr/bin/openssl', 'openssl'],
    ['/usr/bin/script', 'bsdutils'],
  ] as const) {
    if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: install it with apt-get install ${pkg} (or npm run setup)`);
  }
}

export const sha256 = (b: Buffer) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

export interface LayoutImage {
  architecture: string;
  variant?: string;
  /** Uncompressed layer tars, bottom first. */
  layers: Buffer[];
  cmd?: string[];
}

export interface BuiltImage {
  manifest: string;
  config: string;
  /** Blob digests of the (gzipped) layers. */
  layerBlobs: string[];
  diffIds: string[];
}

/** Write an OCI image layout: one image (`index: false`) or an image index of several, under `ref`. */
export function makeLayout(
  dir: string,
  ref: string,
  images: LayoutImage[],
  index: boolean,
): { top: string; images: BuiltImage[] } {
  const blobs = path.join(dir, 'blobs', 'sha256');
  fs.mkdirSync(blobs, { recursive: true });
  const put = (b: Buffer) => {
    const d = sha256(b);
    fs.writeFileSync(path.join(blobs, d.slice(7)), b);
    return d;
  };
  const built: Array<BuiltImage & { size: number; platform: Record<string, string> }> = images.map((img) => {
    const gz = img.layers.map((t) => zlib.gzipSync(t));
    const layerBlobs = gz.map(put);
    const diffIds = img.layers.map(sha256);
    const config = Buffer.from(
      JSON.stringify({
        architecture: img.architecture,
        ...(img.variant ? { variant: img.variant } : {}),
        os: 'linux',
        created: '2026-01-01T00:00:00Z',
        config: { Cmd: img.cmd ?? ['sh'], Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'] },
        rootfs: { type: 'layers', diff_ids: diffIds },
      }),
    );
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: put(config), size: config.length },
        layers: gz.map((g, i) => ({
          mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
          digest: layerBlobs[i],
          size: g.length,
        })),
      }),
    );
    const platform: Record<string, string> = { os: 'linux', architecture: img.architecture };
    if (img.variant) platform.variant = img.variant;
    return { manifest: put(manifest), config: sha256(config), layerBlobs, diffIds, size: manifest.length, platform };
  });
  let top: { mediaType: string; digest: string; size: number };
  if (index) {
    const idx = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: built.map((b) => ({
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: b.manifest,
          size: b.size,
          platform: b.platform,
        })),
      }),
    );
    top = { mediaType: 'application/vnd.oci.image.index.v1+json', digest: put(idx), size: idx.length };
  } else {
    top = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: built[0]!.manifest, size: built[0]!.size };
  }
  const indexFile = path.join(dir, 'index.json');
  const existing = fs.existsSync(indexFile)
    ? (JSON.parse(fs.readFileSync(indexFile, 'utf8')) as { manifests: unknown[] }).manifests
    : [];
  fs.writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  fs.writeFileSync(
    indexFile,
    JSON.stringify({
      schemaVersion: 2,
      manifests: [...existing, { ...top, annotations: { 'org.opencontainers.image.ref.name': ref } }],
    }),
  );
  return {
    top: top.digest,
    images: built.map(({ manifest, config, layerBlobs, diffIds }) => ({ manifest, config, layerBlobs, diffIds })),
  };
}

/** A tar holding one file (a layer of its own). */
export function tarWithFile(scratch: string, name: string, content: string): Buffer {
  const d = fs.mkdtempSync(path.join(scratch, 'tar-'));
  fs.writeFileSync(path.join(d, name), content);
  const r = spawnSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '--mtime=@0', '-cf', '-', '-C', d, name]);
  if (r.status !== 0) throw new Error(`tar: ${r.stderr.toString()}`);
  fs.rmSync(d, { recursive: true, force: true });
  return r.stdout;
}

export interface RegistryOptions {
  port: number;
  /** Shared storage dir (several registries may serve the same content). */
  storage: string;
  address?: string;
  htpasswd?: string;
  token?: { realm: string; service: string; issuer: string; rootCert: string };
}

/** Start docker-registry in the world's host netns; resolves when GET /v2/ answers. */
export async function startRegistry(w: World, o: RegistryOptions): Promise<void> {
  const addr = `${o.address ?? '127.0.0.1'}:${o.port}`;
  const lines = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${o.storage}`,
    'http:',
    `  addr: ${addr}`,
    '  secret: tsnet-test-secret',
  ];
  if (o.htpasswd) lines.push('auth:', '  htpasswd:', '    realm: tsnet-test', `    path: ${o.htpasswd}`);
  if (o.token) {
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${o.token.realm}`,
      `    service: ${o.token.service}`,
      `    issuer: ${o.token.issuer}`,
      `    rootcertbundle: ${o.token.rootCert}`,
    );
  }
  const config = path.join(w.dir, `registry-${o.port}.yml`);
  fs.writeFileSync(config, `${lines.join('\n')}\n`);
  const log = fs.openSync(path.join(w.dir, `registry-${o.port}.log`), 'a');
  spawn('nsenter', [`--net=${w.hostNetns}`, REGISTRY_BIN, 'serve', config], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  await waitHttp(w, `http://${addr}/v2/`);
}

/** Poll until an HTTP server inside the world's netns answers (any status). */
export async function waitHttp(w: World, url: string): Promise<void> {
  const probe = `require('http').get(${JSON.stringify(url)},r=>process.exit(0)).on('error',()=>process.exit(1))`;
  for (let i = 0; i < 200; i++) {
    const r = await run('nsenter', [`--net=${w.hostNetns}`, 'node', '-e', probe]);
    if (r.exitCode === 0) return;
    await sleep(50);
  }
  throw new Error(`${url} did not answer in the test netns`);
}

/** `skopeo copy` inside the world's netns (to a plain-http registry). */
export async function skopeoCopy(w: World, src: string, dest: string, extra: string[] = []): Promise<void> {
  const r = await run('nsenter', [
    `--net=${w.hostNetns}`,
    'skopeo',
    '--insecure-policy',
    'copy',
    '--dest-tls-verify=false',
    ...extra,
    src,
    dest,
  ]);
  if (r.exitCode !== 0) throw new Error(`skopeo copy ${src} ${dest} failed: ${r.stderr}`);
}

/** A key and self-signed certificate for the token server; returns their paths. */
export function makeTokenCert(dir: string): { key: string; cert: string } {
  const key = path.join(dir, 'token.key');
  const cert = path.join(dir, 'token.crt');
  const r = spawnSync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    '/CN=tsnet-test-token',
  ]);
  if (r.status !== 0) throw new Error(`openssl: ${r.stderr.toString()}`);
  return { key, cert };
}

/** Start the test token server (test/helpers/token-server.ts) in the world's netns. */
export async function startTokenServer(
  w: World,
  o: { port: number; key: string; cert: string; userPass: string; log: string },
): Promise<void> {
  const out = fs.openSync(path.join(w.dir, 'token-server.out'), 'a');
  spawn(
    'nsenter',
    [
      `--net=${w.hostNetns}`,
      'node',
      '--import',
      'tsx',
      path.join(REPO, 'test', 'helpers', 'token-server.ts'),
      String(o.port),
      o.key,
      o.cert,
      o.userPass,
      o.log,
    ],
    { stdio: ['ignore', out, out], cwd: REPO },
  );
  fs.closeSync(out);
  await waitHttp(w, `http://127.0.0.1:${o.port}/token`);
}
