/**
 * Layer rule of issue 9: src/network and src/ipam import nothing from src/runtime or src/daemon
 * (the runtime imports the network's contract, never the reverse). The daemon's logger is the one
 * exception until the logger interface moves out of src/daemon.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';

const ROOT = path.resolve(import.meta.dirname, '../../../src');
const ALLOWED = new Set([path.join(ROOT, 'daemon/logger.ts')]);

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Every relative import/export specifier of a file, resolved to a path under src. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:import|export)\s[^'";]*?from\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g)) {
    const spec = m[1] ?? m[2]!;
    out.push(path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts'));
  }
  return out;
}

for (const layer of ['network', 'ipam']) {
  test(`src/${layer} imports nothing from src/runtime or src/daemon`, (t) => {
    const bad: string[] = [];
    for (const file of sources(path.join(ROOT, layer))) {
      for (const target of importsOf(file)) {
        const rel = path.relative(ROOT, target);
        if ((rel.startsWith('runtime/') || rel.startsWith('daemon/')) && !ALLOWED.has(target))
          bad.push(`${path.relative(ROOT, file)} → ${rel}`);
      }
    }
    t.deepEqual(bad, []);
  });
}

test('the import scan sees a runtime import (self-check)', (t) => {
  const seen = importsOf(path.join(ROOT, 'daemon', 'components.ts')).map((p) => path.relative(ROOT, p));
  t.true(seen.includes('runtime/container/container-manager.ts'));
});
