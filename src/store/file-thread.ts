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
 * its first failure, which rejects with the error's code and message (what ran before stays).
 * The thread starts on first use and does not keep the process alive (unref); a thread that
 * dies fails what it was doing, and the next batch starts a new one.
 */
import { workerClient } from '../lib/worker-module.js';
import type { FileOp } from './file-ops.js';

export type { FileOp } from './file-ops.js';

export interface FileBatch {
  id: number;
  ops: FileOp[];
}

export interface FileBatchAnswer {
  id: number;
  error?: { message: string; code?: string };
}

export interface FileThread {
  run(ops: FileOp[]): Promise<void>;
  /** Stop the thread (what it was doing fails). */
  close(): Promise<void>;
}

export function createFileThread(): FileThread {
  const client = workerClient<Omit<FileBatch, 'id'>, FileBatchAnswer>(import.meta.url, 'file-thread-worker', {
    failure: (why) => new Error(`file thread: ${why}`),
  });
  return {
    async run(ops) {
      const a = await client.send({ ops });
      if (a.error) throw Object.assign(new Error(a.error.message), a.error.code ? { code: a.error.code } : {});
    },
    close: () => client.close(),
  };
}
