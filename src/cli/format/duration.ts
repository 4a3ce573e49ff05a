/** Human durations and container status lines, as docker prints them (go-units). */

/** `Less than a second`, `1 second`, `5 seconds`, `About a minute`, `3 minutes`, `About an hour`, `5 hours`, `3 days`, `2 weeks`, `3 months`, `2 years`. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(ms / 3_600_000 / 24 / 365)} years`;
}

/** `2 minutes ago` for a time in the past (ms since the epoch). */
export function timeAgo(at: number, now: number = Date.now()): string {
  return `${humanDuration(Math.max(0, now - at))} ago`;
}

export interface StateLike {
  Status?: string;
  Running?: boolean;
  Paused?: boolean;
  Restarting?: boolean;
  ExitCode?: number;
  StartedAt?: string;
  FinishedAt?: string;
}

const ZERO_TIME = /^0001-01-01/;

function parseTime(t: string | undefined): number | undefined {
  if (t === undefined || t === '' || ZERO_TIME.test(t)) return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Docker's State.String(): `Up 2 seconds`, `Up 5 minutes (Paused)`, `Exited (0) 5 seconds ago`, `Created`, … */
export function containerStatus(state: StateLike, now: number = Date.now()): string {
  const started = parseTime(state.StartedAt);
  const finished = parseTime(state.FinishedAt);
  const status = state.Status ?? (state.Running ? 'running' : 'exited');
  if (state.Running || status === 'running' || status === 'paused') {
    const up = started === undefined ? 'Up' : `Up ${humanDuration(now - started)}`;
    if (state.Paused || status === 'paused') return `${up} (Paused)`;
    if (state.Restarting || status === 'restarting') {
      return `Restarting (${state.ExitCode ?? 0}) ${finished === undefined ? '' : timeAgo(finished, now)}`.trimEnd();
    }
    return up;
  }
  if (status === 'created') return 'Created';
  if (status === 'removing') return 'Removal In Progress';
  if (status === 'dead') return 'Dead';
  if (finished === undefined) return started === undefined ? 'Created' : `Exited (${state.ExitCode ?? 0})`;
  return `Exited (${state.ExitCode ?? 0}) ${timeAgo(finished, now)}`;
}

/** Go's time.Time.String() shape docker uses for CreatedAt: `2024-05-01 10:00:00 +0000 UTC`. */
export function goTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number): string => String(n).padStart(2, '0');
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  const zone = offset === 0 ? 'UTC' : `${sign}${pad(Math.trunc(abs / 60))}${pad(abs % 60)}`;
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ` +
    `${sign}${pad(Math.trunc(abs / 60))}${pad(abs % 60)} ${zone}`
  );
}
