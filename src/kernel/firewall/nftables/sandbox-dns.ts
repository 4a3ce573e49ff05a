/**
 * The embedded resolver's port mapping inside a sandbox as one nft batch (table `ip tsnet-dns`),
 * stateless: in the output hook at raw priority, a packet to 127.0.0.11:53 gets the resolver's
 * port as its destination port, and the resolver's answers get source port 53 back — both
 * marked `notrack`. No NAT chain and no conntrack expression, so the kernel does not turn
 * conntrack on in the sandbox (NAT would, and conntrack would then look up every packet the
 * container sends and receives: about 3 % of the CPU an iperf3 stream between two containers
 * costs; docs/architecture.md, "Data path throughput"). Both directions of a DNS exchange pass
 * the output hook (over lo), so nothing needs state; `notrack` keeps the DNS packets out of
 * conntrack also when the container's own rules (NET_ADMIN) turn it on.
 *
 * Re-applying replaces the rules in place. A sandbox an older tsnet programmed with the NAT
 * chains (dns-output, dns-postrouting) loses them when it is re-applied (`fresh` false).
 * Used by the nftables backend, and (libnftables) by the iptables backend for sandboxes it makes
 * (the sandbox is tsnet's own namespace, so which kernel API programs it is tsnet's choice;
 * libnftables in-process starts no process, where `iptables-restore` is a fork per sandbox).
 */
import type { SandboxDns } from '../firewall-api.js';

export const SANDBOX_DNS_TABLE = 'ip tsnet-dns';

/** The chains of the NAT layout of earlier tsnet versions (removed on re-apply). */
const OLD_NAT_CHAINS = [
  ['dns-output', 'type nat hook output priority -100; policy accept;'],
  ['dns-postrouting', 'type nat hook postrouting priority srcnat; policy accept;'],
] as const;

export function sandboxDnsLines(s: SandboxDns): string[] {
  const t = SANDBOX_DNS_TABLE;
  const ip = s.resolverIp;
  // add (a no-op when it exists) + flush + delete: gone whether or not it was there
  const dropOld =
    s.fresh === true
      ? []
      : OLD_NAT_CHAINS.flatMap(([c, spec]) => [
          `add chain ${t} ${c} { ${spec} }`,
          `flush chain ${t} ${c}`,
          `delete chain ${t} ${c}`,
        ]);
  return [
    // Flush instead of re-creating: deleting base chains unregisters their hooks, which waits
    // for an RCU grace period (several ms on a busy machine).
    `add table ${t}`,
    ...dropOld,
    `add chain ${t} dns { type filter hook output priority raw; policy accept; }`,
    `flush chain ${t} dns`,
    // Every packet the container sends passes this hook: all but loopback ones leave after one
    // compare of the output device's type instead of walking the four rules below.
    `add rule ${t} dns meta oiftype != loopback accept`,
    `add rule ${t} dns ip daddr ${ip} udp dport 53 notrack udp dport set ${s.udpPort}`,
    `add rule ${t} dns ip daddr ${ip} tcp dport 53 notrack tcp dport set ${s.tcpPort}`,
    `add rule ${t} dns ip saddr ${ip} udp sport ${s.udpPort} notrack udp sport set 53`,
    `add rule ${t} dns ip saddr ${ip} tcp sport ${s.tcpPort} notrack tcp sport set 53`,
  ];
}
