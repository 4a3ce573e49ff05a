/**
 * File system work of a request done on a thread of its own (./file-thread-worker.ts), so that
 * the request's own thread neither waits for the disk nor needs an event-loop turn per step.
 *
 * Why not `fs.promises`: a chain of dependent calls (a dir, then its subdirs) goes back to the
 * event loop between steps, and a container create keeps its thread busy with synchronous
 * netlink work for milliseconds at a time: measured, five chained mkdirs finished ~15 ms later
 * than the same synchronous calls. Why not synchronous calls: a metadata change on this VM's
 * ext4 waits for the journal (0.05–1 ms each, more while an fsync commits it).
 *
 * A batch of operations runs in order, synchronously, on the thread; batches run in the order
 * they were given (one queue), so a later batch sees what an earlier one made. A batch stops at
 * its first failure, which rejects with the error's code and message (what ran before stays; the
 * batches after it run). The batches given in one synchronous stretch of the caller (before its
 * next microtask) travel in one message, answered by one: a message and its answer cost the
 * caller's thread more than a few file operations (a wake-up of the thread; on a loaded machine
 * the caller is often preempted right there). `drained()` waits for what was given without a
 * message of its own. The thread starts on first use and does not keep the process alive
 * (unref); a thread that dies fails what it was doing, and the next batch starts a new one.
 */
import { workerClient } from '../lib/worker-module.js';
import type { FileOp } from './file-ops.js';

export type { FileOp } from './file-ops.js';

/** Batches given together: each runs on its own (a failure stops only its own batch). */
export interface FileBatches {
  id: number;
  batches: FileOp[][];
}

export interface FileError {
  message: string;
  code?: string;
}

/** Per batch, in order: its failure, or null. */
export interface FileBatchesAnswer {
  id: number;
  errors: Array<FileError | null>;
}

export interface FileThread {
  run(ops: FileOp[]): Promise<void>;
  /** Resolves once every batch given so far has run (whether or not it failed). */
  drained(): Promise<void>;
  /** Stop the thread (what it was doing fails). */
  close(): Promise<void>;
}

interface Given {
  ops: FileOp[];
  resolve: () => void;
  reject: (err: Error) => void;
}

export function createFileThread(): FileThread {
  const client = workerClient<Omit<FileBatches, 'id'>, FileBatchesAnswer>(import.meta.url, 'file-thread-worker', {
    failure: (why) => new Error(`file thread: ${why}`),
  });
  let given: Given[] = [];
  // settles when the last message sent has been answered (batches run in order: all before it too)
  let last: Promise<void> = Promise.resolve();
  const send = (): void => {
    const group = given;
    given = [];
    last = client.send({ batches: group.map((g) => g.ops) }).then(
      (a) => {
        group.forEach((g, i) => {
          const e = a.errors[i];
          if (e) g.reject(Object.assign(new Error(e.message), e.code ? { code: e.code } : {}));
          else g.resolve();
        });
      },
      (err: Error) => {
        for (const g of group) g.reject(err);
      },
    );
  };
  return {
    run(ops) {
      if (given.length === 0) queueMicrotask(send);
      return new Promise<void>((resolve, reject) => given.push({ ops, resolve, reject }));
    },
    drained() {
      // what was given in this stretch is sent first (its microtask was queued before this one)
      return new Promise<void>((resolve) => queueMicrotask(() => void last.then(resolve)));
    },
    close: () => client.close(),
  };
}
