/**
 * A network's rules in raw (before conntrack), one address family: the direct-access guard and
 * the notrack of bridged traffic inside one subnet. Pure.
 *
 *   TSNET-RAW-PREROUTING: -d <subnet> -g TSNET-N-<net12>            (per subnet)
 *   TSNET-N-<net12> (raw):
 *     ! -i <bridge> -g TSNET-RAW-GUARD                               the guard (base-chains.ts:
 *                                                                    -m addrtype ! --dst-type LOCAL -j DROP)
 *     -d <kept address> -j RETURN                                    [untracked] per kept address
 *     -s <subnet> [-d <subnet>] -j CT --notrack                      [untracked] per subnet
 *
 * The guard: a packet addressed to a container of the network arrives on its bridge; from
 * anywhere else (the LAN routing to the subnet, another bridge) it is dropped before it makes
 * connection state, as Docker 28+ does with one `-d <container> ! -i <bridge> -j DROP` per
 * endpoint. The host's own addresses in the subnet (the gateway) stay reachable (`addrtype
 * LOCAL`), so other bridges and the LAN still reach the host there. Published ports are
 * unaffected: their packets carry a host address until nat PREROUTING. The host's own traffic to
 * containers leaves through OUTPUT, not PREROUTING.
 *
 * The notrack (FirewallNetwork.hostAddresses given, validate.ts `untracked`): bridged traffic
 * between two addresses of one subnet skips conntrack — it needs no NAT, and icc in filter is
 * decided by the interface alone — except what the host itself receives (its addresses on the
 * bridge, a subnet's network and broadcast address: the admin's INPUT rules may need their
 * state). Published ports stay tracked (their destination is a host address until DNAT), and
 * so does the hairpin (a container → a host address → DNAT → a container: MASQUERADEd).
 *
 * Why this shape (decision 49): the entry matches the destination alone, so a packet to no
 * container address (a published port, a reply to the LAN, a container's egress) pays one
 * address compare per network and loads no interface name — iptables-nft compares `-i` first in
 * every rule that has one, copying the 16-byte name each time. A packet to a container enters
 * its network's chain by `-g` (goto): the chain's end, or a RETURN, goes back to raw PREROUTING
 * past the other networks' entries, which only match other subnets (IPAM refuses overlaps), so a
 * container ↔ container packet loads the interface name twice whatever the number of networks.
 * Before, every network cost every packet a guard and a jump rule, both comparing `-i` first.
 * The guard is a goto into the shared TSNET-RAW-GUARD (decision 53): a packet from the bridge
 * loads the interface name once here (before: a DROP rule and a RETURN rule, each loading it),
 * and a packet from elsewhere ends the network's chain there, as the RETURN did. The notrack's
 * `-d <subnet>` is left out when the network has one subnet of the family: the entry already
 * matched it (with several, a packet between two of them is routed by the host and stays tracked).
 * No rule here ACCEPTs: the admin's own raw rules after tsnet's jump in PREROUTING still see
 * every packet. No comments: the chain names the owner (save-parse.ts ownerOf), and a comment is
 * an xt match in iptables-nft.
 */
import type { Family } from '../addr.js';
import { hostCidr } from '../addr.js';
import { CHAIN, networkChain } from './names.js';
import { makeGoto, makeRule, type OwnedChain, type Rule } from './rule.js';
import { subnetsOf, untracked, type NormalizedNetwork } from '../validate.js';

export function rawPlan(n: NormalizedNetwork, family: Family): { chain: OwnedChain; entries: Rule[] } | undefined {
  const subnets = subnetsOf(n, family);
  if (subnets.length === 0) return undefined;
  const own = networkChain(n.id);
  const br = n.bridge;
  const rule = (match: string[], target: string[]): Rule => makeRule('raw', own, match, undefined, target);
  const rules = [makeGoto('raw', own, ['!', '-i', br], CHAIN.rawGuard)];
  const skip = untracked(n, family);
  if (skip) {
    for (const ip of skip.keep) rules.push(rule(['-d', hostCidr(ip)], ['RETURN']));
    const implied = subnets.length === 1;
    for (const s of skip.subnets) rules.push(rule(['-s', s.text, ...(implied ? [] : ['-d', s.text])], ['CT', '--notrack']));
  }
  return {
    chain: { table: 'raw', name: own, rules },
    entries: subnets.map((s) => makeGoto('raw', CHAIN.rawPrerouting, ['-d', s.text], own)),
  };
}
