/**
 * A stack of undo steps (DESIGN rule 1). Each applied step pushes its undo; on failure,
 * `unwind()` runs them newest first and keeps going past individual undo failures.
 */
/** TSNET_TIMING=1: every step's wall time goes to stderr (a profiling aid for `npm run bench`). */
const TIMING = process.env.TSNET_TIMING === '1';

/** Is TSNET_TIMING on (callers skip building a step's name when not)? */
export const timingOn = TIMING;

/**
 * The timing lines not written yet. A write per line (~35 per `run --rm`, each a syscall to the
 * log) cost the daemon ~1 ms of CPU per run, in the middle of what it timed; the lines go out
 * together when a request has answered (flushTiming), at most TIMING_FLUSH_MS after the first
 * one otherwise (work after an answer), and at exit.
 */
const timingLines: string[] = [];
const TIMING_FLUSH_MS = 100;
export function flushTiming(): void {
  if (timingLines.length) process.stderr.write(timingLines.splice(0).join(''));
}
if (TIMING) process.on('exit', flushTiming);

export function timingLine(name: string, startedMs: number): void {
  if (!TIMING) return;
  if (timingLines.push(`timing ${(performance.now() - startedMs).toFixed(2)} ms ${name}\n`) === 1)
    setTimeout(flushTiming, TIMING_FLUSH_MS).unref();
}

/**
 * Time `fn` when TSNET_TIMING=1 (the promise's settling, for async functions). Off, `fn`'s own
 * promise is handed back: an async wrapper would cost each step a promise and three microtask
 * turns (resolving a promise with a promise), timed or not.
 */
export function timed<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
  if (!TIMING) {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }
  return timedAsync(name, fn);
}

async function timedAsync<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
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
