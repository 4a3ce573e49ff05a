/**
 * The filters of Docker's prune routes: `until` (a Unix time, an RFC 3339 date, or a Go duration
 * back from now: `24h`, `1h30m`, `90s`), `label` and `label!` (`key` or `key=value`).
 */
import { TsnetError } from '../../errors/index.js';

export interface PruneFilter {
  /** Objects created before this time (ms since the epoch) only. */
  until?: number;
  label: string[];
  notLabel: string[];
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration, in milliseconds (undefined when it is not one). */
export function goDuration(text: string): number | undefined {
  if (!/^([0-9]*\.?[0-9]+(ns|us|µs|ms|s|m|h))+$/.test(text)) return undefined;
  let ms = 0;
  for (const m of text.matchAll(/([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms;
}

/** `until`: what Docker accepts, as ms since the epoch. */
export function parseUntil(raw: string, now = Date.now()): number {
  const d = goDuration(raw);
  if (d !== undefined) return now - d;
  if (/^\d+(\.\d+)?$/.test(raw)) return Number(raw) * 1000;
  if (/^\d{4}-\d{2}-\d{2}/.test(raw)) {
    const ms = Date.parse(raw.length === 10 ? `${raw}T00:00:00Z` : raw);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new TsnetError(
    'TSNET_INVALID_ARGUMENT',
    `invalid filter 'until=${raw}': give a duration (24h, 10m), Unix seconds or an RFC 3339 time`,
  );
}

export function pruneFilter(f: Record<string, string[]>, now = Date.now()): PruneFilter {
  const untils = f.until ?? [];
  if (untils.length > 1) throw new TsnetError('TSNET_INVALID_ARGUMENT', 'more than one until filter specified');
  const out: PruneFilter = { label: f.label ?? [], notLabel: f['label!'] ?? [] };
  if (untils[0] !== undefined) out.until = parseUntil(untils[0], now);
  return out;
}

function hasLabel(labels: Record<string, string>, spec: string): boolean {
  const i = spec.indexOf('=');
  if (i < 0) return spec in labels;
  return labels[spec.slice(0, i)] === spec.slice(i + 1);
}

/** Whether an object created at `created` with `labels` passes the filter. */
export function pruneMatch(filter: PruneFilter, created: string, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  if (filter.until !== undefined && !(Date.parse(created) < filter.until)) return false;
  if (!filter.label.every((s) => hasLabel(l, s))) return false;
  if (filter.notLabel.some((s) => hasLabel(l, s))) return false;
  return true;
}
