/**
 * The one lock of tsnet: per key, exclusive (`run`) or shared (`runShared`) holders, granted in
 * arrival order (a waiting exclusive holder is not starved by later shared ones). Several keys
 * are taken in sorted order (`runAll`), so two callers locking overlapping sets never deadlock.
 * Keys are plain strings; callers prefix them by kind (`net:<id>`, `ctr:<id>`).
 */
type Waiter = { shared: boolean; grant: () => void };

interface KeyState {
  readers: number;
  writer: boolean;
  queue: Waiter[];
}

export class KeyedMutex {
  private readonly keys = new Map<string, KeyState>();

  /** Run fn with the key held exclusively. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.runAll([key], fn);
  }

  /** Run fn with the key held shared (other shared holders may run at the same time). */
  runShared<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.runAll([key], fn, { shared: true });
  }

  /** Run fn holding every key (sorted, duplicates removed), exclusively unless `shared`. */
  async runAll<T>(keys: readonly string[], fn: () => Promise<T>, opts: { shared?: boolean } = {}): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const held: string[] = [];
    try {
      for (const k of sorted) {
        await this.acquire(k, opts.shared ?? false);
        held.push(k);
      }
      return await fn();
    } finally {
      for (const k of held.reverse()) this.release(k, opts.shared ?? false);
    }
  }

  /** Resolves when nobody holds or waits for the key (tests, benchmarks). */
  async idle(key: string): Promise<void> {
    while (this.keys.has(key)) await this.runShared(key, async () => undefined);
  }

  private acquire(key: string, shared: boolean): Promise<void> {
    let s = this.keys.get(key);
    if (!s) {
      s = { readers: 0, writer: false, queue: [] };
      this.keys.set(key, s);
    }
    if (s.queue.length === 0 && !s.writer && (shared || s.readers === 0)) {
      if (shared) s.readers++;
      else s.writer = true;
      return Promise.resolve();
    }
    const state = s;
    return new Promise((resolve) => {
      state.queue.push({
        shared,
        grant: () => {
          if (shared) state.readers++;
          else state.writer = true;
          resolve();
        },
      });
    });
  }

  private release(key: string, shared: boolean): void {
    const s = this.keys.get(key);
    if (!s) return;
    if (shared) s.readers--;
    else s.writer = false;
    // wake the next exclusive holder alone, or every shared holder up to the next exclusive one
    while (s.queue.length && !s.writer) {
      const next = s.queue[0]!;
      if (!next.shared && s.readers > 0) break;
      s.queue.shift();
      next.grant();
      if (!next.shared) break;
    }
    if (!s.writer && s.readers === 0 && s.queue.length === 0) this.keys.delete(key);
  }
}
