/**
 * The peer-redirect program: a tc (tcx) ingress program for the host end of a veth that is a
 * bridge port. An IPv4 frame whose destination address is in the map and whose destination MAC
 * is the one the map gives for that address goes straight to the peer of the veth the map names
 * (bpf_redirect_peer: into the other namespace's end, without the bridge, netfilter's bridge
 * hooks and a second pass through the backlog); anything else goes on to the bridge
 * (TCX_NEXT). eBPF, host byte order; the map's fd is in the instructions. Pure.
 *
 * Map: key = the IPv4 address (4 bytes, network order, as in the packet); value = 12 bytes:
 * the host end's ifindex (u32, host order), the MAC (6 bytes), 2 bytes of padding.
 */

import {
  ADD64_K,
  CALL,
  encodeInsns,
  EXIT,
  JEQ_K,
  JGT_X,
  JNE_K,
  JNE_X,
  LD_DW_IMM,
  LDX_H,
  LDX_W,
  MOV64_K,
  MOV64_X,
  STX_W,
} from './bpf-insn.js';

const PSEUDO_MAP_FD = 1;
const FUNC_MAP_LOOKUP_ELEM = 1;
const FUNC_REDIRECT_PEER = 155;
const TCX_NEXT = -1;

// struct __sk_buff
const SKB_DATA = 76;
const SKB_DATA_END = 80;

export const PEER_KEY_SIZE = 4;
export const PEER_VALUE_SIZE = 12;

type Insn = [code: number, dst: number, src: number, off: number | 'pass', imm: number];

export function peerRedirectProgram(mapFd: number): Buffer {
  const ins: Insn[] = [
    [MOV64_X, 6, 1, 0, 0], // r6 = skb
    [LDX_W, 2, 6, SKB_DATA, 0],
    [LDX_W, 3, 6, SKB_DATA_END, 0],
    [MOV64_X, 4, 2, 0, 0],
    [ADD64_K, 4, 0, 0, 34], // Ethernet + the IPv4 header's first 20 bytes
    [JGT_X, 4, 3, 'pass', 0],
    [LDX_H, 5, 2, 12, 0], // EtherType
    [JNE_K, 5, 0, 'pass', 0x0008], // 0x0800 read as a little-endian u16
    [LDX_W, 5, 2, 30, 0], // the destination address
    [STX_W, 10, 5, -4, 0],
    [LD_DW_IMM, 1, PSEUDO_MAP_FD, 0, mapFd],
    [0, 0, 0, 0, 0],
    [MOV64_X, 2, 10, 0, 0],
    [ADD64_K, 2, 0, 0, -4],
    [CALL, 0, 0, 0, FUNC_MAP_LOOKUP_ELEM],
    [JEQ_K, 0, 0, 'pass', 0],
    // the call ends what the verifier knows of the packet: its bounds are checked again
    [LDX_W, 2, 6, SKB_DATA, 0],
    [LDX_W, 3, 6, SKB_DATA_END, 0],
    [MOV64_X, 4, 2, 0, 0],
    [ADD64_K, 4, 0, 0, 14],
    [JGT_X, 4, 3, 'pass', 0],
    [LDX_W, 4, 2, 0, 0], // destination MAC, bytes 0-3
    [LDX_W, 5, 0, 4, 0],
    [JNE_X, 4, 5, 'pass', 0],
    [LDX_H, 4, 2, 4, 0], // bytes 4-5
    [LDX_H, 5, 0, 8, 0],
    [JNE_X, 4, 5, 'pass', 0],
    [LDX_W, 1, 0, 0, 0], // the host end's ifindex
    [MOV64_K, 2, 0, 0, 0],
    [CALL, 0, 0, 0, FUNC_REDIRECT_PEER], // TC_ACT_REDIRECT, or TC_ACT_SHOT for a bad index
    [EXIT, 0, 0, 0, 0],
  ];
  const pass = ins.length;
  ins.push([MOV64_K, 0, 0, 0, TCX_NEXT], [EXIT, 0, 0, 0, 0]);
  return encodeInsns(ins.map(([code, dst, src, off, imm], i) => [code, dst, src, off === 'pass' ? pass - i - 1 : off, imm]));
}

/** A map entry's key and value for an address, the host end's ifindex and the peer's MAC. */
export function peerEntry(ipv4: string, ifindex: number, mac: string): { key: Buffer; value: Buffer } {
  const key = Buffer.from(ipv4.split('.').map(Number));
  const value = Buffer.alloc(PEER_VALUE_SIZE);
  value.writeUInt32LE(ifindex, 0);
  Buffer.from(mac.split(':').map((h) => Number.parseInt(h, 16))).copy(value, 4);
  return { key, value };
}
