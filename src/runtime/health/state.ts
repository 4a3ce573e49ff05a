/** Docker's rule for one probe result (daemon/health.go handleProbeResult). Pure. */
import { MAX_LOG_ENTRIES, MAX_OUTPUT, type ProbeSettings } from './config.js';
import type { HealthLogEntry, HealthState } from './types.js';

export function initialHealth(): HealthState {
  return { Status: 'starting', FailingStreak: 0, Log: [] };
}

/**
 * The next health state after a probe: success resets the streak and makes it healthy; a failure
 * counts unless the container is still starting within its start period, and `retries`
 * failures in a row make it unhealthy.
 */
export function applyProbe(
  prev: HealthState,
  entry: HealthLogEntry,
  settings: Pick<ProbeSettings, 'retries' | 'startPeriodMs'>,
  startedAt: string,
): HealthState {
  const e = { ...entry, Output: entry.Output.length > MAX_OUTPUT ? entry.Output.slice(0, MAX_OUTPUT) : entry.Output };
  const Log = [...prev.Log, e].slice(-MAX_LOG_ENTRIES);
  if (e.ExitCode === 0) return { Status: 'healthy', FailingStreak: 0, Log };
  if (prev.Status === 'starting' && Date.parse(e.Start) - Date.parse(startedAt) < settings.startPeriodMs) return { ...prev, Log };
  const FailingStreak = prev.FailingStreak + 1;
  return { Status: FailingStreak >= settings.retries ? 'unhealthy' : prev.Status, FailingStreak, Log };
}
