/** Named checks with a level each: pass, fail, warn (a deviation Docker and tsnet tolerate), skip. */
export type Level = 'pass' | 'fail' | 'warn' | 'skip';

export interface CheckResult {
  name: string;
  level: Level;
  message?: string;
  ms: number;
}

export interface ConformanceReport {
  results: CheckResult[];
  passed: number;
  failed: number;
  warned: number;
  skipped: number;
}

export class Checks {
  readonly results: CheckResult[] = [];
  constructor(private readonly onResult: (r: CheckResult, n: number) => void = () => undefined) {}

  private add(r: CheckResult): void {
    this.results.push(r);
    this.onResult(r, this.results.length);
  }

  /**
   * Run one check. `fn` throws to fail (or warn, with severity 'warn'); a returned string is a
   * note shown with the pass. Resolves true when it passed.
   */
  async check(
    name: string,
    fn: () => Promise<string | void> | string | void,
    severity: 'fail' | 'warn' = 'fail',
  ): Promise<boolean> {
    const t0 = performance.now();
    try {
      const note = await fn();
      this.add({ name, level: 'pass', ...(note ? { message: note } : {}), ms: performance.now() - t0 });
      return true;
    } catch (err) {
      this.add({ name, level: severity, message: err instanceof Error ? err.message : String(err), ms: performance.now() - t0 });
      return false;
    }
  }

  skip(name: string, why: string): void {
    this.add({ name, level: 'skip', message: why, ms: 0 });
  }

  report(): ConformanceReport {
    const count = (l: Level): number => this.results.filter((r) => r.level === l).length;
    return {
      results: [...this.results],
      passed: count('pass'),
      failed: count('fail'),
      warned: count('warn'),
      skipped: count('skip'),
    };
  }
}

/** One TAP-style line per result. */
export function formatResult(r: CheckResult, n: number): string {
  const ms = r.ms >= 1 ? ` (${Math.round(r.ms)} ms)` : '';
  switch (r.level) {
    case 'pass':
      return `ok ${n} - ${r.name}${r.message ? ` # ${r.message}` : ''}${ms}`;
    case 'skip':
      return `ok ${n} - ${r.name} # SKIP ${r.message ?? ''}`;
    case 'warn':
      return `ok ${n} - ${r.name} # WARN ${r.message ?? ''}`;
    case 'fail':
      return `not ok ${n} - ${r.name}\n  # ${(r.message ?? '').split('\n').join('\n  # ')}`;
  }
}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}
