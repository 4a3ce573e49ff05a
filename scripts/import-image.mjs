#!/usr/bin/env node
// Import an image tarball straight into a tsnetd root (for `npm run setup`, with no daemon running).
// Usage: node scripts/import-image.mjs --root /var/lib/tsnet FILE NAME[:TAG]
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const rootAt = args.indexOf('--root');
const root = rootAt >= 0 ? args.splice(rootAt, 2)[1] : '/var/lib/tsnet';
const [file, tag] = args;
if (!file || !tag) {
  console.error('usage: import-image.mjs [--root DIR] FILE NAME[:TAG]');
  process.exit(2);
}
const { ImageStore } = await import(path.join(here, '../dist/runtime/image/image-store.js'));
const store = new ImageStore({ root: path.join(root, 'image') });
const [img] = await store.importTar(file, { repoTag: tag });
console.log(`imported ${img.repoTags.join(', ')} as ${img.id} into ${root}`);
