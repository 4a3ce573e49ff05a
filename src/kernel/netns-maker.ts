/**
 * Network namespaces made off the main thread: `make(file)` leaves a new netns bind-mounted at
 * `file` with lo up, made by a thread of its own (./netns-worker.ts). Making a namespace blocks
 * its caller for as long as the kernel makes it wait (unshare takes the net mutex, which the
 * cleanup of removed namespaces holds: 1–20 ms on this box); on that thread the daemon goes on
 * serving requests meanwhile. The thread starts on the first `make` and is not kept alive for
 * its own sake (unref). A thread that dies fails what it was doing; the next `make` starts a
 * new one.
 */
import { Worker } from 'node:worker_threads';
import { TsnetError } from '../errors/index.js';
import type { MakeAnswer, MakeRequest } from './netns-worker.js';

export interface NetnsMaker {
  /** A new netns at `file` (which must not exist), lo up. Nothing is left at `file` on failure. */
  make(file: string): Promise<void>;
  /** Stop the thread (what it was doing fails). */
  close(): Promise<void>;
}

// the worker's module beside this one: .js when built, .ts when run from the sources (tsx)
const WORKER_URL = new URL(`./netns-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

export function createNetnsMaker(): NetnsMaker {
  let worker: Worker | undefined;
  let next = 1;
  const pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();

  const failAll = (why: string): void => {
    for (const p of pending.values()) p.reject(new TsnetError('TSNET_NETNS', `netns thread: ${why}`));
    pending.clear();
  };

  const start = (): Worker => {
    const w = new Worker(WORKER_URL);
    w.unref();
    w.on('message', (a: MakeAnswer) => {
      const p = pending.get(a.id);
      if (!p) return;
      pending.delete(a.id);
      if (a.error === undefined) p.resolve();
      else p.reject(new TsnetError('TSNET_NETNS', a.error));
    });
    w.on('error', (err) => failAll(err.message));
    w.on('exit', (code) => {
      if (worker === w) worker = undefined;
      failAll(`exited with code ${code}`);
    });
    return w;
  };

  return {
    make(file) {
      worker ??= start();
      const id = next++;
      const done = new Promise<void>((resolve, reject) => pending.set(id, { resolve, reject }));
      worker.postMessage({ id, file } satisfies MakeRequest);
      return done;
    },
    async close() {
      const w = worker;
      worker = undefined;
      if (w) await w.terminate();
      failAll('stopped');
    },
  };
}
