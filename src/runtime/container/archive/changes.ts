/**
 * `GET /containers/{id}/changes`: the container's upper dir against its image layers, as
 * Docker's overlay driver reports them — Kind 0 modified (the path exists in the image), 1 added,
 * 2 deleted (an overlayfs whiteout: a 0/0 character device). The upper dir is written by the
 * container while it is read, so it is walked through pinned dir fds without following anything,
 * and each image layer is asked through RESOLVE_IN_ROOT.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type InRoot, O_DIRECTORY, O_PATH } from '../../../kernel/openat2.js';

export interface Change {
  Path: string;
  Kind: 0 | 1 | 2;
}

/** Mount points tsnet-init makes in every container (Docker keeps them in its init layer). */
const MOUNT_POINTS = new Set(['/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/dev', '/proc', '/sys']);

/** An upper-dir entry that is only the placeholder of such a mount point (`p` from the root: `/etc/hosts`). */
export function isMountPlaceholder(p: string, st: fs.Stats): boolean {
  return MOUNT_POINTS.has(p) && (st.isDirectory() || st.size === 0);
}

export function containerChanges(inRoot: InRoot, upper: string, lowerDirs: string[]): Change[] {
  const out: Change[] = [];
  const lowers = lowerDirs.map((d) => fs.openSync(d, O_PATH | O_DIRECTORY));
  const inImage = (p: string): boolean =>
    lowers.some((fd) => {
      try {
        fs.closeSync(inRoot.open(fd, p, O_PATH | fs.constants.O_NOFOLLOW));
        return true;
      } catch {
        return false;
      }
    });
  /** Appends the changes under `dir`; returns how many it found. */
  const walk = (dirFd: number, dir: string, parentAdded: boolean): number => {
    const before = out.length;
    for (const name of fs.readdirSync(`/proc/self/fd/${dirFd}`).sort()) {
      const at = `/proc/self/fd/${dirFd}/${name}`;
      const p = path.posix.join(dir, name);
      let st: fs.Stats;
      try {
        st = fs.lstatSync(at);
      } catch {
        continue;
      }
      if (st.isCharacterDevice() && st.rdev === 0) {
        out.push({ Path: p, Kind: 2 });
        continue;
      }
      if (isMountPlaceholder(p, st)) continue;
      const existed = !parentAdded && inImage(p);
      const at0 = out.length;
      if (st.isDirectory()) {
        let fd: number;
        try {
          fd = fs.openSync(at, fs.constants.O_RDONLY | O_DIRECTORY | fs.constants.O_NOFOLLOW);
        } catch {
          continue;
        }
        let found = 0;
        try {
          found = walk(fd, p, !existed);
        } finally {
          fs.closeSync(fd);
        }
        // a directory of the image is copied up for what changed inside it: shown only then
        if (existed && found === 0) continue;
      }
      out.splice(at0, 0, { Path: p, Kind: existed ? 0 : 1 });
    }
    return out.length - before;
  };
  const top = fs.openSync(upper, fs.constants.O_RDONLY | O_DIRECTORY | fs.constants.O_NOFOLLOW);
  try {
    walk(top, '/', false);
  } finally {
    fs.closeSync(top);
    for (const fd of lowers) fs.closeSync(fd);
  }
  return out;
}
