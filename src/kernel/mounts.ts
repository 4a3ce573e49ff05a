/**
 * Host mounts the daemon makes itself: tmpfs for local volumes of type tmpfs, and a private
 * read-only overlay (inside a throwaway mount namespace of `unshare`) to copy an image's
 * content into a new volume. Plain values only; knows nothing of containers or volumes.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Whether `dir` is a mount point (listed in /proc/self/mountinfo). */
export function isMountPoint(dir: string): boolean {
  const escaped = dir.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === escaped);
}

export async function mountTmpfs(dir: string, options: string): Promise<void> {
  try {
    await run('mount', ['-t', 'tmpfs', ...(options ? ['-o', options] : []), 'tmpfs', dir], { env: { PATH } });
  } catch (err) {
    throw new Error(`mount tmpfs on ${dir}: ${((err as { stderr?: string }).stderr || (err as Error).message).trim()}`);
  }
}

export async function unmount(dir: string): Promise<void> {
  try {
    await run('umount', [dir], { env: { PATH } });
  } catch {
    await run('umount', ['-l', dir], { env: { PATH } }).catch(() => undefined);
  }
}

/**
 * Copy what `rel` holds in the union of `lowerDirs` (overlayfs order: top first) into `dest`,
 * keeping owners, modes and links (`cp -a`). The overlay is mounted read-only in a private
 * mount namespace that dies with the copy, so nothing is left mounted on the host. The caller
 * makes sure no layer has a symlink on the way to `rel` (it would be followed on the host).
 */
export async function copyFromLayers(lowerDirs: string[], rel: string, scratch: string, dest: string): Promise<void> {
  const script =
    lowerDirs.length === 1
      ? 'src="$1/$3"; [ -d "$src" ] || exit 0; cp -a "$src/." "$4/"'
      : 'mount -t overlay -o "ro,lowerdir=$1" overlay "$2" || exit 1; src="$2/$3"; [ -d "$src" ] || exit 0; cp -a "$src/." "$4/"';
  const first = lowerDirs.length === 1 ? lowerDirs[0]! : lowerDirs.join(':');
  try {
    await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'copy-up', first, scratch, rel, dest], {
      env: { PATH },
    });
  } catch (err) {
    throw new Error(
      `copy ${rel} of the image into ${dest}: ${((err as { stderr?: string }).stderr || (err as Error).message).trim()}`,
    );
  }
}
