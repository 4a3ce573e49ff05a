/**
 * Docker's restart policies (`--restart no|always|unless-stopped|on-failure[:N]`) and its
 * back-off. Pure: the scheduler and the container manager decide with these.
 */
import { TsnetError } from '../../errors/index.js';

export type RestartPolicyName = 'no' | 'always' | 'unless-stopped' | 'on-failure';

export interface RestartPolicy {
  Name?: string;
  MaximumRetryCount?: number;
}

/** Docker's numbers: the first restart after 100 ms, doubling, at most a minute; reset after 10 s up. */
export const FIRST_DELAY_MS = 100;
export const MAX_DELAY_MS = 60_000;
export const RESET_AFTER_MS = 10_000;

export function policyName(p: RestartPolicy | undefined | null): RestartPolicyName {
  const n = p?.Name ?? '';
  return n === '' ? 'no' : (n as RestartPolicyName);
}

/** Refuse what Docker refuses, in one line each (create and update). */
export function checkRestartPolicy(p: RestartPolicy | undefined | null, autoRemove: boolean): void {
  if (!p) return;
  const name = p.Name ?? '';
  if (!['', 'no', 'always', 'unless-stopped', 'on-failure'].includes(name))
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `invalid restart policy "${name}": use no, always, unless-stopped or on-failure[:max-retries]`,
    );
  const max = p.MaximumRetryCount ?? 0;
  if (!Number.isInteger(max) || max < 0)
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `invalid restart policy: maximum retry count must be a positive integer (got ${max})`,
    );
  if (max > 0 && name !== 'on-failure')
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `invalid restart policy: maximum retry count can only be used with 'on-failure' (got '${name || 'no'}')`,
    );
  if (autoRemove && name !== '' && name !== 'no')
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      "conflicting options: cannot use --rm (AutoRemove) with a restart policy other than 'no'",
    );
}

export interface ExitFacts {
  exitCode: number;
  /** Stopped or killed through the API (Docker's HasBeenManuallyStopped). */
  manuallyStopped: boolean;
  /** Restarts by policy since the last start through the API. */
  restartCount: number;
}

/** After an exit the daemon saw: restart by policy? */
export function shouldRestart(p: RestartPolicy | undefined | null, f: ExitFacts): boolean {
  if (f.manuallyStopped) return false;
  switch (policyName(p)) {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure': {
      const max = p?.MaximumRetryCount ?? 0;
      return f.exitCode !== 0 && (max === 0 || f.restartCount < max);
    }
    default:
      return false;
  }
}

/**
 * At daemon start, for a container that has run before and is not running: Docker starts
 * `always` ones (even after a manual stop), `unless-stopped` ones not stopped by hand, and
 * `on-failure` ones whose last exit was a failure with retries left.
 */
export function startAtDaemonStart(p: RestartPolicy | undefined | null, f: ExitFacts): boolean {
  if (policyName(p) === 'always') return true;
  return shouldRestart(p, f);
}

/** Docker's restart manager back-off: the delay before the next restart. */
export function nextDelay(previousMs: number, ranMs: number): number {
  const prev = ranMs >= RESET_AFTER_MS ? 0 : previousMs;
  const next = prev === 0 ? FIRST_DELAY_MS : prev * 2;
  return Math.min(next, MAX_DELAY_MS);
}
