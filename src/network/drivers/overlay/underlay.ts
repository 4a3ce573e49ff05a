/**
 * The underlay device: the interface of the daemon's (host) namespace that holds the advertise
 * address. VXLAN packets to the peers leave through it (the peers are reached on the advertise
 * address's network), and its MTU bounds the overlay's (minus 50 bytes of encapsulation).
 */
import { TsnetError } from '../../../errors/index.js';
import type { Netlink } from '../../../kernel/netlink/index.js';

export interface Underlay {
  index: number;
  name: string;
  mtu: number;
}

export async function findUnderlay(host: Netlink, advertiseAddr: string): Promise<Underlay> {
  const found = (await host.listAddresses()).find((a) => a.cidr.split('/')[0] === advertiseAddr);
  if (!found) {
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `--advertise-addr ${advertiseAddr} is not an address of this host: give the address of the interface on the underlay network`,
    );
  }
  const link = await host.getLink(found.index);
  if (!link) throw new TsnetError('TSNET_NETLINK', `find the underlay device #${found.index}: ENODEV`);
  return { index: link.index, name: link.name, mtu: link.mtu };
}
