/**
 * An overlay mounted where only one helper process sees it: `unshare --mount` with private
 * propagation runs a shell that mounts, says `ready`, waits for a line on its stdin, unmounts
 * and exits. The mount is reached through `/proc/<pid>/root<target>` and vanishes with the
 * helper (also when the daemon dies); the host's mount table never sees it. Plain values in
 * (mount options, a target directory), a pid and a close function out.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { TsnetError } from '../errors/index.js';

const MOUNT_SCRIPT = 'mount -t overlay overlay -o "$1" "$2" || exit 1; echo ready; read _; umount "$2"';

export interface PrivateMount {
  /** The helper's pid: the mount is at `/proc/<pid>/root<target>`. */
  pid: number;
  /** Unmount (the helper exits). */
  close(): Promise<void>;
}

export async function mountOverlayPrivately(options: string, target: string): Promise<PrivateMount> {
  const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', MOUNT_SCRIPT, 'sh', options, target], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stopped = new Promise<void>((resolve) => child.once('close', () => resolve()));
  try {
    await ready(child);
  } catch (err) {
    child.kill('SIGKILL');
    await stopped;
    throw err;
  }
  return {
    pid: child.pid!,
    close: async () => {
      child.stdin?.end('done\n');
      await stopped;
    },
  };
}

function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) resolve();
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.once('error', (e) => reject(new TsnetError('TSNET_INTERNAL', `mount an overlay privately: ${e.message}`)));
    child.once('close', (code) =>
      reject(new TsnetError('TSNET_INTERNAL', `mount an overlay privately: ${err.trim() || `exit ${code}`}`)),
    );
  });
}
