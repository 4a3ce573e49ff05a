/**
 * The client's version: package.json's. The bundle has it built in (scripts/bundle-cli.mjs
 * defines TSNET_CLI_VERSION); from source it is read once (no JSON import: keeps startup lean).
 */
import { readFileSync } from 'node:fs';

export const API_VERSION = '1.41';

declare const TSNET_CLI_VERSION: string | undefined;

let cached: string | undefined;

export function clientVersion(): string {
  if (typeof TSNET_CLI_VERSION === 'string') return TSNET_CLI_VERSION;
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
