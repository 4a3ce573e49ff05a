/**
 * The thread of ./netns-maker.ts: makes network namespaces (bind-mounted at a file, lo up) on
 * its own thread, so the kernel's wait in unshare(CLONE_NEWNET) (the net mutex that the cleanup
 * of removed namespaces holds) never blocks the daemon's main thread. unshare and setns act on
 * the calling thread only; this thread goes back to its first namespace after each one.
 *
 * Messages in: `{ id, file }`; out: `{ id }` when `file` is a netns with lo up, `{ id, error }`
 * when not (then nothing is left at `file`).
 */
import { parentPort } from 'node:worker_threads';
import { loadLibc } from './libc.js';
import { Netlink } from './netlink/index.js';
import { createSyncNetlinkOpener } from './netlink/sync-socket.js';
import { createNetnsOps } from './netns.js';

export interface MakeRequest {
  id: number;
  file: string;
}

export interface MakeAnswer {
  id: number;
  error?: string;
}

const port = parentPort;
if (port) {
  const netns = createNetnsOps(loadLibc());
  const opener = createSyncNetlinkOpener();
  port.on('message', (m: MakeRequest) => {
    void make(m.file).then(
      () => port.postMessage({ id: m.id } satisfies MakeAnswer),
      (err: Error) => port.postMessage({ id: m.id, error: err.message } satisfies MakeAnswer),
    );
  });

  async function make(file: string): Promise<void> {
    netns.create(file);
    try {
      const nl = netns.run(file, () => Netlink.openSync(opener));
      try {
        await nl.setUp('lo');
      } finally {
        nl.close();
      }
    } catch (err) {
      netns.remove(file);
      throw err;
    }
  }
}
