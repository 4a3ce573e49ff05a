/**
 * An overlay mounted where only one helper process sees it: `unshare --mount` with private
 * propagation runs a shell that mounts, says `ready`, takes bind-mount commands on its stdin
 * (three lines each: `bind`|`ro`, source, target below the overlay; answered `ok`|`fail`) until
 * `done` or EOF, unmounts everything and exits. The mount is reached through `/proc/<pid>/root<target>` and vanishes with the
 * helper (also when the daemon dies); the host's mount table never sees it. Plain values in
 * (mount options, a target directory), a pid and a close function out.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { TsnetError } from '../errors/index.js';

const MOUNT_SCRIPT = [
  'mount -t overlay overlay -o "$1" "$2" || exit 1',
  'echo ready',
  'while read -r cmd && [ "$cmd" != done ]; do',
  '  read -r src; read -r dst',
  '  if mount --bind -- "$src" "$2$dst" && { [ "$cmd" != ro ] || mount -o remount,bind,ro -- "$2$dst"; }; then echo ok; else echo fail; fi',
  'done',
  'umount -R "$2"',
].join('\n');

export interface PrivateMount {
  /** The helper's pid: the mount is at `/proc/<pid>/root<target>`. */
  pid: number;
  /**
   * Bind-mount `source` at `target` below the overlay (a path the caller made, without symlinks:
   * the helper's shell resolves it). Paths hold no newline.
   */
  bind(source: string, target: string, readOnly: boolean): Promise<void>;
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
  const answers: Array<(ok: boolean) => void> = [];
  child.stdout!.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n').filter(Boolean)) answers.shift()?.(line === 'ok');
  });
  return {
    pid: child.pid!,
    bind: (source, dst, readOnly) => {
      if (/\n/.test(source + dst))
        return Promise.reject(new TsnetError('TSNET_INVALID_ARGUMENT', `a newline in ${JSON.stringify(source)}`));
      return new Promise<void>((resolve, reject) => {
        answers.push((ok) =>
          ok ? resolve() : reject(new TsnetError('TSNET_KERNEL', `bind-mount ${source} on ${target}${dst} privately failed`)),
        );
        child.stdin!.write(`${readOnly ? 'ro' : 'bind'}\n${source}\n${dst}\n`);
      });
    },
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
