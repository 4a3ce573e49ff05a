/**
 * The direct-access guard of one network in one family (raw, before conntrack). Pure.
 *
 *   TSNET-RAW-PREROUTING: -d <subnet> ! -i <bridge> -m addrtype ! --dst-type LOCAL -j DROP
 *
 * A packet addressed to a container of the network arrives on its bridge; from anywhere else
 * (the LAN routing to the subnet, another bridge) it is dropped before it makes connection
 * state, as Docker 28+ does with one `-d <container> ! -i <bridge> -j DROP` per endpoint. One
 * rule per subnet instead of one per endpoint: a packet pays one rule per network, not one per
 * container, and publishing or unpublishing ports never touches raw. The host's own addresses in
 * the subnet (the gateway) stay reachable (`addrtype LOCAL`, an xt match in iptables-nft 1.8.9,
 * reached only by packets the two native compares before it let through), so other bridges and the LAN still reach the host there. Published ports
 * are unaffected: their packets carry a host address until nat PREROUTING. The host's own
 * traffic to containers leaves through OUTPUT, not PREROUTING.
 */
import type { Family } from '../addr.js';
import { CHAIN, networkComment } from './names.js';
import { makeRule, type Rule } from './rule.js';
import { subnetsOf, type NormalizedNetwork } from '../validate.js';

export function guardRules(n: NormalizedNetwork, family: Family): Rule[] {
  return subnetsOf(n, family).map((s) =>
    makeRule(
      'raw',
      CHAIN.rawPrerouting,
      ['-d', s.text, '!', '-i', n.bridge, '-m', 'addrtype', '!', '--dst-type', 'LOCAL'],
      networkComment(n.id),
      ['DROP'],
    ),
  );
}
