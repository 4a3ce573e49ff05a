/**
 * koffi bindings to the few libc calls tsnet needs in-process. Plain values in, errno-carrying
 * TsnetErrors out. Every call here is synchronous and acts on the calling (main) thread only.
 * The library handle is created by `loadLibc()` and passed around (no module-level state).
 */
import koffi from 'koffi';
import { TsnetError } from '../errors/index.js';
import { errnoName } from './errno.js';
import { callOnPool } from './koffi-async.js';

export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWNET = 0x40000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWCGROUP = 0x02000000;

export const MS_RDONLY = 1;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MS_NOEXEC = 8;
export const MS_REMOUNT = 32;
export const MS_BIND = 4096;
export const MS_MOVE = 8192;
export const MS_REC = 16384;
export const MS_PRIVATE = 1 << 18;
export const MS_SLAVE = 1 << 19;
export const MS_SHARED = 1 << 20;

export const MNT_DETACH = 2;

export interface Libc {
  unshare(flags: number): void;
  setns(fd: number, nstype: number): void;
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  umount2(target: string, flags: number): void;
  /**
   * umount2 on a thread of libuv's pool: an unmount waits for an RCU grace period in the kernel
   * (namespace_unlock), which the calling thread spends blocked. Fails as umount2 does.
   */
  umount2Async(target: string, flags: number): Promise<void>;
  kill(pid: number, sig: number): void;
  gettid(): number;
}

export function loadLibc(): Libc {
  const lib = koffi.load('libc.so.6');
  const unshare = lib.func('int unshare(int flags)');
  const setns = lib.func('int setns(int fd, int nstype)');
  const mount = lib.func(
    'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)',
  );
  const umount2 = lib.func('int umount2(const char *target, int flags)');
  const kill = lib.func('int kill(int pid, int sig)');
  const gettid = lib.func('int gettid()');
  const strerror = lib.func('const char *strerror(int errnum)');

  const check = (rc: number, what: () => string): void => {
    if (rc >= 0) return;
    const errno = koffi.errno() as number;
    const name = errnoName(errno);
    throw new TsnetError('TSNET_SYSCALL', `${what()}: ${name} (${strerror(errno) as string})`, {
      details: { errno: name },
    });
  };

  return {
    unshare: (flags) => check(unshare(flags) as number, () => `unshare(0x${flags.toString(16)})`),
    setns: (fd, nstype) => check(setns(fd, nstype) as number, () => `setns(fd ${fd}, 0x${nstype.toString(16)})`),
    mount: (source, target, fstype, flags, data) =>
      check(mount(source, target, fstype, flags, data) as number, () => `mount ${fstype ?? source ?? ''} on ${target}`),
    umount2: (target, flags) => check(umount2(target, flags) as number, () => `umount ${target}`),
    umount2Async: async (target, flags) => {
      const rc = await callOnPool(umount2, [target, flags])?.catch(() => -1);
      // (errno stays on the pool's thread: a failure is met again here, with its errno; so is
      // a call koffi refuses — too many asynchronous calls at once)
      if (rc === undefined || rc < 0) check(umount2(target, flags) as number, () => `umount ${target}`);
    },
    kill: (pid, sig) => check(kill(pid, sig) as number, () => `kill(${pid}, ${sig})`),
    gettid: () => gettid() as number,
  };
}
