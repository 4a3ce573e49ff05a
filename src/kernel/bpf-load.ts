/**
 * BPF_PROG_LOAD through koffi, shared by the device programs (./bpf.ts) and the peer-redirect
 * program (./peer-redirect.ts): raw `struct bpf_insn[]` in, the program's fd (close-on-exec) out;
 * a refusal of the verifier is one TsnetError naming the verifier's last line. Synchronous.
 */
import koffi from 'koffi';
import { TsnetError } from '../errors/index.js';
import { errnoName } from './errno.js';

const SYS_BPF = 321; // x86_64
const BPF_PROG_LOAD = 5;

export interface ProgramSpec {
  type: number;
  insns: Buffer;
  license: string;
  /** ≤ 15 characters (the kernel's prog_name). */
  name: string;
  expectedAttachType?: number;
}

/** A TSNET_KERNEL error for the last failed call (its errno), `what` saying what failed. */
export function bpfFailure(what: string, extra = ''): TsnetError {
  const name = errnoName(koffi.errno() as number);
  return new TsnetError('TSNET_KERNEL', `${what}: ${name}${extra}`, { details: { errno: name } });
}

/** bpf(2) with an attr that holds no pointers (written into a Buffer): its result, < 0 on failure. */
export function bpfCaller(lib: ReturnType<typeof koffi.load>): (cmd: number, attr: Buffer) => number {
  const call = lib.func('long syscall(long nr, int cmd, void *attr, unsigned int size)') as (
    nr: number,
    cmd: number,
    attr: Buffer,
    size: number,
  ) => number;
  return (cmd, attr) => call(SYS_BPF, cmd, attr, attr.length);
}

/**
 * bpf(2) with a koffi struct as its attr (for attrs that hold pointers: koffi passes the Buffers
 * given for them as addresses).
 */
export function bpfStructCaller(
  lib: ReturnType<typeof koffi.load>,
  struct: ReturnType<typeof koffi.struct>,
): (cmd: number, attr: Record<string, unknown>) => number {
  const call = lib.func('syscall', 'long', ['long', 'int', koffi.pointer(struct), 'unsigned int']) as (
    nr: number,
    cmd: number,
    attr: Record<string, unknown>,
    size: number,
  ) => number;
  const size = koffi.sizeof(struct);
  return (cmd, attr) => call(SYS_BPF, cmd, attr, size);
}

export function bpfProgramLoader(lib: ReturnType<typeof koffi.load>): (what: string, spec: ProgramSpec) => number {
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
  const load = bpfStructCaller(lib, LoadAttr);
  const loadWith = (s: ProgramSpec, log: Buffer | null) =>
    load(BPF_PROG_LOAD, {
      prog_type: s.type,
      insn_cnt: s.insns.length / 8,
      insns: s.insns,
      license: s.license,
      log_level: log ? 1 : 0,
      log_size: log ? log.length : 0,
      log_buf: log,
      kern_version: 0,
      prog_flags: 0,
      prog_name: s.name.slice(0, 15),
      prog_ifindex: 0,
      expected_attach_type: s.expectedAttachType ?? 0,
    });
  return (what, spec) => {
    if (spec.insns.length === 0 || spec.insns.length % 8)
      throw new TsnetError('TSNET_KERNEL', `${what}: EINVAL`, { details: { errno: 'EINVAL' } });
    const fd = loadWith(spec, null);
    if (fd >= 0) return fd;
    const first = bpfFailure(what);
    // again only for the verifier's explanation (a log costs time)
    const log = Buffer.alloc(65536);
    const again = loadWith(spec, log);
    if (again >= 0) return again;
    // the verifier's last word before its statistics line ("processed N insns …")
    const lines = log.toString('utf8', 0, Math.max(0, log.indexOf(0))).split('\n');
    const why = lines.filter((l) => l.trim() && !l.startsWith('processed ')).pop();
    throw why ? new TsnetError('TSNET_KERNEL', `${first.message}: ${why.trim()}`, { details: first.details }) : first;
  };
}
