/**
 * A worker thread running the module beside the caller's (`./<name>.js` when built, `.ts` when
 * run from the sources). From the sources (tsx: tests, benches) the thread registers tsx's loader
 * first: a process started with `--import tsx` does not pass it on to every worker it starts.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startWorkerModule(callerUrl: string, name: string, opts: WorkerOptions = {}): Worker {
  const fromSources = callerUrl.endsWith('.ts');
  const url = new URL(`./${name}${fromSources ? '.ts' : '.js'}`, callerUrl);
  if (!fromSources) return new Worker(url, opts);
  const load = `import('tsx/esm/api').then((m) => m.register()).then(() => import(${JSON.stringify(url.href)}))`;
  return new Worker(load, { ...opts, eval: true });
}

/** Requests to a worker thread, each answered by one message carrying its id. */
export interface WorkerClient<Q, A> {
  /** Send `q` with a new id; resolves with the thread's answer of that id. */
  send(q: Q): Promise<A>;
  /** Stop the thread (what it was doing fails). */
  close(): Promise<void>;
}

/**
 * A client of the worker module `name` beside the caller. The thread starts on the first
 * request and does not keep the process alive (unref); a thread that dies fails what it was
 * doing (`failure(why)`), and the next request starts a new one.
 */
export function workerClient<Q extends object, A extends { id: number }>(
  callerUrl: string,
  name: string,
  opts: { workerData?: unknown; failure: (why: string) => Error },
): WorkerClient<Q, A> {
  let worker: Worker | undefined;
  let next = 1;
  const pending = new Map<number, { resolve: (a: A) => void; reject: (err: Error) => void }>();

  const failAll = (why: string): void => {
    for (const p of pending.values()) p.reject(opts.failure(why));
    pending.clear();
  };

  const start = (): Worker => {
    const w = startWorkerModule(callerUrl, name, opts.workerData === undefined ? {} : { workerData: opts.workerData });
    w.unref();
    w.on('message', (a: A) => {
      const p = pending.get(a.id);
      if (!p) return;
      pending.delete(a.id);
      p.resolve(a);
    });
    w.on('error', (err) => failAll(err.message));
    w.on('exit', (code) => {
      if (worker === w) worker = undefined;
      failAll(`exited with code ${code}`);
    });
    return w;
  };

  return {
    send(q) {
      worker ??= start();
      const id = next++;
      const done = new Promise<A>((resolve, reject) => pending.set(id, { resolve, reject }));
      worker.postMessage({ ...q, id });
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
