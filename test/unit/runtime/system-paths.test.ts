import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  MASKED_PATHS,
  READONLY_PATHS,
  systemPaths,
  thermalThrottlePaths,
  unappliedSystemPaths,
} from '../../../src/runtime/container/system-paths.js';

const CHILD_C = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src/runtime/native/child.c');

/** The string literals of `static const char *const NAME[] = { … };` in child.c. */
function cArray(src: string, name: string): string[] {
  const m = new RegExp(`static const char \\*const ${name}\\[\\] = \\{([^}]*)\\}`).exec(src);
  if (!m) throw new Error(`no array ${name} in child.c`);
  return [...m[1]!.matchAll(/"([^"]*)"/g)].map((x) => x[1]!);
}

test("inspect's MaskedPaths / ReadonlyPaths are the lists tsnet-init's mask_paths applies, in its order", (t) => {
  const src = fs.readFileSync(CHILD_C, 'utf8');
  const fn = src.slice(src.indexOf('static void mask_paths(void)'));
  t.deepEqual([...MASKED_PATHS], cArray(fn, 'masked'));
  t.deepEqual([...READONLY_PATHS], cArray(fn, 'ro'));
});

test('a privileged container shows null (nothing masked), another the lists', (t) => {
  t.deepEqual(systemPaths(true), { MaskedPaths: null, ReadonlyPaths: null });
  t.deepEqual(systemPaths(false).MaskedPaths, [...MASKED_PATHS, ...thermalThrottlePaths()]);
  t.deepEqual(thermalThrottlePaths(2), [
    '/sys/devices/system/cpu/cpu0/thermal_throttle',
    '/sys/devices/system/cpu/cpu1/thermal_throttle',
  ]);
  t.true(MASKED_PATHS.includes('/proc/interrupts'), 'as current Docker');
  t.deepEqual(systemPaths(undefined).ReadonlyPaths, [...READONLY_PATHS]);
});

test('a create may leave them out or send the lists tsnet applies; another list is named', (t) => {
  t.is(unappliedSystemPaths({}), undefined);
  t.is(unappliedSystemPaths({ MaskedPaths: null, ReadonlyPaths: null }), undefined);
  t.is(
    unappliedSystemPaths({
      MaskedPaths: [...MASKED_PATHS, ...thermalThrottlePaths()].reverse(),
      ReadonlyPaths: [...READONLY_PATHS],
    }),
    undefined,
  );
  // the docker CLI's --security-opt systempaths=unconfined
  t.is(unappliedSystemPaths({ MaskedPaths: [], ReadonlyPaths: [] }), 'MaskedPaths');
  t.is(unappliedSystemPaths({ ReadonlyPaths: ['/proc/sys'] }), 'ReadonlyPaths');
  t.is(unappliedSystemPaths({ MaskedPaths: [...MASKED_PATHS, '/etc'] }), 'MaskedPaths');
  t.is(unappliedSystemPaths({ MaskedPaths: 'x' }), 'MaskedPaths');
  t.is(unappliedSystemPaths({ Privileged: true, MaskedPaths: [] }), undefined);
});
