/**
 * The embedded resolver's NAT inside a sandbox as one nft batch (table `ip tsnet-dns`): DNAT of
 * 127.0.0.11:53 to the resolver's ports, SNAT of its answers back to :53. Re-applying replaces the
 * rules in place. Used by the nftables backend, and (with `sandboxDnsNft`) by the iptables backend for sandboxes it
 * makes (the sandbox is tsnet's own namespace, so which kernel API programs it is tsnet's choice;
 * libnftables in-process starts no process, where `iptables-restore` is a fork per sandbox).
 */
import type { SandboxDns } from '../firewall-api.js';

export const SANDBOX_DNS_TABLE = 'ip tsnet-dns';

export function sandboxDnsLines(s: SandboxDns): string[] {
  const t = SANDBOX_DNS_TABLE;
  const ip = s.resolverIp;
  return [
    // Flush instead of re-creating: deleting base chains unregisters their hooks, which waits
    // for an RCU grace period (several ms on a busy machine).
    `add table ${t}`,
    `add chain ${t} dns-output { type nat hook output priority -100; policy accept; }`,
    `add chain ${t} dns-postrouting { type nat hook postrouting priority srcnat; policy accept; }`,
    `flush chain ${t} dns-output`,
    `flush chain ${t} dns-postrouting`,
    `add rule ${t} dns-output ip daddr ${ip} udp dport 53 dnat to ${ip}:${s.udpPort}`,
    `add rule ${t} dns-output ip daddr ${ip} tcp dport 53 dnat to ${ip}:${s.tcpPort}`,
    `add rule ${t} dns-postrouting ip saddr ${ip} udp sport ${s.udpPort} snat to ${ip}:53`,
    `add rule ${t} dns-postrouting ip saddr ${ip} tcp sport ${s.tcpPort} snat to ${ip}:53`,
  ];
}
