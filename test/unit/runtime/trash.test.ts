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
