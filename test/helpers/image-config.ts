/**
 * Import busybox under a new tag with an image config of the test's choosing (HEALTHCHECK,
 * VOLUME, …) and optionally a second layer of files: a `docker save` archive built here.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BUSYBOX_TAR, type World } from './world.js';

function sha256File(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function tar(dir: string, file: string): void {
  const r = spawnSync('tar', ['--create', `--file=${file}`, `--directory=${dir}`, '--sort=name', '--numeric-owner', '.']);
  if (r.status !== 0) throw new Error(`tar: ${r.stderr.toString()}`);
}

/**
 * A `docker save` archive of busybox under `tag` with this image config, written in a new
 * directory under `dir`; `files`: path → content for a second layer (directories made as needed).
 * Returns the archive's path.
 */
export function dockerSaveArchive(
  dir: string,
  tag: string,
  config: Record<string, unknown>,
  files: Record<string, string> = {},
): string {
  const work = fs.mkdtempSync(path.join(dir, 'img-'));
  const bundle = path.join(work, 'bundle');
  fs.mkdirSync(bundle);
  const layers: string[] = [BUSYBOX_TAR];
  if (Object.keys(files).length) {
    const src = path.join(work, 'src');
    for (const [p, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(src, p)), { recursive: true });
      fs.writeFileSync(path.join(src, p), content);
    }
    tar(src, path.join(work, 'extra.tar'));
    layers.push(path.join(work, 'extra.tar'));
  }
  const names: string[] = [];
  const diffIds: string[] = [];
  for (const l of layers) {
    const hex = sha256File(l);
    fs.mkdirSync(path.join(bundle, hex));
    fs.copyFileSync(l, path.join(bundle, hex, 'layer.tar'));
    names.push(`${hex}/layer.tar`);
    diffIds.push(`sha256:${hex}`);
  }
  const cfg = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: '2024-01-02T03:04:05Z',
      config: { Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'], ...config },
      rootfs: { type: 'layers', diff_ids: diffIds },
    }),
  );
  const id = crypto.createHash('sha256').update(cfg).digest('hex');
  fs.writeFileSync(path.join(bundle, `${id}.json`), cfg);
  fs.writeFileSync(
    path.join(bundle, 'manifest.json'),
    JSON.stringify([{ Config: `${id}.json`, RepoTags: [tag], Layers: names }]),
  );
  const archive = path.join(work, 'image.tar');
  tar(bundle, archive);
  fs.rmSync(bundle, { recursive: true, force: true });
  return archive;
}

/** Import busybox under a new tag with this image config (see dockerSaveArchive). */
export async function importBusyboxWith(
  w: World,
  tag: string,
  config: Record<string, unknown>,
  files: Record<string, string> = {},
): Promise<void> {
  const archive = dockerSaveArchive(w.dir, tag, config, files);
  await w.ok(['image', 'import', archive]);
  fs.rmSync(path.dirname(archive), { recursive: true, force: true });
}
