/**
 * `--link-local-ip` / `IPAMConfig.LinkLocalIPs`: extra addresses on the container's interface,
 * outside IPAM, as Docker adds them (IPv4 /16, IPv6 /64).
 */
import type { Netlink } from '../kernel/netlink/index.js';
import { linkLocalCidr } from './endpoint-settings.js';

export async function addLinkLocalIPs(nl: Netlink, ifname: string, ips: string[]): Promise<void> {
  for (const ip of ips) {
    const cidr = linkLocalCidr(ip);
    await nl.addAddress(ifname, cidr, cidr.includes(':') ? { noDad: true } : {});
  }
}
