/**
 * Who is at the other end of a connected unix socket: getsockopt(SO_PEERCRED) (pid, uid, gid of
 * the process that connected, as the kernel recorded them at connect(2)), and whether a process
 * shares the calling process's mount namespace and root directory (then a path means the same
 * file to both).
 */
import fs from 'node:fs';
import koffi from 'koffi';
import { bindGetsockopt, SOL_SOCKET } from './sockopt.js';

const SO_PEERCRED = 17;

export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

/** The credentials of a unix socket's peer by fd, or undefined when the kernel has none to give. */
export type PeerCredReader = (fd: number) => PeerCred | undefined;

export function createPeerCredReader(): PeerCredReader {
  const lib = koffi.load('libc.so.6');
  const getsockopt = bindGetsockopt(lib);
  return (fd) => {
    const val = Buffer.alloc(12); // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
    const len = Buffer.alloc(4);
    len.writeUInt32LE(12);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, val, len) !== 0 || len.readUInt32LE(0) !== 12) return undefined;
    return { pid: val.readInt32LE(0), uid: val.readUInt32LE(4), gid: val.readUInt32LE(8) };
  };
}

/**
 * True when process `pid` is in this process's mount namespace with the same root directory
 * (false when it cannot be told: the process is gone, or not visible from here).
 */
export function sharesFilesystemView(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    if (fs.readlinkSync(`/proc/${pid}/ns/mnt`) !== fs.readlinkSync('/proc/self/ns/mnt')) return false;
    const theirs = fs.statSync(`/proc/${pid}/root/`);
    const ours = fs.statSync('/proc/self/root/');
    return theirs.dev === ours.dev && theirs.ino === ours.ino;
  } catch {
    return false;
  }
}
