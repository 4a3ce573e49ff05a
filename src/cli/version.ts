/** The client's version: package.json's, read once (no JSON import: keeps startup lean). */
import { readFileSync } from 'node:fs';

export const API_VERSION = '1.41';

let cached: string | undefined;

export function clientVersion(): string {
  if (cached === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
      cached = pkg.version ?? 'unknown';
    } catch {
      cached = 'unknown';
    }
  }
  return cached;
}
