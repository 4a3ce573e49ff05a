/**
 * A directory fd of a container's root filesystem as its processes see it, for `cp` and
 * `/archive`: a running container's root is `/proc/<pid>/root` (its overlay and its mounts); a
 * stopped one's overlay is mounted by a helper process in a mount namespace of its own
 * (`unshare -m`) and reached through `/proc/<helper>/root`, so the mount vanishes with the helper
 * (also when the daemon dies) and the host's mount table never sees it. The caller holds the
 * container's lock while the view is open: a start meanwhile would find its upper dir in use.
 */
import fs from 'node:fs';
import { TsnetError } from '../../errors/index.js';
import { O_DIRECTORY, O_PATH } from '../../kernel/openat2.js';
import { mountOverlayPrivately } from '../../kernel/private-mount.js';
import type { ContainerPaths } from './paths.js';
import type { ContainerRecord } from './types.js';

export interface RootfsView {
  /** O_PATH fd of the container's `/`. */
  fd: number;
  /**
   * A stopped container's bind or volume, mounted at `target` (a container path without symlinks
   * that exists: see ContainerFs.real / mkdirAll); nothing to do for a running container.
   */
  bind(source: string, target: string, readOnly: boolean): Promise<void>;
  close(): Promise<void>;
}

/** What a container mounts besides its rootfs (binds; volumes where the daemon has them). */
export interface ViewMount {
  source: string;
  target: string;
  readOnly: boolean;
}

export async function openRootfsView(rec: ContainerRecord, p: ContainerPaths, lowerDirs: string[]): Promise<RootfsView> {
  if (rec.state.Status === 'running' && rec.state.Pid > 0) {
    const fd = openDir(`/proc/${rec.state.Pid}/root`, rec);
    return { fd, bind: async () => {}, close: async () => fs.closeSync(fd) };
  }
  checkOverlayPaths(rec, lowerDirs, [p.upper, p.work]);
  return mountedView(rec, p, `lowerdir=${lowerDirs.join(':')},upperdir=${p.upper},workdir=${p.work}`);
}

/** Overlay options have no quoting: no lower dir may hold `,` `:` or a backslash, no upper or work dir `,` or a backslash. */
function checkOverlayPaths(rec: ContainerRecord, lowers: string[], others: string[]): void {
  if (lowers.some((d) => /[,:\\]/.test(d)) || others.some((d) => /[,\\]/.test(d)))
    throw new TsnetError('TSNET_INTERNAL', `cannot mount the rootfs of ${rec.id.slice(0, 12)}: a layer path holds , : or \\`);
}

/** An overlay with `options`, mounted privately at the container's rootfs path, as a view. */
async function mountedView(rec: ContainerRecord, p: ContainerPaths, options: string): Promise<RootfsView> {
  const mount = await mountOverlayPrivately(options, p.rootfs);
  try {
    const fd = openDir(`/proc/${mount.pid}/root${p.rootfs}`, rec);
    return {
      fd,
      bind: (source, target, readOnly) => mount.bind(source, target, readOnly),
      close: async () => {
        fs.closeSync(fd);
        await mount.close();
      },
    };
  } catch (err) {
    await mount.close();
    throw err;
  }
}

/**
 * The container's files without anything mounted on them, for `export`: its upper dir and its
 * image layers as one read-only overlay (the upper dir as the top lower layer, so its whiteouts
 * and opaque dirs apply), mounted privately as a stopped container's view is. Works while the
 * container runs: only an upper or work dir cannot be shared between overlays.
 */
export async function openFlatView(rec: ContainerRecord, p: ContainerPaths, lowerDirs: string[]): Promise<RootfsView> {
  const layers = [p.upper, ...lowerDirs];
  checkOverlayPaths(rec, layers, []);
  return mountedView(rec, p, `ro,lowerdir=${layers.join(':')}`);
}

function openDir(dir: string, rec: ContainerRecord): number {
  try {
    return fs.openSync(dir, O_PATH | O_DIRECTORY);
  } catch (err) {
    throw new TsnetError(
      'TSNET_CONTAINER_NOT_RUNNING',
      `cannot reach the filesystem of container ${rec.id.slice(0, 12)}: ${(err as NodeJS.ErrnoException).code}`,
    );
  }
}
