/**
 * The peer-redirect program: a tc ingress program (direct-action cls_bpf) for the host end of a
 * veth that is a bridge port. An untagged IPv4 or IPv6 frame whose destination address is in the
 * map and whose destination MAC is the one the map gives for that address goes straight to the
 * peer of the veth the map names (bpf_redirect_peer: into the other namespace's end, without the
 * bridge, netfilter's bridge hooks and a second pass through the backlog); anything else goes
 * on to the bridge (-1: no verdict): a frame that came VLAN-tagged (the kernel takes the outer
 * tag off before tc, so the program reads skb->vlan_present), an IPv6 frame to an IPv4-mapped
 * address (::ffff:a.b.c.d has the shape of an IPv4 entry's key; decision 61), one too short
 * for the headers read. eBPF, host byte order; the map's fd is in the instructions. Pure.
 *
 * Map: key = 16 bytes, the destination address as in the packet (IPv4 as ::ffff:a.b.c.d);
 * value = 12 bytes: the host end's ifindex (u32, host order), the MAC (6 bytes), 2 of padding.
 */
import {
  ADD64_K,
  CALL,
  encodeInsns,
  EXIT,
  JA,
  JEQ_K,
  JGT_X,
  JNE_K,
  JNE_X,
  LD_DW_IMM,
  LDX_H,
  LDX_W,
  MOV64_K,
  MOV64_X,
  STX_DW,
  STX_W,
} from './bpf-insn.js';
import { macToBuffer, parseIp } from './netlink/encode.js';

const PSEUDO_MAP_FD = 1;
const FUNC_MAP_LOOKUP_ELEM = 1;
const FUNC_REDIRECT_PEER = 155;
const NO_VERDICT = -1; // TC_ACT_UNSPEC: the next filter, then the bridge

// struct __sk_buff
const SKB_VLAN_PRESENT = 20;
const SKB_DATA = 76;
const SKB_DATA_END = 80;

export const PEER_KEY_SIZE = 16;
export const PEER_VALUE_SIZE = 12;

type Target = 'pass' | 'v4' | 'v6' | 'lookup';
type Insn = [code: number, dst: number, src: number, off: number | Target, imm: number];

export function peerRedirectProgram(mapFd: number): Buffer {
  const labels: Partial<Record<Target, number>> = {};
  const ins: Insn[] = [];
  const label = (t: Target) => {
    labels[t] = ins.length;
  };
  ins.push(
    [MOV64_X, 6, 1, 0, 0], // r6 = skb
    [LDX_W, 5, 6, SKB_VLAN_PRESENT, 0], // a tag the kernel took off: the bridge's
    [JNE_K, 5, 0, 'pass', 0],
    [LDX_W, 2, 6, SKB_DATA, 0],
    [LDX_W, 3, 6, SKB_DATA_END, 0],
    [MOV64_X, 4, 2, 0, 0],
    [ADD64_K, 4, 0, 0, 14],
    [JGT_X, 4, 3, 'pass', 0],
    [LDX_H, 5, 2, 12, 0], // EtherType, read as a little-endian u16
    [JEQ_K, 5, 0, 'v4', 0x0008], // 0x0800
    [JNE_K, 5, 0, 'pass', 0xdd86], // 0x86dd
    // IPv6: the destination address (bytes 38–53) is the key
    [MOV64_X, 4, 2, 0, 0],
    [ADD64_K, 4, 0, 0, 54],
    [JGT_X, 4, 3, 'pass', 0],
    // ::ffff:a.b.c.d is an IPv4 entry's key, not an IPv6 endpoint's: the bridge's
    [LDX_H, 5, 2, 48, 0],
    [JNE_K, 5, 0, 'v6', 0xffff],
    [LDX_H, 5, 2, 46, 0],
    [JNE_K, 5, 0, 'v6', 0],
    [LDX_W, 5, 2, 42, 0],
    [JNE_K, 5, 0, 'v6', 0],
    [LDX_W, 5, 2, 38, 0],
    [JEQ_K, 5, 0, 'pass', 0],
  );
  label('v6');
  for (let i = 0; i < 4; i++) ins.push([LDX_W, 5, 2, 38 + 4 * i, 0], [STX_W, 10, 5, -16 + 4 * i, 0]);
  ins.push([JA, 0, 0, 'lookup', 0]);
  label('v4');
  ins.push(
    [MOV64_X, 4, 2, 0, 0],
    [ADD64_K, 4, 0, 0, 34], // Ethernet + the IPv4 header's first 20 bytes
    [JGT_X, 4, 3, 'pass', 0],
    [MOV64_K, 5, 0, 0, 0],
    [STX_DW, 10, 5, -16, 0], // ::ffff:a.b.c.d
    [MOV64_K, 5, 0, 0, 0xffff0000],
    [STX_W, 10, 5, -8, 0],
    [LDX_W, 5, 2, 30, 0], // the destination address
    [STX_W, 10, 5, -4, 0],
  );
  label('lookup');
  ins.push(
    [LD_DW_IMM, 1, PSEUDO_MAP_FD, 0, mapFd],
    [0, 0, 0, 0, 0],
    [MOV64_X, 2, 10, 0, 0],
    [ADD64_K, 2, 0, 0, -16],
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
  );
  label('pass');
  ins.push([MOV64_K, 0, 0, 0, NO_VERDICT], [EXIT, 0, 0, 0, 0]);
  return encodeInsns(
    ins.map(([code, dst, src, off, imm], i) => [code, dst, src, typeof off === 'number' ? off : labels[off]! - i - 1, imm]),
  );
}

/** A map key: the address as in the packet, IPv4 as ::ffff:a.b.c.d. */
export function peerKey(ip: string): Buffer {
  const addr = parseIp(ip);
  const key = Buffer.alloc(PEER_KEY_SIZE);
  if (addr.family === 4) {
    key.writeUInt16BE(0xffff, 10);
    addr.bytes.copy(key, 12);
  } else addr.bytes.copy(key);
  return key;
}

/** A map entry's key and value for an address (IPv4 or IPv6), the host end's ifindex and the peer's MAC. */
export function peerEntry(ip: string, ifindex: number, mac: string): { key: Buffer; value: Buffer } {
  const key = peerKey(ip);
  const value = Buffer.alloc(PEER_VALUE_SIZE);
  value.writeUInt32LE(ifindex, 0);
  macToBuffer(mac).copy(value, 4);
  return { key, value };
}
