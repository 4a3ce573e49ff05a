/** Go durations as docker's flags take them (`30s`, `1m30s`, `500ms`, `1h`) → nanoseconds. */
const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

export function parseGoDuration(text: string): number {
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * UNIT_NS[m[2]!]!;
    end = re.lastIndex;
  }
  if (end === 0 || end !== text.length) throw new Error('invalid duration: use a number and a unit, like 30s, 1m30s or 500ms');
  return Math.round(total);
}
