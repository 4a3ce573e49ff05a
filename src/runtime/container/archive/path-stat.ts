/**
 * Docker's `X-Docker-Container-Path-Stat` header: base64 of `{name, size, mode, mtime,
 * linkTarget}`, where mode is a Go os.FileMode (permission bits plus Go's own type bits).
 */
import type fs from 'node:fs';

const GO = {
  dir: 2 ** 31,
  symlink: 2 ** 27,
  device: 2 ** 26,
  namedPipe: 2 ** 25,
  socket: 2 ** 24,
  setuid: 2 ** 23,
  setgid: 2 ** 22,
  charDevice: 2 ** 21,
  sticky: 2 ** 20,
};

export function goFileMode(st: fs.Stats): number {
  let m = st.mode & 0o777;
  if (st.mode & 0o4000) m += GO.setuid;
  if (st.mode & 0o2000) m += GO.setgid;
  if (st.mode & 0o1000) m += GO.sticky;
  if (st.isDirectory()) m += GO.dir;
  else if (st.isSymbolicLink()) m += GO.symlink;
  else if (st.isFIFO()) m += GO.namedPipe;
  else if (st.isSocket()) m += GO.socket;
  else if (st.isCharacterDevice()) m += GO.device + GO.charDevice;
  else if (st.isBlockDevice()) m += GO.device;
  return m;
}

export interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

export function pathStat(name: string, st: fs.Stats, linkTarget: string): PathStat {
  return { name, size: st.size, mode: goFileMode(st), mtime: st.mtime.toISOString(), linkTarget };
}

export function statHeader(stat: PathStat): string {
  return Buffer.from(JSON.stringify(stat)).toString('base64');
}
