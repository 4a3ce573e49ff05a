/** The parent link of a macvlan network: checks on a user's parent, and the veth pair tsnet makes when there is none. */
import { TsnetError } from '../../../errors/index.js';
import type { Netlink } from '../../../kernel/netlink/index.js';
import { ownedPeerName, parentMark, type MacvlanConfig } from './options.js';

/** Refuse a parent that cannot carry macvlans; returns its ifindex. */
export async function checkParent(host: Netlink, cfg: MacvlanConfig): Promise<number> {
  const link = await host.getLink(cfg.parent);
  if (!link) throw new TsnetError('TSNET_INVALID_ARGUMENT', `-o parent interface was not found on the host: ${cfg.parent}`);
  if (link.kind === 'bridge') {
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `-o parent ${cfg.parent} is a bridge: give a physical interface or veth (use -d bridge for a bridge network)`,
    );
  }
  if (link.master !== undefined) {
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `-o parent ${cfg.parent} is a port of a bridge (or bond): give an interface that has no master`,
    );
  }
  if (link.kind === 'macvlan' || link.kind === 'ipvlan') {
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `-o parent ${cfg.parent} is itself a ${link.kind}: give its parent instead`);
  }
  if (cfg.mode === 'passthru') {
    const children = (await host.listLinks()).filter(
      (l) => l.kind === 'macvlan' && l.parentIndex === link.index && l.linkNetnsId === undefined,
    );
    if (children.length) {
      throw new TsnetError(
        'TSNET_INVALID_ARGUMENT',
        `macvlan_mode passthru needs a parent with no other macvlans, ${cfg.parent} has ${children.map((c) => c.name).join(', ')}`,
      );
    }
  }
  return link.index;
}

/** Make the tsnet-owned veth pair (both ends up in the host netns, the first one marked); idempotent. */
export async function ensureOwnedParent(host: Netlink, networkId: string, name: string): Promise<void> {
  const mark = parentMark(networkId);
  const existing = await host.getLink(name);
  if (existing && (existing.kind !== 'veth' || existing.alias !== mark)) {
    throw new TsnetError(
      'TSNET_NETWORK_EXISTS',
      `cannot create macvlan parent ${name}: an interface of that name exists and tsnet did not make it (remove it with ip link del ${name})`,
    );
  }
  if (!existing) await host.addVeth(name, { name: ownedPeerName(networkId) }, { alias: mark });
  await host.setUp(name);
  await host.setUp(ownedPeerName(networkId));
}

/** Delete the tsnet-made pair, only when it carries this network's mark. */
export async function deleteOwnedParent(host: Netlink, networkId: string, name: string): Promise<void> {
  const l = await host.getLink(name);
  if (l?.alias === parentMark(networkId)) await host.deleteLink(l.index);
}
