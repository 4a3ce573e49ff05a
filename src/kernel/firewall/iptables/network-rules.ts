/**
 * Network-level rules for one address family. Pure.
 *
 * filter, per network (owned chain TSNET-N-<net12>, entered for traffic INTO the bridge):
 *   [icc on] -i br -j ACCEPT                               container ↔ container, first: the
 *                                                          bridged fast path (untracked, see raw)
 *   -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT   replies                (not internal)
 *   -m conntrack --ctstate DNAT -j ACCEPT                  published ports        (not internal)
 *   [v6, icc off] -i br -p ipv6-icmp --icmpv6-type 135/136 -j ACCEPT  (neighbour discovery)
 *   [icc off] -i br -j DROP                                icc
 *   -j DROP                                                anything else: other bridges (isolation),
 *                                                          the outside, unpublished ports
 * (All of a chain's ACCEPTs before its DROPs: with icc on, the order of the three ACCEPTs changes
 * nothing but how many rules a packet walks.)
 *
 * raw, per network (raw-rules.ts): TSNET-RAW-PREROUTING `-d <subnet> -g TSNET-N-<net12>`, and in
 * the network's raw chain the direct-access guard and, when the host's bridge addresses are
 * given (FirewallNetwork.hostAddresses), the notrack of bridged traffic inside one subnet — it
 * needs no NAT, and icc above is decided by the interface alone.
 * filter shared: TSNET-BRIDGE `-o br -j TSNET-N-<net12>`, TSNET-EGRESS `-i br -j ACCEPT` (DROP
 * when internal).
 *
 * Comments: only on the rules of shared chains whose target does not name the network (TSNET-EGRESS,
 * nat). The rules of the network's own chains, and the jumps into them, carry none: the chain
 * names the owner (save-parse.ts ownerOf), and iptables-nft keeps `-m comment` as an xt match,
 * an indirect call for every packet that reaches the rule's comment — on the bridged fast path
 * (a packet between two containers of one bridge walks the raw entry and chain and the filter
 * jump and accept of its network) that was four calls per packet. Isolation between tsnet bridges falls out of the final DROP of the destination
 * bridge's chain, so adding a network is O(1) (no stage-1/stage-2 matrix, as in Docker 29).
 * Published ports are accepted by conntrack's DNAT state instead of one ACCEPT per port: only
 * tsnet's DNAT rules (or the admin's own) produce that state for a container address, and a
 * packet sent straight to the container address is not DNATed, so it still hits the DROP.
 *
 * nat TSNET-POSTROUTING, per subnet (not internal):
 *   -s <subnet> ! -o br -j MASQUERADE (SNAT --to-source with hostBindingIpv4)  if masquerade
 *   -s <subnet> -o br -m conntrack --ctstate DNAT -j MASQUERADE   hairpin: a container reaching a
 *        published port of its own bridge through a host address (itself included) gets the
 *        reply from the host address, whether or not br_netfilter sees the bridged reply
 *   [v4] -s 127.0.0.0/8 -o br -m conntrack --ctstate DNAT -j MASQUERADE   host → 127.0.0.1:port
 *        (needs route_localnet=1 on the bridge, which the bridge driver sets)
 */
import type { Family } from '../addr.js';
import { CHAIN, networkChain, networkComment } from './names.js';
import { emptyPlan, makeRule, type OwnedChain, type Plan, type Rule } from './rule.js';
import { subnetsOf, type NormalizedNetwork } from '../validate.js';
import { rawPlan } from './raw-rules.js';

export function networkPlan(n: NormalizedNetwork, family: Family): Plan {
  const subnets = subnetsOf(n, family);
  if (subnets.length === 0) return emptyPlan();
  const c = networkComment(n.id);
  const br = n.bridge;
  const own = networkChain(n.id);

  const chainRules: Rule[] = [];
  const add = (match: string[], target: string[]): void => {
    chainRules.push(makeRule('filter', own, match, undefined, target));
  };
  if (n.icc) add(['-i', br], ['ACCEPT']);
  if (!n.internal) {
    add(['-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED'], ['ACCEPT']);
    add(['-m', 'conntrack', '--ctstate', 'DNAT'], ['ACCEPT']);
  }
  if (family === 6 && !n.icc) {
    for (const type of ['135', '136']) add(['-i', br, '-p', 'ipv6-icmp', '-m', 'icmp6', '--icmpv6-type', type], ['ACCEPT']);
  }
  if (!n.icc) add(['-i', br], ['DROP']);
  add([], ['DROP']);
  const chains: OwnedChain[] = [{ table: 'filter', name: own, rules: chainRules }];

  const shared: Rule[] = [
    makeRule('filter', CHAIN.bridge, ['-o', br], undefined, [own]),
    makeRule('filter', CHAIN.egress, ['-i', br], c, [n.internal ? 'DROP' : 'ACCEPT']),
  ];

  const raw = rawPlan(n, family);
  if (raw) {
    chains.push(raw.chain);
    shared.push(...raw.entries);
  }

  if (!n.internal) {
    const nat = (match: string[], target: string[]): void => {
      shared.push(makeRule('nat', CHAIN.postrouting, match, c, target));
    };
    const masq = n.masquerade && (family === 4 || n.masqueradeIpv6);
    for (const s of subnets) {
      if (masq) {
        nat(
          ['-s', s.text, '!', '-o', br],
          family === 4 && n.snatIpv4 !== undefined ? ['SNAT', '--to-source', n.snatIpv4] : ['MASQUERADE'],
        );
      }
      nat(['-s', s.text, '-o', br, '-m', 'conntrack', '--ctstate', 'DNAT'], ['MASQUERADE']);
    }
    if (family === 4) nat(['-s', '127.0.0.0/8', '-o', br, '-m', 'conntrack', '--ctstate', 'DNAT'], ['MASQUERADE']);
  }

  return { chains, rules: shared };
}
