/**
 * rewriteInPlace: the /etc files of a container are rewritten in place (the same inode: they are
 * bind-mounted into it), over the old bytes and then cut to the new length (decision 47).
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rewriteInPlace } from '../../../src/store/atomic-file.js';

test('rewriteInPlace keeps the inode and leaves exactly the new text, shorter or longer than the old', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-rewrite-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'hosts');
  rewriteInPlace(file, '127.0.0.1\tlocalhost\n172.18.0.2\tlong-name-of-a-container\n');
  const ino = fs.statSync(file).ino;
  rewriteInPlace(file, '127.0.0.1\tlocalhost\n');
  t.is(fs.readFileSync(file, 'utf8'), '127.0.0.1\tlocalhost\n', 'no tail of the longer text');
  rewriteInPlace(file, '127.0.0.1\tlocalhost\n172.18.0.3\tné\n');
  t.is(fs.readFileSync(file, 'utf8'), '127.0.0.1\tlocalhost\n172.18.0.3\tné\n');
  t.is(fs.statSync(file).ino, ino, 'the same file (bind mounts see it)');
});
