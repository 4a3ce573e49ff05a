/**
 * `since` / `until` of `/events` as Docker takes them: Unix seconds with an optional fraction
 * (`1700000000`, `1700000000.123456789`, what the docker CLI sends). Also accepted, for people
 * with curl: an RFC 3339 date-time. Returns nanoseconds; 0n when the value is empty.
 */
import { TsnetError } from '../errors/index.js';

export function parseEventTime(name: string, raw: string | null): bigint {
  if (raw === null || raw === '') return 0n;
  const m = /^(-?\d+)(?:\.(\d{1,9}))?$/.exec(raw);
  if (m) {
    const frac = (m[2] ?? '').padEnd(9, '0');
    const ns = BigInt(m[1]!) * 1_000_000_000n + BigInt(frac);
    return ns < 0n ? 0n : ns;
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(raw)) {
    const ms = Date.parse(raw);
    if (!Number.isNaN(ms)) return BigInt(ms) * 1_000_000n;
  }
  throw new TsnetError(
    'TSNET_INVALID_ARGUMENT',
    `invalid ${name} value ${JSON.stringify(raw)}: give Unix seconds (1700000000 or 1700000000.5) or an RFC 3339 time`,
  );
}
