/**
 * The device allow-list as a BPF_PROG_TYPE_CGROUP_DEVICE program (eBPF, host byte order), which
 * tsnet-init attaches to the container's cgroup2 directory. Pure.
 *
 * The program reads struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
 * (access_type = access << 16 | type; type 1 block, 2 char; access 1 mknod, 2 read, 4 write)
 * and returns 1 (allow) when any rule matches, else 0 — the same result as the v1 devices
 * cgroup after `a` is denied and each rule is allowed.
 */
import type { DeviceRule } from './rules.js';

import { AND64_K, encodeInsns, EXIT, JNE_K, LDX_W, MOV64_K, MOV64_X, RSH64_K, type Insn } from '../../kernel/bpf-insn.js';

const TYPE = { b: 1, c: 2 } as const;
const ACCESS = { m: 1, r: 2, w: 4 } as const;

export function deviceProgram(rules: readonly DeviceRule[]): Buffer {
  const ins: Insn[] = [];
  ins.push([LDX_W, 2, 1, 0, 0]); // r2 = access_type
  ins.push([AND64_K, 2, 0, 0, 0xffff]); // r2 = type
  ins.push([LDX_W, 3, 1, 0, 0]);
  ins.push([RSH64_K, 3, 0, 0, 16]); // r3 = access
  ins.push([LDX_W, 4, 1, 4, 0]); // r4 = major
  ins.push([LDX_W, 5, 1, 8, 0]); // r5 = minor
  for (const r of rules) {
    const block: Array<[number, number, number, number | 'next', number]> = [];
    if (r.type !== 'a') block.push([JNE_K, 2, 0, 'next', TYPE[r.type]]);
    const allowed = [...r.access].reduce((m, ch) => m | ACCESS[ch as keyof typeof ACCESS], 0);
    if (r.type !== 'a' && allowed !== 7) {
      block.push([MOV64_X, 1, 3, 0, 0]);
      block.push([AND64_K, 1, 0, 0, ~allowed & 7]);
      block.push([JNE_K, 1, 0, 'next', 0]); // asks for an access the rule does not give
    }
    if (r.type !== 'a' && r.major !== null) block.push([JNE_K, 4, 0, 'next', r.major]);
    if (r.type !== 'a' && r.minor !== null) block.push([JNE_K, 5, 0, 'next', r.minor]);
    block.push([MOV64_K, 0, 0, 0, 1]);
    block.push([EXIT, 0, 0, 0, 0]);
    // 'next' = the first instruction after this block
    block.forEach((b, i) => {
      ins.push([b[0], b[1], b[2], b[3] === 'next' ? block.length - i - 1 : b[3], b[4]]);
    });
  }
  ins.push([MOV64_K, 0, 0, 0, 0]);
  ins.push([EXIT, 0, 0, 0, 0]);
  return encodeInsns(ins);
}
