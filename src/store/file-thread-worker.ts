/**
 * The thread of ./file-thread.ts: runs each batch of file operations synchronously, in order,
 * and answers `{ id }`, or `{ id, error }` at the first failure (the rest of that batch is not run).
 */
import { parentPort } from 'node:worker_threads';
import { applyFileOp } from './file-ops.js';
import type { FileBatch, FileBatchAnswer } from './file-thread.js';

const port = parentPort;
if (port) {
  port.on('message', (b: FileBatch) => {
    try {
      for (const o of b.ops) applyFileOp(o);
      port.postMessage({ id: b.id } satisfies FileBatchAnswer);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      port.postMessage({
        id: b.id,
        error: { message: e.message, ...(e.code ? { code: e.code } : {}) },
      } satisfies FileBatchAnswer);
    }
  });
}
