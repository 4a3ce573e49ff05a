/** eBPF opcodes tsnet's hand-written programs use, and their encoding (struct bpf_insn, host byte order). Pure. */

export const LDX_W = 0x61; // BPF_LDX | BPF_MEM | BPF_W
export const LDX_H = 0x69; // BPF_LDX | BPF_MEM | BPF_H
export const STX_W = 0x63; // BPF_STX | BPF_MEM | BPF_W
export const STX_DW = 0x7b; // BPF_STX | BPF_MEM | BPF_DW
export const MOV64_X = 0xbf;
export const MOV64_K = 0xb7;
export const ADD64_K = 0x07;
export const AND64_K = 0x57;
export const RSH64_K = 0x77;
export const JGT_X = 0x2d;
export const JNE_K = 0x55;
export const JNE_X = 0x5d;
export const JEQ_K = 0x15;
export const JA = 0x05;
export const LD_DW_IMM = 0x18; // two slots
export const CALL = 0x85;
export const EXIT = 0x95;

export type Insn = [code: number, dst: number, src: number, off: number, imm: number];

export function encodeInsns(ins: readonly Insn[]): Buffer {
  const buf = Buffer.alloc(ins.length * 8);
  ins.forEach(([code, dst, src, off, imm], i) => {
    buf.writeUInt8(code, i * 8);
    buf.writeUInt8(dst | (src << 4), i * 8 + 1);
    buf.writeInt16LE(off, i * 8 + 2);
    buf.writeInt32LE(imm | 0, i * 8 + 4);
  });
  return buf;
}
