/**
 * A koffi function called on a thread of libuv's pool (koffi's `.async`), for calls that would
 * block the calling thread (a spawn, an unmount). koffi runs a bounded number of asynchronous
 * calls at once and throws beyond it ("Too many asynchronous calls are running"): then this
 * gives undefined, and the caller makes the call on its own thread instead.
 */
type AsyncFn = { async: (...args: unknown[]) => void };

/** The call's return value; rejects when koffi could not run it; undefined: refused, not made. */
export function callOnPool(fn: unknown, args: readonly unknown[]): Promise<number> | undefined {
  let settle: ((err: unknown, rc: number) => void) | undefined;
  const done = new Promise<number>((resolve, reject) => {
    settle = (err, rc) => (err ? reject(err) : resolve(rc));
  });
  try {
    (fn as AsyncFn).async(...args, settle);
  } catch {
    return undefined;
  }
  return done;
}
