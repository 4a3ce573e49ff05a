/**
 * Published ports of one endpoint in one address family. Pure.
 *
 * An endpoint's DNAT rules fill one slot of the pool in nat (slots.ts): TSNET-DNAT jumps into
 * every slot, and a slot holds the rules of at most one endpoint. Adding the ports is "flush the
 * slot, append the rules"; removing them is "flush the slot" — a constant number of restore
 * lines whatever the number of mappings or of other endpoints, and no `-D` by spec (which makes
 * iptables-nft fetch and parse every rule of the chain it deletes from).
 *
 * nat TSNET-S-<k>, per mapping:
 *   [-d hostIp] -p tcp -m tcp --dport 8080 -j DNAT --to-destination cIP:80
 *   ranges map one to one in a single rule: --dport 8000:8010 … --to-destination cIP:80-90/8000
 *   No `! -i <bridge>`: containers reach published ports through host addresses (there is no
 *   userland proxy); the network's hairpin MASQUERADE makes the replies come back right.
 * Nothing in raw per endpoint: the direct-access guard is per network (raw-rules.ts), and a
 * 127.0.0.1 binding is kept from other interfaces by the base loopback guard (TSNET-LOOPBACK).
 * The forward ACCEPT is the network's `--ctstate DNAT` rule (network-rules.ts).
 */
import { hostCidr } from '../addr.js';
import { endpointComment } from './names.js';
import { makeRule, type Plan, type Rule } from './rule.js';
import type { NormalizedMapping, NormalizedPorts } from '../validate.js';

function portMatch(m: NormalizedMapping): string[] {
  const dport = m.hostPortEnd !== undefined ? `${m.hostPort}:${m.hostPortEnd}` : String(m.hostPort);
  return ['-p', m.proto, '-m', m.proto, '--dport', dport];
}

function dnatTarget(p: NormalizedPorts, m: NormalizedMapping): string[] {
  const addr = p.family === 4 ? p.containerIp.text : `[${p.containerIp.text}]`;
  let port = String(m.containerPort);
  if (m.hostPortEnd !== undefined && m.containerPortEnd !== undefined) {
    // One-to-one range: the offset form ("/<first host port>") shifts each port.
    port = `${m.containerPort}-${m.containerPortEnd}/${m.hostPort}`;
  }
  return ['DNAT', '--to-destination', `${addr}:${port}`];
}

/** The DNAT rules of an endpoint, in the slot chain `slot`. */
export function portRules(p: NormalizedPorts, slot: string): Rule[] {
  const c = endpointComment(p.networkId, p.endpointId);
  return p.mappings.map((m) =>
    makeRule('nat', slot, [...(m.hostIp ? ['-d', hostCidr(m.hostIp)] : []), ...portMatch(m)], c, dnatTarget(p, m)),
  );
}

/** The endpoint's ports as a plan owning its slot (reconcile). */
export function portsPlan(p: NormalizedPorts, slot: string): Plan {
  return { chains: [{ table: 'nat', name: slot, rules: portRules(p, slot) }], rules: [] };
}
