import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FilterFiles } from '../../../src/runtime/filter-files.js';

test('one file per distinct filter, named by its content, written once and shared', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-filters-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const filters = new FilterFiles(path.join(dir, 'filters'));
  const a = filters.file(Buffer.from('filter a'));
  const b = filters.file(Buffer.from('filter b'));
  t.not(a, b, 'different filters, different files');
  t.is(filters.file(Buffer.from('filter a')), a, 'the same filter, the same file');
  t.is(fs.readFileSync(a, 'utf8'), 'filter a');
  t.is(fs.readFileSync(b, 'utf8'), 'filter b');
  t.deepEqual(fs.readdirSync(path.join(dir, 'filters')).sort(), [path.basename(a), path.basename(b)].sort(), 'no temp file left');
  const mtime = fs.statSync(a).mtimeMs;
  fs.utimesSync(a, 1, 1);
  filters.file(Buffer.from('filter a'));
  t.not(fs.statSync(a).mtimeMs, mtime, 'not written again by the same daemon');
});
