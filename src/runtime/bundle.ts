/**
 * The spec file tsnet-init reads: NUL-terminated `key=value` records (docs/tsnet-init.md).
 */
import fs from 'node:fs';
import path from 'node:path';

export type SpecRecord = [key: string, value: string];

export function encodeSpec(records: SpecRecord[]): Buffer {
  for (const [k, v] of records) {
    if (!/^[a-z_0-9]+$/.test(k)) throw new Error(`bad spec key ${k}`);
    if (v.includes('\0')) throw new Error(`spec value for ${k} contains a NUL byte`);
  }
  return Buffer.from(records.map(([k, v]) => `${k}=${v}\0`).join(''), 'utf8');
}

export function writeSpec(bundleDir: string, records: SpecRecord[]): void {
  fs.mkdirSync(bundleDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(bundleDir, 'spec'), encodeSpec(records), { mode: 0o600 });
}

export interface ExitFile {
  code: number;
  signal: number;
  finished: string;
}

export function readExitFile(bundleDir: string): ExitFile | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(bundleDir, 'exit'), 'utf8');
  } catch {
    return undefined;
  }
  const get = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(text)?.[1];
  const code = Number(get('code'));
  if (!Number.isFinite(code)) return undefined;
  return { code, signal: Number(get('signal') ?? 0) || 0, finished: get('finished') ?? new Date().toISOString() };
}

const RUNNING_FILE = 'running.json';

/**
 * The running state of a `--rm` container, written into its bundle (the exec-root: a tmpfs) at its
 * start instead of into its record (decision 47): a file created and renamed there costs ~20 µs
 * on the daemon's thread, a record rewrite on the root file system ~1 ms, and a reboot ends both.
 * The record keeps saying `created`; restore reads this file to adopt the container (an
 * AutoRemove container that is not running is removed at start, so without it a daemon that died
 * would kill and remove a running one). Written atomically (a temp file, then the rename).
 */
export function writeRunningState<S extends { Status: string }>(bundleDir: string, state: S): void {
  const file = path.join(bundleDir, RUNNING_FILE);
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** What writeRunningState left (undefined: none, or not a running state). */
export function readRunningState<S extends { Status: string }>(bundleDir: string): S | undefined {
  try {
    const s = JSON.parse(fs.readFileSync(path.join(bundleDir, RUNNING_FILE), 'utf8')) as S & {
      Pid?: unknown;
      SupervisorPid?: unknown;
    };
    return s?.Status === 'running' && Number.isInteger(s.Pid) && Number.isInteger(s.SupervisorPid) ? s : undefined;
  } catch {
    return undefined;
  }
}
