/**
 * tc over rtnetlink, for one thing: a BPF program (direct-action cls_bpf) on a link's ingress,
 * under a clsact qdisc, and its removal. Request bytes written with ./wire.ts's AttrWriter.
 */
import type { NetlinkConn } from './conn.js';
import { isErrno } from './errors.js';
import { AttrWriter } from './wire.js';

const RTM_NEWQDISC = 36;
const RTM_NEWTFILTER = 44;
const RTM_DELTFILTER = 45;
const NLM_F_REPLACE = 0x100;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;

const TCA_KIND = 1;
const TCA_OPTIONS = 2;
const TCA_BPF_FD = 6;
const TCA_BPF_NAME = 7;
const TCA_BPF_FLAGS = 8;
const TCA_BPF_FLAG_ACT_DIRECT = 1;

const TC_H_CLSACT = 0xfffffff1;
const TC_H_CLSACT_HANDLE = 0xffff0000;
const TC_H_INGRESS_PARENT = 0xfffffff2; // TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)
const ETH_P_ALL_BE = 0x0300; // htons(ETH_P_ALL)
const PRIO = 1;
const HANDLE = 1;

/** struct tcmsg: family, pad, ifindex, handle, parent, info. */
function tcmsg(ifindex: number, handle: number, parent: number, info: number): Buffer {
  const b = Buffer.alloc(20);
  b.writeInt32LE(ifindex, 4);
  b.writeUInt32LE(handle >>> 0, 8);
  b.writeUInt32LE(parent >>> 0, 12);
  b.writeUInt32LE(info >>> 0, 16);
  return b;
}

/**
 * The program `progFd` as the one ingress filter of link `ifindex` (prio 1, handle 1): the
 * clsact qdisc is added when missing, a filter already there is replaced.
 */
export async function attachIngressBpf(c: NetlinkConn, ifindex: number, progFd: number, name: string): Promise<void> {
  const qdisc = new AttrWriter(64)
    .raw(tcmsg(ifindex, TC_H_CLSACT_HANDLE, TC_H_CLSACT, 0))
    .str(TCA_KIND, 'clsact')
    .done();
  try {
    await c.send(`add clsact qdisc to link #${ifindex}`, RTM_NEWQDISC, qdisc, NLM_F_CREATE | NLM_F_EXCL);
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) throw err;
  }
  const filter = new AttrWriter(128)
    .raw(tcmsg(ifindex, HANDLE, TC_H_INGRESS_PARENT, (PRIO << 16) | ETH_P_ALL_BE))
    .str(TCA_KIND, 'bpf')
    .nest(TCA_OPTIONS, (w) => w.u32(TCA_BPF_FD, progFd).str(TCA_BPF_NAME, name).u32(TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT))
    .done();
  await c.send(`add bpf filter ${name} to link #${ifindex}`, RTM_NEWTFILTER, filter, NLM_F_CREATE | NLM_F_REPLACE);
}

/** The ingress filter attachIngressBpf puts (prio 1, handle 1) goes; none there (or no clsact): nothing to do. */
export async function detachIngressBpf(c: NetlinkConn, ifindex: number): Promise<void> {
  const filter = new AttrWriter(64)
    .raw(tcmsg(ifindex, HANDLE, TC_H_INGRESS_PARENT, (PRIO << 16) | ETH_P_ALL_BE))
    .str(TCA_KIND, 'bpf')
    .done();
  try {
    await c.send(`remove bpf filter from link #${ifindex}`, RTM_DELTFILTER, filter, 0);
  } catch (err) {
    if (!isErrno(err, 'ENOENT') && !isErrno(err, 'EINVAL')) throw err;
  }
}
