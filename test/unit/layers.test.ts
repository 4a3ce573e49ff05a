/**
 * The layer table of docs/architecture.md, enforced on the import graph of src/ (every
 * `import … from`, `export … from` and `import(…)` of every file; test/helpers/import-graph.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { type Edge, importGraph, isSource, RULES, SRC, specifiers } from '../helpers/import-graph.js';

const graph = importGraph();

test('the import graph of src/ is read (sanity: known edges are found)', (t) => {
  t.true(graph.length > 500, `only ${graph.length} imports found`);
  t.true(graph.some((e) => e.from === 'kernel/libc.ts' && e.to === 'koffi'));
  t.true(graph.some((e) => e.from === 'daemon/components.ts' && e.to === 'kernel/libc.ts'));
  // every relative import resolves to a file that exists
  const missing = graph.filter((e) => isSource(e) && !fs.existsSync(path.join(SRC, e.to)));
  t.deepEqual(
    missing.map((e) => `${e.from} imports ${e.to}`),
    [],
  );
});

for (const rule of RULES) {
  test(`layers: ${rule.name}`, (t) => {
    t.deepEqual(rule.check(graph), []);
  });
}

test('every rule finds a planted violation (the rules are not vacuous)', (t) => {
  const planted: Edge[] = [
    { from: 'cli/x.ts', to: 'daemon/main.ts' },
    { from: 'kernel/x.ts', to: 'network/controller.ts' },
    { from: 'lib/x.ts', to: 'kernel/libc.ts' },
    { from: 'errors/x.ts', to: 'lib/cidr.ts' },
    { from: 'runtime/x.ts', to: 'node:child_process' },
    { from: 'network/x.ts', to: 'daemon/logger.ts' },
    { from: 'ipam/x.ts', to: 'runtime/container/types.ts' },
  ];
  for (const rule of RULES) t.true(rule.check(planted).length > 0, rule.name);
  // and allowed edges pass
  const fine: Edge[] = [
    { from: 'kernel/x.ts', to: 'lib/cidr.ts' },
    { from: 'kernel/x.ts', to: 'koffi' },
    { from: 'network/x.ts', to: 'kernel/netns.ts' },
    { from: 'cli/x.ts', to: 'node:net' },
  ];
  for (const rule of RULES) t.deepEqual(rule.check(fine), [], rule.name);
});

test('specifiers: static, type-only, re-export, dynamic and side-effect imports; comments ignored', (t) => {
  const text = [
    "import a from 'koffi';",
    "import type { B } from '../b.js';",
    "import {\n  c,\n  d,\n} from './c.js';",
    "export { e } from './e.js';",
    "export * from './f.js';",
    "const g = await import('./g.js');",
    "import './h.js';",
    "// import x from 'commented';",
    "/* import y from 'blocked'; */",
  ].join('\n');
  t.deepEqual(specifiers(text).sort(), ['../b.js', './c.js', './e.js', './f.js', './g.js', './h.js', 'koffi'].sort());
});

test('addresses are parsed by the one IP library (src/lib/cidr.ts): no net.isIP or BlockList in src/ outside src/cli', (t) => {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (path.relative(SRC, p) !== 'cli') walk(p);
      } else if (e.name.endsWith('.ts') && /\bnet\.(isIP|isIPv4|isIPv6|BlockList)\b/.test(fs.readFileSync(p, 'utf8'))) {
        found.push(path.relative(SRC, p));
      }
    }
  };
  walk(SRC);
  t.deepEqual(found, []);
});
