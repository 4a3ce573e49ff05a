/**
 * Finding a plugin by name, in Docker's exact order (moby pkg/plugins/discovery.go):
 *   for each socket dir S:  S/<name>.sock, S/<name>/<name>.sock     (must really be a socket)
 *   for each spec dir D:    D/<name>.spec, D/<name>/<name>.spec, D/<name>.json, D/<name>/<name>.json
 * First hit wins. Unlike Docker, a name that is not found is reported at once (Docker retries
 * the lookup for ~15 s, so a typo in `-d` hangs; moby/moby#26974).
 * Synchronous on purpose: a handful of stat calls, no I/O worth scheduling.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TsnetError } from '../errors/index.js';
import { parseJsonSpec, parseSpecFile, socketAddress } from './spec-files.js';
import type { PluginAddress } from './types.js';

export interface DiscoveryDirs {
  socketDirs: readonly string[];
  specDirs: readonly string[];
}

export type CandidateKind = 'sock' | 'spec' | 'json';

export interface Candidate {
  file: string;
  kind: CandidateKind;
}

/** A plugin name must be usable as a file name. */
export function validatePluginName(name: string): void {
  if (typeof name !== 'string' || name === '' || name === '.' || name === '..' || /[/\0]/.test(name) || name.length > 200) {
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid plugin name ${JSON.stringify(name)}`, { details: { name } });
  }
}

/** Every path looked at for `name`, in lookup order. */
export function candidatePaths(name: string, dirs: DiscoveryDirs): Candidate[] {
  const out: Candidate[] = [];
  for (const d of dirs.socketDirs) {
    out.push({ file: path.join(d, `${name}.sock`), kind: 'sock' });
    out.push({ file: path.join(d, name, `${name}.sock`), kind: 'sock' });
  }
  for (const d of dirs.specDirs) {
    out.push({ file: path.join(d, `${name}.spec`), kind: 'spec' });
    out.push({ file: path.join(d, name, `${name}.spec`), kind: 'spec' });
    out.push({ file: path.join(d, `${name}.json`), kind: 'json' });
    out.push({ file: path.join(d, name, `${name}.json`), kind: 'json' });
  }
  return out;
}

function statOf(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}

/** Read one candidate: undefined when it does not exist (or a .sock is not a socket). */
export function readCandidate(name: string, c: Candidate): PluginAddress | undefined {
  const st = statOf(c.file);
  if (!st) return undefined;
  if (c.kind === 'sock') return st.isSocket() ? socketAddress(name, c.file) : undefined;
  if (!st.isFile()) return undefined;
  let content: string;
  try {
    content = fs.readFileSync(c.file, 'utf8');
  } catch (err) {
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `plugin spec file ${c.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      { cause: err },
    );
  }
  return c.kind === 'spec' ? parseSpecFile(name, content, c.file) : parseJsonSpec(name, content, c.file);
}

/**
 * The plugin called `name`, or undefined when no file describes it. A spec file that exists but
 * is malformed is an error (TSNET_INVALID_ARGUMENT naming the file), as in Docker.
 */
export function locatePlugin(name: string, dirs: DiscoveryDirs): PluginAddress | undefined {
  validatePluginName(name);
  for (const c of candidatePaths(name, dirs)) {
    const found = readCandidate(name, c);
    if (found) return found;
  }
  return undefined;
}

/** One line saying where `name` was looked for (for "plugin not found" errors). */
export function describeSearch(name: string, dirs: DiscoveryDirs): string {
  const socks = dirs.socketDirs.map((d) => path.join(d, `${name}.sock`));
  const specs = dirs.specDirs.map((d) => path.join(d, `${name}.{spec,json}`));
  return [...socks, ...specs].join(', ') || '(no plugin directories configured)';
}

function entries(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/**
 * Names of every plugin described in the directories (Docker's Scan), each once, in the
 * order they would win a lookup. Use locatePlugin(name) to get the winning address.
 */
export function scanPlugins(dirs: DiscoveryDirs): string[] {
  const names: string[] = [];
  const seen = new Set<string>();
  const add = (n: string): void => {
    if (n && !seen.has(n)) {
      seen.add(n);
      names.push(n);
    }
  };
  for (const d of dirs.socketDirs) {
    for (const e of entries(d)) {
      const full = path.join(d, e.name);
      if (e.name.endsWith('.sock') && statOf(full)?.isSocket()) add(e.name.slice(0, -5));
      else if (statOf(full)?.isDirectory() && statOf(path.join(full, `${e.name}.sock`))?.isSocket()) add(e.name);
    }
  }
  for (const d of dirs.specDirs) {
    for (const e of entries(d)) {
      const full = path.join(d, e.name);
      const st = statOf(full);
      if (!st) continue;
      if (st.isFile() && (e.name.endsWith('.spec') || e.name.endsWith('.json'))) add(e.name.slice(0, -5));
      else if (st.isDirectory() && ['spec', 'json'].some((x) => statOf(path.join(full, `${e.name}.${x}`))?.isFile())) add(e.name);
    }
  }
  return names;
}
