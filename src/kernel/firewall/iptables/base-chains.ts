/**
 * tsnet's fixed chains and the jumps into them from the built-in chains (created by init()).
 * Pure.
 *
 *   filter FORWARD ─1─▶ TSNET-USER    (admin's rules; created once, never flushed)
 *                 ─2─▶ TSNET-BRIDGE  (-o br → TSNET-N-<net>, per network)
 *                 ─3─▶ TSNET-EGRESS  (-i br → ACCEPT | DROP, per network)
 *   nat PREROUTING  (dst-type LOCAL)              ─▶ TSNET-DNAT (→ TSNET-EP-<ep>, per endpoint)
 *   nat OUTPUT      (dst-type LOCAL; v6: ! -d ::1) ─▶ TSNET-DNAT
 *   nat POSTROUTING                               ─▶ TSNET-POSTROUTING (per network NAT)
 *   raw PREROUTING (first, v4: -d 127.0.0.0/8)    ─▶ TSNET-LOOPBACK (-d 127.0.0.0/8 ! -i lo -j DROP)
 *   raw PREROUTING (first after it)               ─▶ TSNET-RAW-PREROUTING (-d subnet -g TSNET-N-<net>)
 *   raw TSNET-RAW-GUARD (no jump: each network's raw chain enters it by goto, raw-rules.ts)
 *                                                 -m addrtype ! --dst-type LOCAL -j DROP
 *
 * FORWARD jumps to TSNET-BRIDGE and TSNET-EGRESS itself (decision 53): a forwarded packet
 * passes one jump fewer than through the static TSNET-FORWARD of older versions, which `init`
 * deletes with its jump (names.ts LEGACY_CHAINS).
 *
 * The jumps carry no comment: the chain they jump to names them (save-parse.ts ownerOf), and
 * iptables-nft keeps a comment as an xt match, an indirect call for every packet that reaches the
 * rule — for an unconditional jump, every forwarded packet (docs/architecture.md, "Data path
 * throughput"). The loopback guard's jump matches the destination first, so other packets pass
 * it after one compare instead of entering and leaving the chain.
 *
 * The loopback guard: the bridge driver sets route_localnet=1 on every bridge (published ports
 * on 127.0.0.1 need it), which also lets a packet to 127.0.0.0/8 arriving on a bridge reach
 * sockets bound to the host's loopback (CVE-2020-8558). Docker and kube-proxy drop such packets
 * the same way. The host's own traffic to 127.0.0.1 never passes PREROUTING (it goes through
 * OUTPUT), so published ports on 127.0.0.1 keep working. IPv6 has no route_localnet: the kernel
 * already drops ::1 from the wire.
 */
import type { Family } from '../addr.js';
import { BASE_COMMENT, CHAIN, type Table } from './names.js';
import { makeRule, type Rule } from './rule.js';

/**
 * user: exists, content never touched. static: content fixed here, rewritten when it differs.
 * shared: holds rules of many networks/endpoints, each added and deleted one by one.
 */
export type BaseChainKind = 'user' | 'static' | 'shared';

export interface BaseChain {
  table: Table;
  name: string;
  kind: BaseChainKind;
  /** Content of a static chain. */
  rules: Rule[];
}

/** Where a jump goes in its built-in chain. */
export type JumpPosition = { at: 'append' } | { at: 'first' } | { at: 'after'; chain: string };

export interface BaseJump {
  rule: Rule;
  position: JumpPosition;
}

export interface BaseLayout {
  chains: BaseChain[];
  jumps: BaseJump[];
}

export function baseLayout(family: Family): BaseLayout {
  const c = BASE_COMMENT;
  const jump = (table: Table, chain: string, match: string[], to: string): Rule => makeRule(table, chain, match, undefined, [to]);
  const loopback = family === 4 ? [] : ['!', '-d', '::1/128'];
  const guard: BaseChain[] =
    family === 4
      ? [
          {
            table: 'raw',
            name: CHAIN.loopbackGuard,
            kind: 'static',
            rules: [makeRule('raw', CHAIN.loopbackGuard, ['-d', '127.0.0.0/8', '!', '-i', 'lo'], c, ['DROP'])],
          },
        ]
      : [];
  const guardJump: BaseJump[] =
    family === 4
      ? [{ rule: jump('raw', 'PREROUTING', ['-d', '127.0.0.0/8'], CHAIN.loopbackGuard), position: { at: 'first' } }]
      : [];
  return {
    chains: [
      { table: 'filter', name: CHAIN.user, kind: 'user', rules: [] },
      { table: 'filter', name: CHAIN.bridge, kind: 'shared', rules: [] },
      { table: 'filter', name: CHAIN.egress, kind: 'shared', rules: [] },
      { table: 'nat', name: CHAIN.dnat, kind: 'shared', rules: [] },
      { table: 'nat', name: CHAIN.postrouting, kind: 'shared', rules: [] },
      { table: 'raw', name: CHAIN.rawPrerouting, kind: 'shared', rules: [] },
      {
        table: 'raw',
        name: CHAIN.rawGuard,
        kind: 'static',
        rules: [makeRule('raw', CHAIN.rawGuard, ['-m', 'addrtype', '!', '--dst-type', 'LOCAL'], undefined, ['DROP'])],
      },
      ...guard,
    ],
    jumps: [
      { rule: jump('filter', 'FORWARD', [], CHAIN.user), position: { at: 'first' } },
      { rule: jump('filter', 'FORWARD', [], CHAIN.bridge), position: { at: 'after', chain: CHAIN.user } },
      { rule: jump('filter', 'FORWARD', [], CHAIN.egress), position: { at: 'after', chain: CHAIN.bridge } },
      { rule: jump('nat', 'PREROUTING', ['-m', 'addrtype', '--dst-type', 'LOCAL'], CHAIN.dnat), position: { at: 'append' } },
      // No proxy in tsnet: loopback DNAT works through route_localnet on the bridge (IPv4 only;
      // IPv6 has no route_localnet, so ::1 is excluded as Docker does).
      {
        rule: jump('nat', 'OUTPUT', [...loopback, '-m', 'addrtype', '--dst-type', 'LOCAL'], CHAIN.dnat),
        position: { at: 'append' },
      },
      { rule: jump('nat', 'POSTROUTING', [], CHAIN.postrouting), position: { at: 'append' } },
      // First: the chain only DROPs, so going first cannot bypass anyone's rules, and an earlier
      // ACCEPT in raw (which ends the table) cannot bypass the guard.
      ...guardJump,
      {
        rule: jump('raw', 'PREROUTING', [], CHAIN.rawPrerouting),
        position: family === 4 ? { at: 'after', chain: CHAIN.loopbackGuard } : { at: 'first' },
      },
    ],
  };
}
