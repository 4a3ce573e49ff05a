/**
 * `--since` / `--until` of logs, like docker's GetTimestamp: a Go-style duration relative
 * to now (`10m`, `1h30m`, `1.5h`, `45s`), an RFC 3339 date or date-time, or a Unix
 * timestamp (`1700000000`, `1700000000.5`) passed through. Returns what the API takes:
 * Unix seconds as a string.
 */
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

function parseDuration(text: string): number | undefined {
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let at = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    at = re.lastIndex;
  }
  return at === text.length && at > 0 ? total : undefined;
}

export function parseTimestamp(text: string, now: number = Date.now()): string {
  if (/^\d+(\.\d+)?$/.test(text)) return text;
  const duration = parseDuration(text);
  if (duration !== undefined) return ((now - duration) / 1000).toFixed(3);
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) return (ms / 1000).toFixed(3).replace(/\.000$/, '');
  }
  throw new Error('expected a duration (10m, 1h30m), an RFC 3339 date, or a Unix timestamp');
}
