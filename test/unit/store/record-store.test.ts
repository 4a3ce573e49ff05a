/**
 * RecordStore: a prepared write becomes visible only at commit; loading at start removes the temp
 * files of writes a killed daemon never committed (network create overlaps its record's fsync
 * with the kernel work and commits after it, decision 29).
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RecordStore } from '../../../src/store/record-store.js';

const ID = 'a'.repeat(64);

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-records-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a prepared record is invisible until commit, and gone after abort', async (t) => {
  const dir = tempDir(t);
  const store = new RecordStore<{ id: string; v: number }>(dir);
  const p = await store.prepare({ id: ID, v: 1 });
  t.deepEqual(await store.loadAll(), [], 'not loaded before commit');
  const q = await store.prepare({ id: ID, v: 2 });
  await q.commit();
  t.deepEqual(await store.loadAll(), [{ id: ID, v: 2 }]);
  await p.abort();
  t.deepEqual(fs.readdirSync(dir), [`${ID}.json`]);
});

test('loading removes the temp file of a write that was never committed', async (t) => {
  const dir = tempDir(t);
  const store = new RecordStore<{ id: string }>(dir);
  await store.prepare({ id: ID }); // a crash here: the temp file stays
  t.is(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp')).length, 1);
  t.deepEqual(await store.loadAll(), []);
  t.deepEqual(fs.readdirSync(dir), [], 'the temp file is gone');
});

test('remove unlinks at once, without the thread pool (decision 45), and is idempotent', async (t) => {
  const dir = tempDir(t);
  const store = new RecordStore<{ id: string }>(dir);
  await store.save({ id: ID });
  const removing = store.remove(ID);
  // before the promise settles: a removal through the thread pool would still find the file here
  t.deepEqual(fs.readdirSync(dir), [], 'gone before the first await');
  await removing;
  await t.notThrowsAsync(store.remove(ID), 'a second removal is fine');
  await t.throwsAsync(store.remove('../x'), { message: /invalid record id/ });
});

test('removeBehind unlinks on the thread pool (the teardown after a run --rm, decision 47), and is idempotent', async (t) => {
  const dir = tempDir(t);
  const store = new RecordStore<{ id: string }>(dir);
  await store.save({ id: ID });
  // the pool's threads held: 16 opens of a FIFO no writer has opened yet block (each open
  // waits for one), so an unlink handed to the pool waits behind them
  const fifo = path.join(dir, 'hold');
  execFileSync('mkfifo', [fifo]);
  const held = Array.from({ length: 16 }, () => fs.promises.open(fifo, 'r'));
  let released: Promise<void> | undefined;
  const release = () => (released ??= releaseFifo(fifo, held));
  t.teardown(release);
  const removing = store.removeBehind(ID);
  await new Promise((r) => setImmediate(r));
  t.deepEqual(fs.readdirSync(dir).sort(), [`${ID}.json`, 'hold'], 'not unlinked on this thread');
  await release();
  await removing;
  t.deepEqual(fs.readdirSync(dir), ['hold'], 'gone once it resolves');
  await t.notThrowsAsync(store.removeBehind(ID), 'a second removal is fine');
  await t.throwsAsync(store.removeBehind('../x'), { message: /invalid record id/ });
});

/** Let the FIFO's blocked opens through (a writer once a reader waits) and close them. */
async function releaseFifo(fifo: string, held: Array<Promise<fs.promises.FileHandle>>): Promise<void> {
  let writer = -1;
  while (writer < 0) {
    try {
      writer = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENXIO') throw err; // no reader waits yet
      await new Promise((r) => setImmediate(r));
    }
  }
  for (const h of await Promise.all(held)) await h.close();
  fs.closeSync(writer);
}
