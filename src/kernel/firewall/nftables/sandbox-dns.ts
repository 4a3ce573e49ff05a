/**
 * The embedded resolver's port mapping inside a sandbox as one nft batch (table `netdev
 * tsnet-dns`), stateless, in the **ingress hook of the sandbox's `lo`**: a packet to
 * 127.0.0.11:53 gets the resolver's port as its destination port, and the resolver's answers get
 * source port 53 back. Both directions of a DNS exchange are loopback packets, so both pass `lo`'s
 * ingress (after the output path, before the socket lookup), and nothing needs state: no NAT
 * chain, so the kernel does not turn conntrack on in the sandbox (NAT would, and conntrack would
 * then look up every packet the container sends and receives), and no chain on the output hook,
 * so a packet the container sends out of eth0 passes no rule at all in its own namespace (the
 * earlier raw-priority output chain cost every packet a hook call and a rule; docs/architecture.md,
 * "Data path throughput").
 *
 * Re-applying replaces the rules in place. A sandbox an older tsnet programmed (table `ip
 * tsnet-dns`: the output chain `dns`, or the NAT chains before it) loses that table when it is
 * re-applied (`fresh` false).
 * Used by the nftables backend, and (libnftables) by the iptables backend for sandboxes it makes
 * (the sandbox is tsnet's own namespace, so which kernel API programs it is tsnet's choice;
 * libnftables in-process starts no process, where `iptables-restore` is a fork per sandbox).
 */
import type { SandboxDns } from '../firewall-api.js';
import type { NftRunner } from './runner.js';

export const SANDBOX_DNS_TABLE = 'netdev tsnet-dns';

/** The table of earlier tsnet versions (an output chain, or NAT chains before it). */
const OLD_TABLE = 'ip tsnet-dns';

export function sandboxDnsLines(s: SandboxDns): string[] {
  const t = SANDBOX_DNS_TABLE;
  const ip = s.resolverIp;
  // add (a no-op when it exists) + delete: gone whether or not it was there
  const dropOld = s.fresh === true ? [] : [`add table ${OLD_TABLE}`, `delete table ${OLD_TABLE}`];
  return [
    // Flush instead of re-creating: deleting base chains unregisters their hooks, which waits
    // for an RCU grace period (several ms on a busy machine).
    `add table ${t}`,
    ...dropOld,
    `add chain ${t} dns { type filter hook ingress device "lo" priority filter; policy accept; }`,
    `flush chain ${t} dns`,
    `add rule ${t} dns ip daddr ${ip} udp dport 53 udp dport set ${s.udpPort}`,
    `add rule ${t} dns ip daddr ${ip} tcp dport 53 tcp dport set ${s.tcpPort}`,
    `add rule ${t} dns ip saddr ${ip} udp sport ${s.udpPort} udp sport set 53`,
    `add rule ${t} dns ip saddr ${ip} tcp sport ${s.tcpPort} tcp sport set 53`,
  ];
}

/** Program the mapping in `s.netns` as one batch through libnftables (`runner`). */
export function applySandboxDns(runner: Pick<NftRunner, 'runIn'>, s: SandboxDns): Promise<void> {
  return runner.runIn(s.netns, `${sandboxDnsLines(s).join('\n')}\n`, `DNS rules in sandbox ${s.netns}`);
}
