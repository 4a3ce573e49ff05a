/**
 * Compile a resolved seccomp profile to a classic BPF program (struct sock_filter[], host byte
 * order) that tsnet-init installs with seccomp(SECCOMP_SET_MODE_FILTER). Pure.
 *
 * Layout: check the architecture (unknown ones are killed, as libseccomp's default bad-arch
 * action); per architecture a binary search over the syscall number (intervals of equal
 * outcome, so ~9 comparisons instead of a linear scan of ~350); a syscall with argument rules
 * gets a small block that tests each rule's conditions on the 64-bit (or, for 32-bit ABIs, the
 * low 32-bit) argument words and falls back to the default action. Numbers above the highest
 * syscall the profile names answer ENOSYS when the default action is an errno, as runc does, so
 * a libc probing a newer syscall falls back instead of failing with EPERM.
 */
import { TsnetError } from '../../errors/index.js';
import { ARCHES, type ArchRules, type Cond, RET_KILL_PROCESS, type ResolvedProfile, type Rule, retErrno } from './profile.js';

const LD_W_ABS = 0x20;
const JEQ = 0x15;
const JGT = 0x25;
const JGE = 0x35;
const JA = 0x05;
const RET = 0x06;
const AND_K = 0x54;
const OFF_NR = 0;
const OFF_ARCH = 4;
const OFF_ARGS = 16;
const X32_BIT = 0x40000000;
const ENOSYS = 38;
const BPF_MAXINSNS = 4096;

type Label = { pos: number };
interface Ins {
  code: number;
  jt: number | Label;
  jf: number | Label;
  k: number | Label;
}

class Asm {
  readonly out: Ins[] = [];
  label = (): Label => ({ pos: -1 });
  place(l: Label) {
    l.pos = this.out.length;
  }
  ld(off: number) {
    this.out.push({ code: LD_W_ABS, jt: 0, jf: 0, k: off });
  }
  and(k: number) {
    this.out.push({ code: AND_K, jt: 0, jf: 0, k: k >>> 0 });
  }
  jmp(code: number, k: number, jt: number | Label, jf: number | Label) {
    this.out.push({ code, jt, jf, k: k >>> 0 });
  }
  ja(l: Label) {
    this.out.push({ code: JA, jt: 0, jf: 0, k: l });
  }
  ret(k: number) {
    this.out.push({ code: RET, jt: 0, jf: 0, k: k >>> 0 });
  }
  /** Resolve labels; conditional jumps must stay within 255 (blocks are kept small), `ja` may be long. */
  assemble(): Buffer {
    if (this.out.length > BPF_MAXINSNS)
      throw new TsnetError('TSNET_BAD_SECCOMP_PROFILE', `seccomp filter has ${this.out.length} instructions (max 4096)`);
    const buf = Buffer.alloc(this.out.length * 8);
    this.out.forEach((ins, i) => {
      const rel = (t: number | Label, max: number) => {
        if (typeof t === 'number') return t;
        const off = t.pos - (i + 1);
        if (t.pos < 0 || off < 0 || off > max) throw new TsnetError('TSNET_INTERNAL', `seccomp: bad jump at ${i}`);
        return off;
      };
      buf.writeUInt16LE(ins.code, i * 8);
      buf.writeUInt8(rel(ins.jt, 255), i * 8 + 2);
      buf.writeUInt8(rel(ins.jf, 255), i * 8 + 3);
      buf.writeUInt32LE(rel(ins.k, 0xffffffff), i * 8 + 4);
    });
    return buf;
  }
}

function lohi(v: bigint): [lo: number, hi: number] {
  return [Number(v & 0xffffffffn), Number((v >> 32n) & 0xffffffffn)];
}

/** Emit one condition: falls through when it holds, jumps to `fail` when not. */
function emitCond(a: Asm, c: Cond, bits: number, fail: Label) {
  const pass = a.label();
  const lo = OFF_ARGS + 8 * c.index;
  const hi = lo + 4;
  const [vlo, vhi] = lohi(c.value);
  const wide = bits === 64;
  switch (c.op) {
    case 'SCMP_CMP_EQ':
      if (wide) {
        a.ld(hi);
        a.jmp(JEQ, vhi, 0, fail);
      }
      a.ld(lo);
      a.jmp(JEQ, vlo, pass, fail);
      break;
    case 'SCMP_CMP_NE':
      if (wide) {
        a.ld(hi);
        a.jmp(JEQ, vhi, 0, pass);
      }
      a.ld(lo);
      a.jmp(JEQ, vlo, fail, pass);
      break;
    case 'SCMP_CMP_MASKED_EQ': {
      const [wlo, whi] = lohi(c.valueTwo);
      if (wide) {
        a.ld(hi);
        a.and(vhi);
        a.jmp(JEQ, whi, 0, fail);
      }
      a.ld(lo);
      a.and(vlo);
      a.jmp(JEQ, wlo, pass, fail);
      break;
    }
    case 'SCMP_CMP_GT':
    case 'SCMP_CMP_GE':
      if (wide) {
        a.ld(hi);
        a.jmp(JGT, vhi, pass, 0);
        a.jmp(JEQ, vhi, 0, fail);
      }
      a.ld(lo);
      a.jmp(c.op === 'SCMP_CMP_GT' ? JGT : JGE, vlo, pass, fail);
      break;
    case 'SCMP_CMP_LT':
    case 'SCMP_CMP_LE':
      if (wide) {
        a.ld(hi);
        a.jmp(JGE, vhi, 0, pass);
        a.jmp(JGT, vhi, fail, 0);
      }
      a.ld(lo);
      a.jmp(c.op === 'SCMP_CMP_LT' ? JGE : JGT, vlo, fail, pass);
      break;
  }
  a.place(pass);
}

type Leaf = { ret: number } | { rules: Rule[] };
interface Interval {
  start: number;
  leaf: Leaf;
}

function leafFor(rules: Rule[]): Leaf {
  const plain = rules.find((r) => r.conds.length === 0);
  return plain ? { ret: plain.ret } : { rules };
}

/** Intervals over [lo, 2^32) with one outcome each, adjacent equal outcomes merged. */
function intervals(ar: ArchRules, lo: number, defaultRet: number): Interval[] {
  const enosysFrom = (defaultRet & 0xffff0000) === 0x00050000 ? ar.maxNamed + 1 : Number.POSITIVE_INFINITY;
  const gapRet = (n: number) => (n >= enosysFrom ? retErrno(ENOSYS) : defaultRet);
  const out: Interval[] = [];
  const push = (start: number, leaf: Leaf) => {
    const prev = out.at(-1);
    if (prev && 'ret' in prev.leaf && 'ret' in leaf && prev.leaf.ret === leaf.ret) return;
    out.push({ start, leaf });
  };
  const gap = (from: number, to: number) => {
    if (from > to) return;
    push(from, { ret: gapRet(from) });
    if (from < enosysFrom && enosysFrom <= to) push(enosysFrom, { ret: gapRet(enosysFrom) });
  };
  let cur = lo;
  for (const nr of [...ar.rules.keys()].filter((n) => n >= lo).sort((x, y) => x - y)) {
    gap(cur, nr - 1);
    push(nr, leafFor(ar.rules.get(nr)!));
    cur = nr + 1;
  }
  gap(cur, 0xffffffff);
  return out;
}

function emitLeaf(a: Asm, leaf: Leaf, bits: number, defaultRet: number) {
  if ('ret' in leaf) return a.ret(leaf.ret);
  for (const r of leaf.rules) {
    const next = a.label();
    for (const c of r.conds) emitCond(a, c, bits, next);
    a.ret(r.ret);
    a.place(next);
  }
  a.ret(defaultRet);
}

/** Binary search over the intervals; A holds the syscall number on entry. */
function emitTree(a: Asm, iv: Interval[], bits: number, defaultRet: number) {
  if (iv.length === 1) return emitLeaf(a, iv[0]!.leaf, bits, defaultRet);
  const mid = iv.length >> 1;
  const right = a.label();
  a.jmp(JGE, iv[mid]!.start, 0, 1);
  a.ja(right);
  emitTree(a, iv.slice(0, mid), bits, defaultRet);
  a.place(right);
  emitTree(a, iv.slice(mid), bits, defaultRet);
}

export function compileSeccomp(p: ResolvedProfile): Buffer {
  const a = new Asm();
  const by = new Map(p.arches.map((r) => [r.arch, r]));
  const x64 = by.get('SCMP_ARCH_X86_64');
  const x32 = by.get('SCMP_ARCH_X32');
  const i386 = by.get('SCMP_ARCH_X86');
  const l64 = a.label();
  const l32 = a.label();
  a.ld(OFF_ARCH);
  if (x64 || x32) {
    a.jmp(JEQ, ARCHES.SCMP_ARCH_X86_64.audit, 0, 1);
    a.ja(l64);
  }
  if (i386) {
    a.jmp(JEQ, ARCHES.SCMP_ARCH_X86.audit, 0, 1);
    a.ja(l32);
  }
  a.ret(RET_KILL_PROCESS);
  if (x64 || x32) {
    a.place(l64);
    a.ld(OFF_NR);
    const lx32 = a.label();
    a.jmp(JGE, X32_BIT, 0, 1);
    a.ja(lx32);
    if (x64) emitTree(a, intervals(x64, 0, p.defaultRet), 64, p.defaultRet);
    else a.ret(RET_KILL_PROCESS);
    a.place(lx32);
    if (x32) emitTree(a, intervals(x32, X32_BIT, p.defaultRet), 32, p.defaultRet);
    else a.ret(RET_KILL_PROCESS);
  }
  if (i386) {
    a.place(l32);
    a.ld(OFF_NR);
    emitTree(a, intervals(i386, 0, p.defaultRet), 32, p.defaultRet);
  }
  return a.assemble();
}
