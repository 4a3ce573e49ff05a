/**
 * Published ports of one endpoint in one address family. Pure.
 *
 * Each endpoint owns a chain TSNET-EP-<ep12> in nat and one in raw, entered through one jump
 * each (TSNET-DNAT, TSNET-RAW-PREROUTING). Adding the ports is "create the chains, fill them,
 * add two jumps"; removing them is "delete two jumps, flush and delete two chains" — a constant
 * number of restore lines whatever the number of mappings (1000 ports = 4 removal lines), and
 * nothing that scans other endpoints' per-port rules.
 *
 * nat TSNET-EP-<ep12>, per mapping:
 *   [-d hostIp] -p tcp -m tcp --dport 8080 -j DNAT --to-destination cIP:80
 *   ranges map one to one in a single rule: --dport 8000:8010 … --to-destination cIP:80-90/8000
 *   No `! -i <bridge>`: containers reach published ports through host addresses (there is no
 *   userland proxy); the network's hairpin MASQUERADE makes the replies come back right.
 * raw TSNET-EP-<ep12> (Docker 28's direct-access guard):
 *   -d cIP ! -i <bridge> -j DROP                     only the bridge may address the container
 *   [hostIp in 127/8] -d hostIp ! -i lo -p tcp --dport 8080 -j DROP   no 127.0.0.1 from the LAN
 * The forward ACCEPT is the network's `--ctstate DNAT` rule (network-rules.ts).
 */
import { hostCidr, isIpv4Loopback } from '../addr.js';
import { CHAIN, endpointChain, endpointComment } from './names.js';
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

export function portsPlan(p: NormalizedPorts): Plan {
  const c = endpointComment(p.networkId, p.endpointId);
  const chain = endpointChain(p.endpointId);

  const nat: Rule[] = p.mappings.map((m) =>
    makeRule('nat', chain, [...(m.hostIp ? ['-d', hostCidr(m.hostIp)] : []), ...portMatch(m)], c, dnatTarget(p, m)),
  );

  const raw: Rule[] = [makeRule('raw', chain, ['-d', hostCidr(p.containerIp), '!', '-i', p.bridge], c, ['DROP'])];
  for (const m of p.mappings) {
    if (m.hostIp && isIpv4Loopback(m.hostIp)) {
      raw.push(makeRule('raw', chain, ['-d', hostCidr(m.hostIp), '!', '-i', 'lo', ...portMatch(m)], c, ['DROP']));
    }
  }

  return {
    chains: [
      { table: 'nat', name: chain, rules: nat },
      { table: 'raw', name: chain, rules: raw },
    ],
    rules: [makeRule('nat', CHAIN.dnat, [], c, [chain]), makeRule('raw', CHAIN.rawPrerouting, [], c, [chain])],
  };
}
