/**
 * What an integration test file needs from the machine. A missing piece FAILS the file's tests
 * (a `test.before` hook that throws) with one line saying what to do — it never skips them: a
 * test that does not run proves nothing, and a green run must mean the tests ran.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

export interface Needs {
  /** Root: namespaces, mounts, cgroups, iptables. */
  root?: boolean;
  /** Commands that must be on PATH (or absolute paths that must exist), with the package to install. */
  commands?: Array<[command: string, pkg: string]>;
  /** Files that must exist, with how to make them. */
  files?: Array<[file: string, how: string]>;
}

/** The unmet needs, one line each (empty when everything is there). */
export function unmet(needs: Needs): string[] {
  const out: string[] = [];
  if (needs.root && process.getuid?.() !== 0) out.push('needs root (namespaces, mounts, cgroups): run it with sudo');
  for (const [cmd, pkg] of needs.commands ?? []) {
    const found = cmd.includes('/')
      ? fs.existsSync(cmd)
      : spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
    if (!found) out.push(`${cmd} is missing: install ${pkg} (apt-get install ${pkg}; npm run setup installs everything)`);
  }
  for (const [file, how] of needs.files ?? []) if (!fs.existsSync(file)) out.push(`${file} is missing: ${how}`);
  return out;
}

/** Throw one line naming everything missing; use as `test.before(() => require(...))`. */
export function requireNeeds(needs: Needs): void {
  const missing = unmet(needs);
  if (missing.length) throw new Error(`cannot run these tests: ${missing.join('; ')}`);
}
