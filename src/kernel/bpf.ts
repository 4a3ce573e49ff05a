/**
 * bpf(2) through koffi, for cgroup device programs only: load a BPF_PROG_TYPE_CGROUP_DEVICE
 * program once and attach it to cgroup2 dirs (BPF_CGROUP_DEVICE, exclusive: no other program
 * can be added to the dir or override it below). Plain values in (instructions, paths, fds),
 * errno-carrying TsnetErrors out; synchronous, any thread.
 */
import fs from 'node:fs';
import koffi from 'koffi';
import { TsnetError } from '../errors/index.js';
import { errnoName } from './errno.js';

const SYS_BPF = 321; // x86_64
const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
const BPF_CGROUP_DEVICE = 6;

export interface DevicePrograms {
  /**
   * Load a BPF_PROG_TYPE_CGROUP_DEVICE program (raw `struct bpf_insn[]`, host byte order) and
   * return its fd (close-on-exec). A refusal of the verifier names its last log line.
   */
  load(insns: Buffer): number;
  /** Attach the program `progFd` to the cgroup2 dir `dir` (BPF_CGROUP_DEVICE, no flags). */
  attach(dir: string, progFd: number): void;
  close(fd: number): void;
}

export function loadDevicePrograms(): DevicePrograms {
  const lib = koffi.load('libc.so.6');
  // union bpf_attr's BPF_PROG_LOAD part up to expected_attach_type (the kernel takes a shorter attr)
  const LoadAttr = koffi.struct({
    prog_type: 'uint32_t',
    insn_cnt: 'uint32_t',
    insns: 'const void *',
    license: 'const char *',
    log_level: 'uint32_t',
    log_size: 'uint32_t',
    log_buf: 'void *',
    kern_version: 'uint32_t',
    prog_flags: 'uint32_t',
    prog_name: koffi.array('char', 16),
    prog_ifindex: 'uint32_t',
    expected_attach_type: 'uint32_t',
  });
  // (an anonymous struct type: a named one could be declared once per process)
  const load = lib.func('syscall', 'long', ['long', 'int', koffi.pointer(LoadAttr), 'unsigned int']) as (
    nr: number,
    cmd: number,
    attr: Record<string, unknown>,
    size: number,
  ) => number;
  const call = lib.func('long syscall(long nr, int cmd, void *attr, unsigned int size)') as (
    nr: number,
    cmd: number,
    attr: Buffer,
    size: number,
  ) => number;
  const loadSize = koffi.sizeof(LoadAttr);
  const loadWith = (insns: Buffer, log: Buffer | null) =>
    load(
      SYS_BPF,
      BPF_PROG_LOAD,
      {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: insns.length / 8,
        insns,
        license: 'Apache-2.0',
        log_level: log ? 1 : 0,
        log_size: log ? log.length : 0,
        log_buf: log,
        kern_version: 0,
        prog_flags: 0,
        prog_name: 'tsnet_devices',
        prog_ifindex: 0,
        expected_attach_type: BPF_CGROUP_DEVICE,
      },
      loadSize,
    );
  const fail = (what: string, errno: number, extra = ''): never => {
    const name = errnoName(errno);
    throw new TsnetError('TSNET_KERNEL', `${what}: ${name}${extra}`, { details: { errno: name } });
  };
  return {
    load(insns) {
      if (insns.length === 0 || insns.length % 8) fail('load device program', 22);
      const fd = loadWith(insns, null);
      if (fd >= 0) return fd;
      const errno = koffi.errno() as number;
      // again only for the verifier's explanation (a log costs time)
      const log = Buffer.alloc(65536);
      const again = loadWith(insns, log);
      if (again >= 0) return again;
      // the verifier's last word before its statistics line ("processed N insns …")
      const lines = log.toString('utf8', 0, Math.max(0, log.indexOf(0))).split('\n');
      const why = lines.filter((l) => l.trim() && !l.startsWith('processed ')).pop();
      return fail('load device program', errno, why ? `: ${why.trim()}` : '');
    },
    attach(dir, progFd) {
      const dirFd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
      try {
        const attr = Buffer.alloc(20); // target_fd, attach_bpf_fd, attach_type, attach_flags, replace_bpf_fd
        attr.writeUInt32LE(dirFd, 0);
        attr.writeUInt32LE(progFd, 4);
        attr.writeUInt32LE(BPF_CGROUP_DEVICE, 8);
        if (call(SYS_BPF, BPF_PROG_ATTACH, attr, attr.length) < 0)
          fail(`attach device program to ${dir}`, koffi.errno() as number);
      } finally {
        fs.closeSync(dirFd);
      }
    },
    close: (fd) => fs.closeSync(fd),
  };
}
