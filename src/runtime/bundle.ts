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
