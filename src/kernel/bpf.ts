/**
 * bpf(2) through koffi, for cgroup device programs only: load a BPF_PROG_TYPE_CGROUP_DEVICE
 * program once and attach it to cgroup2 dirs (BPF_CGROUP_DEVICE, exclusive: no other program
 * can be added to the dir or override it below). Plain values in (instructions, paths, fds),
 * errno-carrying TsnetErrors out; synchronous, any thread.
 */
import fs from 'node:fs';
import koffi from 'koffi';
import { bpfCaller, bpfFailure, bpfProgramLoader } from './bpf-load.js';

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
  const loadProgram = bpfProgramLoader(lib);
  const call = bpfCaller(lib);
  return {
    load: (insns) =>
      loadProgram('load device program', {
        type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insns,
        license: 'Apache-2.0',
        name: 'tsnet_devices',
        expectedAttachType: BPF_CGROUP_DEVICE,
      }),
    attach(dir, progFd) {
      const dirFd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
      try {
        const attr = Buffer.alloc(20); // target_fd, attach_bpf_fd, attach_type, attach_flags, replace_bpf_fd
        attr.writeUInt32LE(dirFd, 0);
        attr.writeUInt32LE(progFd, 4);
        attr.writeUInt32LE(BPF_CGROUP_DEVICE, 8);
        if (call(BPF_PROG_ATTACH, attr) < 0) throw bpfFailure(`attach device program to ${dir}`);
      } finally {
        fs.closeSync(dirFd);
      }
    },
    close: (fd) => fs.closeSync(fd),
  };
}
