/** Docker's health shapes: `Config.Healthcheck` and `State.Health`. */

/** Durations in nanoseconds, as Docker's API; 0 = the default. */
export interface HealthConfig {
  /** [] inherit; ["NONE"] off; ["CMD", argv…]; ["CMD-SHELL", "command"]. */
  Test?: string[] | null;
  Interval?: number;
  Timeout?: number;
  Retries?: number;
  StartPeriod?: number;
  StartInterval?: number;
}

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export interface HealthState {
  Status: HealthStatus;
  FailingStreak: number;
  Log: HealthLogEntry[];
}
