/**
 * A stack of undo steps (DESIGN rule 1). Each applied step pushes its undo; on failure,
 * `unwind()` runs them newest first and keeps going past individual undo failures.
 */
/** TSNET_TIMING=1: every step's wall time goes to stderr (a profiling aid for `npm run bench`). */
const TIMING = process.env.TSNET_TIMING === '1';

export function timingLine(name: string, startedMs: number): void {
  if (TIMING) process.stderr.write(`timing ${(performance.now() - startedMs).toFixed(2)} ms ${name}\n`);
}

/** Time `fn` when TSNET_TIMING=1 (the promise's settling, for async functions). */
export async function timed<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
  if (!TIMING) return fn();
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    timingLine(name, t0);
  }
}

export class Rollback {
  private readonly steps: Array<{ name: string; undo: () => unknown }> = [];

  push(name: string, undo: () => unknown): void {
    this.steps.push({ name, undo });
  }

  /** Run `apply`, and on success push its undo. */
  async step<T>(name: string, apply: () => Promise<T> | T, undo: (result: T) => unknown): Promise<T> {
    const result = await timed(name, apply);
    this.push(name, () => undo(result));
    return result;
  }

  /** Forget all undo steps: the operation succeeded. */
  commit(): void {
    this.steps.length = 0;
  }

  /** Undo everything, newest first. Returns the undo failures (never throws). */
  async unwind(): Promise<Error[]> {
    const failures: Error[] = [];
    while (this.steps.length > 0) {
      const s = this.steps.pop()!;
      try {
        await s.undo();
      } catch (err) {
        failures.push(new Error(`undo ${s.name}: ${err instanceof Error ? err.message : String(err)}`));
      }
    }
    return failures;
  }
}
