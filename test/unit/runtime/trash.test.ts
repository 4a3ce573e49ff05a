import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Trash } from '../../../src/runtime/trash.js';

function scratch(t: import('ava').ExecutionContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-trash-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function until(cond: () => boolean): Promise<boolean> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  return cond();
}

test('discard moves a tree into the trash at once (made on first use) and deletes it in the background', async (t) => {
  const dir = scratch(t);
  const victim = path.join(dir, 'c', 'abc');
  fs.mkdirSync(path.join(victim, 'deep', 'er'), { recursive: true });
  fs.writeFileSync(path.join(victim, 'deep', 'er', 'f'), 'x');
  const trash = new Trash(path.join(dir, 'trash'), (m) => t.fail(m));
  trash.discard(victim, 'abc');
  t.false(fs.existsSync(victim), 'gone from its place when discard returns');
  t.true(await until(() => fs.readdirSync(path.join(dir, 'trash')).length === 0), 'the trash empties');
});

test('a missing target is no error and leaves nothing', (t) => {
  const dir = scratch(t);
  const trash = new Trash(path.join(dir, 'trash'), (m) => t.fail(m));
  trash.discard(path.join(dir, 'nothing-here'), 'x');
  t.false(fs.existsSync(path.join(dir, 'trash')));
});

test('empty() removes what a crash left, but not what this trash is deleting', (t) => {
  const dir = scratch(t);
  const leftover = path.join(dir, 'trash', 'old-1234');
  fs.mkdirSync(path.join(leftover, 'sub'), { recursive: true });
  const trash = new Trash(path.join(dir, 'trash'), () => undefined);
  const victim = path.join(dir, 'v');
  fs.mkdirSync(victim);
  trash.discard(victim, 'v');
  const inFlight = fs.readdirSync(path.join(dir, 'trash')).filter((n) => n.startsWith('v-'));
  t.is(inFlight.length, 1);
  t.deepEqual(trash.empty(), ['old-1234']);
  t.false(fs.existsSync(leftover));
});

test('empty() without a trash dir returns nothing', (t) => {
  const dir = scratch(t);
  t.deepEqual(new Trash(path.join(dir, 'trash'), () => undefined).empty(), []);
});

test('deletions wait for a quiet moment (no discard for idleMs); past the backlog the oldest goes at once', async (t) => {
  const dir = scratch(t);
  const trash = new Trash(path.join(dir, 'trash'), (m) => t.fail(m), undefined, { idleMs: 60_000, backlog: 2 });
  const victims = ['a', 'b', 'c'].map((n) => {
    const v = path.join(dir, n);
    fs.mkdirSync(path.join(v, 'sub'), { recursive: true });
    return v;
  });
  const inTrash = () => fs.readdirSync(path.join(dir, 'trash')).map((n) => n.split('-')[0]);
  trash.discard(victims[0]!, 'a');
  trash.discard(victims[1]!, 'b');
  await new Promise((r) => setTimeout(r, 100));
  t.deepEqual(inTrash().sort(), ['a', 'b'], 'nothing deleted while the daemon is busy (idle time not reached)');
  trash.discard(victims[2]!, 'c');
  t.true(await until(() => !inTrash().includes('a')), 'a third entry over a backlog of 2: the oldest is deleted now');
  t.deepEqual(inTrash().sort(), ['b', 'c']);
  t.deepEqual(trash.empty(), [], 'empty() leaves the entries this trash will delete');
});

test('after idleMs without a discard, every waiting entry is deleted', async (t) => {
  const dir = scratch(t);
  const trash = new Trash(path.join(dir, 'trash'), (m) => t.fail(m), undefined, { idleMs: 30 });
  for (const n of ['a', 'b', 'c']) {
    fs.mkdirSync(path.join(dir, n, 'sub'), { recursive: true });
    trash.discard(path.join(dir, n), n);
  }
  t.true(await until(() => fs.readdirSync(path.join(dir, 'trash')).length === 0), 'the trash empties');
});
