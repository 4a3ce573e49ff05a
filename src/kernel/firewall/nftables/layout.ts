/**
 * tsnet's nftables layout: one table `tsnet` per address family (`ip tsnet`, `ip6 tsnet`),
 * holding everything tsnet programs; nothing outside it is touched. Pure: builds nft batch text.
 *
 *   forward-hook     filter/forward  prio filter: jump user; oifname vmap @fwd-in; iifname vmap @fwd-out
 *   user             the admin's own rules (never flushed by tsnet), as TSNET-USER / DOCKER-USER
 *   prerouting-hook  nat/prerouting  prio dstnat: fib daddr type local jump published
 *   output-hook      nat/output      prio -100:   [v6: ip6 daddr != ::1] fib daddr type local jump published
 *   published        dnat to <daddr . l4proto . dport> map @ports-addr; dnat to <l4proto . dport> map @ports-any
 *   postrouting-hook nat/postrouting prio srcnat: oifname vmap @nat-out; <saddr> vmap @nat-src
 *   raw-prerouting   filter/prerouting prio raw:  [v4] daddr 127.0.0.0/8 iifname != lo drop (loopback guard);
 *                    iifname vmap @local-in (bridged traffic inside one subnet: notrack accept);
 *                    daddr @guard-addr, daddr . iifname != @guard-pair drop (direct-access guard)
 *   net-<net12>      per network, traffic INTO its bridge: [icc on: iifname br accept], established,
 *                    ctstate DNAT, [icc off: iifname br drop], drop
 *   post-<net12>     per network: MASQUERADE/SNAT out, hairpin and 127.0.0.0/8 → bridge MASQUERADE
 *   local-<net12>    per network given its host addresses: daddr <host address | network |
 *                    broadcast> return; saddr <subnet> daddr <subnet> notrack accept (the
 *                    iptables backend's raw TSNET-N-<net12>, see iptables/network-rules.ts for
 *                    why; the accept ends only this table's chain: the guard after the vmap
 *                    would pass such a packet anyway, its address and bridge being a pair)
 *
 * Maps and sets (elements carry the comment `tsnet:<net12>[:<ep12>] <hash>`):
 *   fwd-in   ifname : verdict        bridge → jump net-<net12>
 *   fwd-out  ifname : verdict        bridge → accept | drop (internal)
 *   local-in ifname : verdict        bridge → jump local-<net12>
 *   nat-out  ifname : verdict        bridge → jump post-<net12>
 *   nat-src  addr (interval) : verdict   subnet → jump post-<net12>
 *   ports-any   l4proto . port : addr . port          published on every local address
 *   ports-addr  addr . l4proto . port : addr . port   published on one host address
 *   guard-addr  addr; guard-pair  addr . ifname       container addresses and their bridge
 *
 * A published port is one map element, a container's guard two: adding or removing them costs
 * the same whatever else is programmed (no rule handles, no listing on the hot path), and the
 * packet path is one hash lookup instead of a chain walk. Every rule carries the comment
 * `<owner> <hash of its text>` so reconcile can compare the kernel with what is expected.
 */
import crypto from 'node:crypto';
import type { Family } from '../addr.js';
import type { NormalizedNetwork, NormalizedPorts } from '../validate.js';
import { subnetsOf, untracked } from '../validate.js';

export const TABLE = 'tsnet';
export const USER_CHAIN = 'user';
export const FORWARD_CHAIN = 'forward-hook';
export const RAW_CHAIN = 'raw-prerouting';
export const LOOPBACK_LABEL = 'loopback-guard';

export const MAPS = ['fwd-in', 'fwd-out', 'nat-out', 'nat-src', 'ports-any', 'ports-addr', 'local-in'] as const;
export const SETS = ['guard-addr', 'guard-pair'] as const;
export type SetName = (typeof MAPS)[number] | (typeof SETS)[number];

export interface Fam {
  family: Family;
  /** nft family name. */
  nfam: 'ip' | 'ip6';
  /** Payload protocol for addresses (`ip daddr`, `ip6 daddr`). */
  p: 'ip' | 'ip6';
  addrType: 'ipv4_addr' | 'ipv6_addr';
}

export function fam(family: Family): Fam {
  return family === 4
    ? { family, nfam: 'ip', p: 'ip', addrType: 'ipv4_addr' }
    : { family, nfam: 'ip6', p: 'ip6', addrType: 'ipv6_addr' };
}

export const tableRef = (f: Fam): string => `${f.nfam} ${TABLE}`;
export const networkChain = (net12: string): string => `net-${net12}`;
export const postChain = (net12: string): string => `post-${net12}`;
export const localChain = (net12: string): string => `local-${net12}`;
export const isOwnedChain = (name: string): boolean => /^(net|post|local)-/.test(name);

export function hash(text: string): string {
  return crypto.createHash('sha1').update(text).digest('hex').slice(0, 8);
}

/** A rule: chain, body (nft syntax without the comment) and owner label. */
export interface NftRule {
  chain: string;
  body: string;
  owner: string;
}

export const ruleComment = (r: NftRule): string => `${r.owner} ${hash(r.body)}`;

export function addRule(f: Fam, r: NftRule): string {
  return `add rule ${tableRef(f)} ${r.chain} ${r.body} comment "${ruleComment(r)}"`;
}

/** An element of a map or set: key and (maps) value in nft syntax. */
export interface NftElement {
  set: SetName;
  key: string;
  value?: string;
  owner: string;
}

export const elementComment = (e: NftElement): string => `${e.owner} ${hash(`${e.key} : ${e.value ?? ''}`)}`;

export function addElement(f: Fam, e: NftElement): string {
  const v = e.value === undefined ? '' : ` : ${e.value}`;
  return `add element ${tableRef(f)} ${e.set} { ${e.key} comment "${elementComment(e)}"${v} }`;
}

export function deleteElement(f: Fam, e: { set: SetName; key: string }): string {
  return `delete element ${tableRef(f)} ${e.set} { ${e.key} }`;
}

/** Chains whose content is fixed here (rewritten by init). */
export function staticRules(f: Fam): NftRule[] {
  const o = 'tsnet';
  const r = (chain: string, body: string, owner = o): NftRule => ({ chain, body, owner });
  const notLoopback = f.family === 6 ? 'ip6 daddr != ::1 ' : '';
  const rules: NftRule[] = [
    r(FORWARD_CHAIN, `jump ${USER_CHAIN}`),
    r(FORWARD_CHAIN, 'oifname vmap @fwd-in'),
    r(FORWARD_CHAIN, 'iifname vmap @fwd-out'),
    r('prerouting-hook', 'fib daddr type local jump published'),
    r('output-hook', `${notLoopback}fib daddr type local jump published`),
    r('published', `dnat to ${f.p} daddr . meta l4proto . th dport map @ports-addr`),
    r('published', 'dnat to meta l4proto . th dport map @ports-any'),
    r('postrouting-hook', 'oifname vmap @nat-out'),
    r('postrouting-hook', `${f.p} saddr vmap @nat-src`),
  ];
  if (f.family === 4) rules.push(r(RAW_CHAIN, 'ip daddr 127.0.0.0/8 iifname != "lo" counter drop', LOOPBACK_LABEL));
  // Bridged traffic inside one subnet first: its local chain ends in `notrack accept`, so such a
  // packet skips the guard's two lookups, which could only let it pass (decision 46).
  rules.push(r(RAW_CHAIN, 'iifname vmap @local-in'));
  rules.push(r(RAW_CHAIN, `${f.p} daddr @guard-addr ${f.p} daddr . iifname != @guard-pair counter drop`));
  return rules;
}

export const STATIC_CHAINS = ['published', FORWARD_CHAIN, 'prerouting-hook', 'output-hook', 'postrouting-hook', RAW_CHAIN];

/**
 * Idempotent: create the table, maps, sets and chains that are missing, and rewrite the static
 * chains. Never touches the user chain, the per-network chains or any element.
 */
export function initBatch(f: Fam): string {
  const t = tableRef(f);
  const a = f.addrType;
  const lines = [
    `add table ${t}`,
    `add map ${t} fwd-in { type ifname : verdict; }`,
    `add map ${t} fwd-out { type ifname : verdict; }`,
    `add map ${t} nat-out { type ifname : verdict; }`,
    `add map ${t} local-in { type ifname : verdict; }`,
    `add map ${t} nat-src { type ${a} : verdict; flags interval; }`,
    `add map ${t} ports-any { type inet_proto . inet_service : ${a} . inet_service; }`,
    `add map ${t} ports-addr { type ${a} . inet_proto . inet_service : ${a} . inet_service; }`,
    `add set ${t} guard-addr { type ${a}; }`,
    `add set ${t} guard-pair { type ${a} . ifname; }`,
    `add chain ${t} ${USER_CHAIN}`,
    `add chain ${t} published`,
    `add chain ${t} ${FORWARD_CHAIN} { type filter hook forward priority filter; policy accept; }`,
    `add chain ${t} prerouting-hook { type nat hook prerouting priority dstnat; policy accept; }`,
    `add chain ${t} output-hook { type nat hook output priority -100; policy accept; }`,
    `add chain ${t} postrouting-hook { type nat hook postrouting priority srcnat; policy accept; }`,
    `add chain ${t} ${RAW_CHAIN} { type filter hook prerouting priority raw; policy accept; }`,
  ];
  for (const c of STATIC_CHAINS) lines.push(`flush chain ${t} ${c}`);
  for (const r of staticRules(f)) lines.push(addRule(f, r));
  return `${lines.join('\n')}\n`;
}

/** What one network or one endpoint owns in one family: whole chains and elements. */
export interface NftPlan {
  chains: Array<{ name: string; rules: NftRule[] }>;
  elements: NftElement[];
}

const q = (ifname: string): string => `"${ifname}"`;

export const networkOwner = (net12: string): string => `tsnet:${net12}`;
export const endpointOwner = (net12: string, ep12: string): string => `tsnet:${net12}:${ep12}`;

export function networkPlan(n: NormalizedNetwork, f: Fam): NftPlan {
  const subnets = subnetsOf(n, f.family);
  if (subnets.length === 0) return { chains: [], elements: [] };
  const owner = networkOwner(n.net12);
  const br = q(n.bridge);
  const own = networkChain(n.net12);
  const post = postChain(n.net12);
  const rules: NftRule[] = [];
  const add = (body: string) => rules.push({ chain: own, body, owner });
  if (n.icc) add(`iifname ${br} accept`);
  if (!n.internal) {
    add('ct state established,related accept');
    add('ct status dnat accept');
  }
  if (f.family === 6 && !n.icc) add(`iifname ${br} icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept`);
  if (!n.icc) add(`iifname ${br} drop`);
  add('drop');
  const plan: NftPlan = {
    chains: [{ name: own, rules }],
    elements: [
      { set: 'fwd-in', key: br, value: `jump ${own}`, owner },
      { set: 'fwd-out', key: br, value: n.internal ? 'drop' : 'accept', owner },
    ],
  };
  if (!n.internal) {
    const postRules: NftRule[] = [];
    const masq = n.masquerade && (f.family === 4 || n.masqueradeIpv6);
    for (const s of subnets) {
      if (masq) {
        const nat = f.family === 4 && n.snatIpv4 !== undefined ? `snat to ${n.snatIpv4}` : 'masquerade';
        postRules.push({ chain: post, body: `${f.p} saddr ${s.text} oifname != ${br} ${nat}`, owner });
      }
      postRules.push({ chain: post, body: `${f.p} saddr ${s.text} oifname ${br} ct status dnat masquerade`, owner });
    }
    if (f.family === 4)
      postRules.push({ chain: post, body: `ip saddr 127.0.0.0/8 oifname ${br} ct status dnat masquerade`, owner });
    plan.chains.push({ name: post, rules: postRules });
    plan.elements.push({ set: 'nat-out', key: br, value: `jump ${post}`, owner });
    for (const s of subnets) plan.elements.push({ set: 'nat-src', key: s.text, value: `jump ${post}`, owner });
  }
  const skip = untracked(n, f.family);
  if (skip) {
    const local = localChain(n.net12);
    plan.chains.push({
      name: local,
      rules: [
        ...skip.keep.map((ip) => ({ chain: local, body: `${f.p} daddr ${ip.text} return`, owner })),
        ...skip.subnets.map((s) => ({
          chain: local,
          body: `${f.p} saddr ${s.text} ${f.p} daddr ${s.text} notrack accept`,
          owner,
        })),
      ],
    });
    plan.elements.push({ set: 'local-in', key: br, value: `jump ${local}`, owner });
  }
  return plan;
}

/** Published ports and the direct-access guard of one endpoint in one family: elements only. */
export function portsElements(p: NormalizedPorts): NftElement[] {
  const owner = endpointOwner(p.net12, p.ep12);
  const cip = p.containerIp.text;
  const out: NftElement[] = [
    { set: 'guard-addr', key: cip, owner },
    { set: 'guard-pair', key: `${cip} . ${q(p.bridge)}`, owner },
  ];
  for (const m of p.mappings) {
    const end = m.hostPortEnd ?? m.hostPort;
    for (let hp = m.hostPort; hp <= end; hp++) {
      const cp = m.containerPortEnd !== undefined ? m.containerPort + (hp - m.hostPort) : m.containerPort;
      const value = `${cip} . ${cp}`;
      if (m.hostIp) out.push({ set: 'ports-addr', key: `${m.hostIp.text} . ${m.proto} . ${hp}`, value, owner });
      else out.push({ set: 'ports-any', key: `${m.proto} . ${hp}`, value, owner });
    }
  }
  return out;
}

/** Add (create-or-replace content of) the plan's chains and its elements. */
export function addPlanLines(f: Fam, plan: NftPlan): string[] {
  const t = tableRef(f);
  const lines: string[] = [];
  for (const c of plan.chains) {
    lines.push(`add chain ${t} ${c.name}`, `flush chain ${t} ${c.name}`);
    for (const r of c.rules) lines.push(addRule(f, r));
  }
  for (const e of plan.elements) lines.push(addElement(f, e));
  return lines;
}

/** Delete the plan's elements and chains; fails (ENOENT) when something is already gone. */
export function deletePlanLines(f: Fam, plan: NftPlan): string[] {
  const t = tableRef(f);
  const lines = plan.elements.map((e) => deleteElement(f, e));
  for (const c of plan.chains) lines.push(`flush chain ${t} ${c.name}`, `delete chain ${t} ${c.name}`);
  return lines;
}
