/**
 * The thread of ./file-thread.ts: runs each batch of file operations synchronously, in order,
 * and answers `{ id }`, or `{ id, error }` at the first failure (the rest of that batch is not run).
 */
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { FileBatch, FileBatchAnswer, FileOp } from './file-thread.js';

function apply(o: FileOp): void {
  switch (o.op) {
    case 'mkdir':
      fs.mkdirSync(o.path, { mode: o.mode, recursive: o.recursive === true });
      return;
    case 'write': {
      const fd = fs.openSync(o.path, 'w', o.mode);
      try {
        if (o.data.length) fs.writeFileSync(fd, o.data);
        if (o.fsync) fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      return;
    }
  }
}

const port = parentPort;
if (port) {
  port.on('message', (b: FileBatch) => {
    try {
      for (const o of b.ops) apply(o);
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
