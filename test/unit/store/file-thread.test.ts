/**
 * The file thread (src/store/file-thread.ts, decision 44): a container create's dirs and its
 * record's temp file are written there while the network is made. Batches run in order, each op
 * in order; a batch stops at its first failure, which rejects with the error's code.
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createFileThread } from '../../../src/store/file-thread.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-files-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a batch makes dirs and files with their modes, in order; a later batch sees what an earlier one made', async (t) => {
  const dir = tempDir(t);
  const files = createFileThread();
  t.teardown(() => files.close());
  const c = path.join(dir, 'containers', 'abc');
  const old = process.umask(0o022);
  t.teardown(() => void process.umask(old));
  // not awaited before the next batch: the queue orders them
  const first = files.run([
    { op: 'mkdir', path: c, mode: 0o700, recursive: true },
    { op: 'mkdir', path: path.join(c, 'fs'), mode: 0o755 },
    { op: 'write', path: path.join(c, 'container.log'), data: '', mode: 0o640 },
  ]);
  const second = files.run([{ op: 'write', path: path.join(c, 'fs', 'rec.tmp'), data: '{"a":1}', mode: 0o600, fsync: true }]);
  await Promise.all([first, second]);
  const mode = (p: string) => fs.statSync(p).mode & 0o777;
  t.is(mode(c), 0o700);
  t.is(mode(path.join(c, 'fs')), 0o755);
  t.is(mode(path.join(c, 'container.log')), 0o640);
  t.is(fs.readFileSync(path.join(c, 'container.log'), 'utf8'), '');
  t.is(mode(path.join(c, 'fs', 'rec.tmp')), 0o600);
  t.is(fs.readFileSync(path.join(c, 'fs', 'rec.tmp'), 'utf8'), '{"a":1}');
});

test('a batch stops at its first failure, which rejects with the code; the thread goes on with the next batch', async (t) => {
  const dir = tempDir(t);
  const files = createFileThread();
  t.teardown(() => files.close());
  const err = await t.throwsAsync(
    files.run([
      { op: 'mkdir', path: path.join(dir, 'a'), mode: 0o755 },
      { op: 'mkdir', path: path.join(dir, 'a'), mode: 0o755 },
      { op: 'mkdir', path: path.join(dir, 'b'), mode: 0o755 },
    ]),
  );
  t.is((err as NodeJS.ErrnoException).code, 'EEXIST');
  t.true(fs.existsSync(path.join(dir, 'a')));
  t.false(fs.existsSync(path.join(dir, 'b')), 'the ops after the failure did not run');
  await files.run([{ op: 'mkdir', path: path.join(dir, 'c'), mode: 0o755 }]);
  t.true(fs.existsSync(path.join(dir, 'c')));
  // a stopped thread fails what it was given; the next batch starts a new one
  const stopped = files.close();
  await stopped;
  await files.run([{ op: 'mkdir', path: path.join(dir, 'd'), mode: 0o755 }]);
  t.true(fs.existsSync(path.join(dir, 'd')));
});

test('batches given together travel together, yet a failure stops only its own batch; drained() waits for all of them', async (t) => {
  const dir = tempDir(t);
  const files = createFileThread();
  t.teardown(() => files.close());
  // given in one synchronous stretch: one message to the thread
  const a = files.run([{ op: 'mkdir', path: path.join(dir, 'a'), mode: 0o755 }]);
  const bad = files.run([
    { op: 'mkdir', path: path.join(dir, 'missing', 'x'), mode: 0o755 },
    { op: 'mkdir', path: path.join(dir, 'never'), mode: 0o755 },
  ]);
  const b = files.run([{ op: 'write', path: path.join(dir, 'a', 'f'), data: 'x', mode: 0o600 }]);
  bad.catch(() => undefined);
  // drained() resolves after every batch given before it, the failed one too
  await files.drained();
  t.true(fs.existsSync(path.join(dir, 'a', 'f')), 'the batch after the failed one ran');
  t.false(fs.existsSync(path.join(dir, 'never')), 'the failed batch stopped at its failure');
  await t.notThrowsAsync(a);
  await t.notThrowsAsync(b);
  t.is(((await t.throwsAsync(bad)) as NodeJS.ErrnoException).code, 'ENOENT');
  // nothing given: drained() resolves at once
  await files.drained();
});
