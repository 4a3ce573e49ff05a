/**
 * `Config.Healthcheck`: merged with the image's as Docker does, checked, and turned into probe
 * settings. Pure.
 */
import { TsnetError } from '../../errors/index.js';
import type { HealthConfig } from './types.js';

const MS = 1_000_000; // ns per ms

/** Docker's defaults (daemon/health.go). */
export const DEFAULT_INTERVAL_MS = 30_000;
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_START_INTERVAL_MS = 5_000;
export const DEFAULT_RETRIES = 3;
/** Docker keeps the last 5 results and 4096 bytes of each probe's output. */
export const MAX_LOG_ENTRIES = 5;
export const MAX_OUTPUT = 4096;

export interface ProbeSettings {
  argv: string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
  startIntervalMs: number;
}

/** The request's healthcheck over the image's: an empty Test and zero durations inherit. */
export function mergeHealthcheck(
  requested: HealthConfig | null | undefined,
  image: HealthConfig | null | undefined,
): HealthConfig | undefined {
  if (!requested) return image ? { ...image } : undefined;
  const out: HealthConfig = { ...requested };
  if (!image) return out;
  if (!out.Test || out.Test.length === 0) out.Test = image.Test ?? [];
  for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) {
    if (!out[k] && image[k]) out[k] = image[k];
  }
  return out;
}

/** Docker's checks at create: durations 0 or at least 1 ms, retries not negative, a known test form. */
export function checkHealthcheck(h: HealthConfig | undefined): void {
  if (!h) return;
  for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval'] as const) {
    const v = h[k] ?? 0;
    if (!Number.isInteger(v) || v < 0 || (v > 0 && v < MS))
      throw new TsnetError('TSNET_INVALID_ARGUMENT', `${k} in Healthcheck cannot be less than 1ms (got ${v} ns)`);
  }
  if ((h.Retries ?? 0) < 0 || !Number.isInteger(h.Retries ?? 0))
    throw new TsnetError('TSNET_INVALID_ARGUMENT', 'Retries in Healthcheck cannot be negative');
  const test = h.Test ?? [];
  if (test.length === 0) return;
  const kind = test[0];
  if (kind === 'NONE') return;
  if (kind === 'CMD' && test.length >= 2 && test[1] !== '') return;
  if (kind === 'CMD-SHELL' && test.length === 2 && test[1] !== '') return;
  throw new TsnetError(
    'TSNET_INVALID_ARGUMENT',
    `invalid Healthcheck.Test ${JSON.stringify(test)}: use ["NONE"], ["CMD", "prog", "arg"…] or ["CMD-SHELL", "command"]`,
  );
}

/** What the daemon runs, or undefined when the container has no (active) healthcheck. */
export function probeSettings(h: HealthConfig | undefined): ProbeSettings | undefined {
  const test = h?.Test ?? [];
  if (!h || test.length === 0 || test[0] === 'NONE') return undefined;
  const argv = test[0] === 'CMD-SHELL' ? ['/bin/sh', '-c', test[1]!] : test.slice(1);
  const ms = (ns: number | undefined, dflt: number) => (ns && ns > 0 ? Math.max(1, Math.round(ns / MS)) : dflt);
  return {
    argv,
    intervalMs: ms(h.Interval, DEFAULT_INTERVAL_MS),
    timeoutMs: ms(h.Timeout, DEFAULT_TIMEOUT_MS),
    retries: h.Retries && h.Retries > 0 ? h.Retries : DEFAULT_RETRIES,
    startPeriodMs: ms(h.StartPeriod, 0),
    startIntervalMs: ms(h.StartInterval, DEFAULT_START_INTERVAL_MS),
  };
}

/** A duration as Go prints it (`1s`, `500ms`, `1m30s`), for Docker's timeout message. */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  const rest = s - m * 60;
  if (m < 60) return `${m}m${rest}s`;
  return `${Math.floor(m / 60)}h${m % 60}m${rest}s`;
}
