/**
 * Run a libnftables call with every signal blocked on the calling thread.
 *
 * libnftables waits for the kernel's acks with select(), which the kernel never restarts after
 * a signal handler ran (signal(7)), whatever SA_RESTART says: a SIGCHLD from any of the daemon's
 * children (or the profiler's SIGPROF) landing on the main thread during a batch made it fail
 * with "Could not process rule: Interrupted system call", after the kernel may already have
 * committed it. Signals that arrive while blocked stay pending and are delivered at the unblock,
 * a fraction of a millisecond later; process-directed ones may go to another thread meanwhile
 * (libuv's signal handling works from any thread).
 */
import koffi from 'koffi';

const SIG_BLOCK = 0;
const SIG_SETMASK = 2;
const SIGSET_BYTES = 128; // glibc's sigset_t

export type SignalsBlocked = <T>(fn: () => T) => T;

export function createSignalBlocker(): SignalsBlocked {
  const lib = koffi.load('libc.so.6');
  const mask = lib.func('int pthread_sigmask(int how, const void *set, void *oldset)') as (
    how: number,
    set: Buffer | null,
    old: Buffer | null,
  ) => number;
  const all = Buffer.alloc(SIGSET_BYTES, 0xff);
  const old = Buffer.alloc(SIGSET_BYTES);
  return (fn) => {
    if (mask(SIG_BLOCK, all, old) !== 0) return fn();
    try {
      return fn();
    } finally {
      mask(SIG_SETMASK, old, null);
    }
  };
}
