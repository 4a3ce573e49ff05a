import path from 'node:path';
import { checkId } from '../../store/record-store.js';

/** Where a container's files live: persistent ones under --root, runtime ones under --exec-root. */
export interface ContainerPaths {
  dir: string;
  upper: string;
  work: string;
  rootfs: string;
  hosts: string;
  hostname: string;
  resolvConf: string;
  log: string;
  bundle: string;
}

/** `<root>/container-pool`: container dirs made ahead (dir-pool.ts). */
export const DIR_POOL_DIR = 'container-pool';

/** `<root>/trash`: dirs of removed containers, deleted in the background (and by the start-up sweep). */
export const TRASH_DIR = 'trash';

/** The files of a container dir (its --root part), wherever the dir is (dir-pool.ts makes them ahead). */
export type DirLayout = Omit<ContainerPaths, 'bundle'>;

export function dirLayout(dir: string): DirLayout {
  return {
    dir,
    upper: path.join(dir, 'fs', 'upper'),
    work: path.join(dir, 'fs', 'work'),
    rootfs: path.join(dir, 'fs', 'rootfs'),
    hosts: path.join(dir, 'hosts'),
    hostname: path.join(dir, 'hostname'),
    resolvConf: path.join(dir, 'resolv.conf'),
    log: path.join(dir, 'container.log'),
  };
}

export function containerPaths(root: string, execRoot: string, id: string): ContainerPaths {
  return {
    ...dirLayout(path.join(root, 'containers', checkId(id, 'container'))),
    // unix socket paths are limited to 108 bytes: keep the bundle path short
    bundle: path.join(execRoot, 'c', id.slice(0, 16)),
  };
}

export function execBundle(execRoot: string, execId: string): string {
  return path.join(execRoot, 'x', checkId(execId, 'exec').slice(0, 16));
}
