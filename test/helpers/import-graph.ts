/**
 * The import graph of src/ and the layer rules of docs/architecture.md ("Layers"), for
 * test/unit/layers.test.ts. A rule names a layer (a folder under src/) and what it may import;
 * anything else is a finding "<file> imports <target>". Add a rule here when a layer boundary
 * becomes true in the code.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

/** Packages that talk to the kernel or start processes: only src/kernel may import them. */
export const KERNEL_ONLY_PACKAGES = ['koffi', 'execa', 'child_process', 'node:child_process', 'netlink'];

export interface Edge {
  /** File path relative to src/, e.g. 'kernel/netns.ts'. */
  from: string;
  /** A resolved path relative to src/ ('lib/cidr.ts'), or a package name ('koffi'). */
  to: string;
}

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** The module specifiers of one source text (static, re-export and dynamic imports). */
export function specifiers(text: string): string[] {
  // comments could hold the words "import … from"; drop them first
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  for (const re of [
    /\b(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
  ]) {
    for (const m of code.matchAll(re)) out.push(m[1]!);
  }
  return out;
}

export function importGraph(root = SRC): Edge[] {
  const edges: Edge[] = [];
  for (const file of tsFiles(root)) {
    const from = path.relative(root, file);
    for (const spec of specifiers(fs.readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) {
        const to = path.relative(root, path.resolve(path.dirname(file), spec)).replace(/\.js$/, '.ts');
        edges.push({ from, to });
      } else {
        // a package: its name (scope included), without a subpath
        const parts = spec.split('/');
        edges.push({ from, to: spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]! });
      }
    }
  }
  return edges;
}

const layerOf = (p: string): string => p.split('/')[0]!;
/** An edge to a file of src/ (packages never end in .ts). */
export const isSource = (e: Edge): boolean => e.to.endsWith('.ts') && !e.to.startsWith('..');

export interface Rule {
  name: string;
  /** The findings of this rule in a graph, as "<from> imports <to>". */
  check(edges: readonly Edge[]): string[];
}

/** The layer may import only these layers of src/ (and any package). */
function onlyLayers(layer: string, allowed: readonly string[], why: string): Rule {
  return {
    name: `src/${layer} imports only ${allowed.map((a) => `src/${a}`).join(', ')} (${why})`,
    check: (edges) =>
      edges
        .filter((e) => layerOf(e.from) === layer && isSource(e) && !allowed.includes(layerOf(e.to)))
        .map((e) => `${e.from} imports ${e.to}`),
  };
}

export const RULES: readonly Rule[] = [
  onlyLayers('cli', ['cli'], 'a client: nothing else of tsnet'),
  onlyLayers('kernel', ['kernel', 'lib', 'errors'], "talks to the kernel, knows nothing of tsnet's objects"),
  onlyLayers('lib', ['lib', 'errors'], 'pure helpers every layer may use'),
  onlyLayers('errors', ['errors'], 'the leaf every layer uses'),
  {
    // The CLI is a program of its own (it imports nothing else of tsnet): `tsnet cp` may run the
    // local tar. Everything of the daemon spawns through src/kernel.
    name: `${KERNEL_ONLY_PACKAGES.join(', ')} are imported only under src/kernel (child_process also by the CLI)`,
    check: (edges) =>
      edges
        .filter(
          (e) =>
            KERNEL_ONLY_PACKAGES.includes(e.to) &&
            layerOf(e.from) !== 'kernel' &&
            !(layerOf(e.from) === 'cli' && e.to.endsWith('child_process')),
        )
        .map((e) => `${e.from} imports ${e.to}`),
  },
  {
    // issue 9: the runtime imports the network's contract (src/network/container-api.ts), never
    // the reverse; the network layer owns its sandbox and endpoint records
    name: 'src/network and src/ipam import nothing from src/runtime',
    check: (edges) =>
      edges
        .filter((e) => ['network', 'ipam'].includes(layerOf(e.from)) && isSource(e) && layerOf(e.to) === 'runtime')
        .map((e) => `${e.from} imports ${e.to}`),
  },
  {
    name: 'nothing below src/daemon imports src/daemon',
    check: (edges) =>
      edges
        .filter((e) => layerOf(e.from) !== 'daemon' && isSource(e) && layerOf(e.to) === 'daemon')
        .map((e) => `${e.from} imports ${e.to}`),
  },
];
