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

/** `<root>/trash`: dirs of removed containers, deleted in the background (and by the start-up sweep). */
export const TRASH_DIR = 'trash';

export function containerPaths(root: string, execRoot: string, id: string): ContainerPaths {
  const dir = path.join(root, 'containers', checkId(id, 'container'));
  return {
    dir,
    upper: path.join(dir, 'fs', 'upper'),
    work: path.join(dir, 'fs', 'work'),
    rootfs: path.join(dir, 'fs', 'rootfs'),
    hosts: path.join(dir, 'hosts'),
    hostname: path.join(dir, 'hostname'),
    resolvConf: path.join(dir, 'resolv.conf'),
    log: path.join(dir, 'container.log'),
    // unix socket paths are limited to 108 bytes: keep the bundle path short
    bundle: path.join(execRoot, 'c', id.slice(0, 16)),
  };
}

export function execBundle(execRoot: string, execId: string): string {
  return path.join(execRoot, 'x', checkId(execId, 'exec').slice(0, 16));
}
