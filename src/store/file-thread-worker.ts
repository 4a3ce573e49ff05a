/**
 * The thread of ./file-thread.ts: runs each batch of file operations synchronously, in order,
 * and answers `{ id, errors }`: per batch null, or its first failure (the rest of that batch is
 * not run; the next batch is).
 */
import { parentPort } from 'node:worker_threads';
import { applyFileOp, type FileOp } from './file-ops.js';
import type { FileBatches, FileBatchesAnswer, FileError } from './file-thread.js';

function runBatch(ops: FileOp[]): FileError | null {
  try {
    for (const o of ops) applyFileOp(o);
    return null;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { message: e.message, ...(e.code ? { code: e.code } : {}) };
  }
}

const port = parentPort;
if (port) {
  port.on('message', (m: FileBatches) => {
    port.postMessage({ id: m.id, errors: m.batches.map(runBatch) } satisfies FileBatchesAnswer);
  });
}
