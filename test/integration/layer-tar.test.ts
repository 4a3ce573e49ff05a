/**
 * `commit`'s layer tar of a real overlayfs upper dir (runtime/container/commit.ts): a file
 * deleted through the mount is an overlayfs whiteout there and a `.wh.` entry in the tar; a
 * directory removed and made anew is opaque there and followed by `.wh..wh..opq`; tsnet-init's
 * mount points are left out; a file capability goes with its file (a namespaced one as revision
 * 2, as Docker writes it) and overlayfs' own xattrs (trusted.overlay.opaque) never do.
 */
import test from 'ava';
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadXattr } from '../../src/kernel/xattr.js';
import { upperDirForm, upperLayer } from '../../src/runtime/container/commit.js';
import { TarDigest, tarEntries } from '../../src/runtime/image/tar-read.js';
import { requireNeeds } from '../helpers/preconditions.js';

test.before(() => requireNeeds({ root: true, commands: [['setcap', 'libcap2-bin']] }));

test('an overlayfs upper dir becomes a layer tar in Docker form', async (t) => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-layer-tar-'));
  const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((d) => path.join(base, d)) as [
    string,
    string,
    string,
    string,
  ];
  for (const d of [upper, work, merged]) fs.mkdirSync(d);
  fs.mkdirSync(path.join(lower, 'keep'), { recursive: true });
  fs.writeFileSync(path.join(lower, 'keep', 'gone'), 'x');
  fs.writeFileSync(path.join(lower, 'keep', 'stays'), 'x');
  fs.mkdirSync(path.join(lower, 'redo'));
  fs.writeFileSync(path.join(lower, 'redo', 'old'), 'x');
  fs.mkdirSync(path.join(lower, 'etc'));
  await execa('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged]);
  try {
    fs.rmSync(path.join(merged, 'keep', 'gone'));
    fs.rmSync(path.join(merged, 'redo'), { recursive: true });
    fs.mkdirSync(path.join(merged, 'redo'));
    fs.writeFileSync(path.join(merged, 'redo', 'new'), 'new');
    fs.writeFileSync(path.join(merged, 'added'), 'added');
    // what tsnet-init makes: an empty mount point file and a mount point dir
    fs.writeFileSync(path.join(merged, 'etc', 'hosts'), '');
    fs.mkdirSync(path.join(merged, 'proc'));
  } finally {
    await execa('umount', [merged]);
  }
  // a capability set in a user namespace whose root is uid 1000 (revision 3, with that uid)
  await execa('setcap', ['-n', '1000', 'cap_net_raw+ep', path.join(upper, 'added')]);
  try {
    const names: string[] = [];
    const bodies = new Map<string, string>();
    const xattrs = new Map<string, string>();
    const xattr = loadXattr();
    for await (const e of tarEntries(upperLayer(upper, xattr, upperDirForm(xattr)), new TarDigest(), 'layer')) {
      names.push(`${e.type}:${e.path}`);
      for (const [k, v] of e.xattrs) xattrs.set(`${e.path} ${k}`, v.toString('hex'));
      const chunks: Buffer[] = [];
      for await (const c of e.body()) chunks.push(c);
      bodies.set(e.path, Buffer.concat(chunks).toString());
    }
    t.deepEqual(names, ['0:added', '5:etc/', '5:keep/', '0:keep/.wh.gone', '5:redo/', '0:redo/.wh..wh..opq', '0:redo/new']);
    t.is(bodies.get('redo/new'), 'new');
    t.is(bodies.get('keep/.wh.gone'), '');
    // cap_net_raw=ep as revision 2, without the root uid; not redo/'s trusted.overlay.opaque
    t.deepEqual(Object.fromEntries(xattrs), { 'added security.capability': '0100000200200000000000000000000000000000' });
    // a value read stays as it was when the same reader reads another file's
    await execa('setcap', ['cap_net_bind_service+ep', path.join(upper, 'redo', 'new')]);
    const [fa, fb] = [path.join(upper, 'added'), path.join(upper, 'redo', 'new')].map((f) => fs.openSync(f, 'r')) as [
      number,
      number,
    ];
    try {
      const first = xattr.get(fa, 'security.capability');
      const second = xattr.get(fb, 'security.capability');
      t.is(first?.toString('hex'), '0100000300200000000000000000000000000000e8030000');
      t.is(second?.toString('hex'), '0100000200040000000000000000000000000000');
    } finally {
      fs.closeSync(fa);
      fs.closeSync(fb);
    }
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});

test('a tree nested deeper than 1024 directories is refused, not walked', async (t) => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-layer-deep-'));
  try {
    await execa('sh', ['-c', 'cd "$1" && for i in $(seq 1030); do mkdir d && cd d || exit 1; done', 'sh', base]);
    const read = async () => {
      for await (const _ of upperLayer(base, loadXattr(), upperDirForm(loadXattr()))) {
        // drain
      }
    };
    await t.throwsAsync(read(), { message: /directories nest deeper than 1024 levels/ });
  } finally {
    await execa('rm', ['-rf', base]);
  }
});
