/** macvlan driver options (Docker's names: `parent`, `macvlan_mode`), validated before anything is made. */
import crypto from 'node:crypto';
import { TsnetError } from '../../../errors/index.js';

export type Mode = 'bridge' | 'private' | 'vepa' | 'passthru';
const MODES: readonly Mode[] = ['bridge', 'private', 'vepa', 'passthru'];

export interface MacvlanConfig {
  /** The parent link in the host netns. */
  parent: string;
  mode: Mode;
  /** No `-o parent`: the parent is a veth pair tsnet makes (and removes) for this network. */
  ownedParent: boolean;
}

export function parseMacvlanOptions(networkId: string, options: Record<string, string>): MacvlanConfig {
  for (const k of Object.keys(options)) {
    // com.docker.network.* are Docker's generic options (ignored by its macvlan driver too)
    if (k === 'parent' || k === 'macvlan_mode' || k.startsWith('com.docker.network.')) continue;
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `unknown macvlan option ${JSON.stringify(k)}: use parent or macvlan_mode`);
  }
  const raw = options.macvlan_mode ?? '';
  const mode = (raw === '' ? 'bridge' : raw) as Mode;
  if (!MODES.includes(mode)) {
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `requested macvlan mode '${raw}' is not valid, 'bridge' mode is the macvlan driver default (use bridge, private, vepa or passthru)`,
    );
  }
  const parent = options.parent ?? '';
  if (parent === '') return { parent: ownedParentName(networkId), mode, ownedParent: true };
  if (!/^[a-zA-Z0-9_.@-]{1,15}$/.test(parent)) {
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `invalid -o parent ${JSON.stringify(parent)}: give the name of a host interface`,
    );
  }
  return { parent, mode, ownedParent: false };
}

/** The veth pair tsnet makes as the parent of a macvlan network without `-o parent`. */
export function ownedParentName(networkId: string): string {
  return `tsmv${networkId.slice(0, 10)}`;
}
export function ownedPeerName(networkId: string): string {
  return `tsmp${networkId.slice(0, 10)}`;
}

/**
 * The mark (link alias) on the tsnet-made parent pair: `tsnet:macvlan:<network id>`. Not the bridge
 * driver's `tsnet:<id>` form on purpose: the bridge sweep removes every marked veth whose id is not
 * a live endpoint, which would cut this network's containers at each restart.
 */
export function parentMark(networkId: string): string {
  return `tsnet:macvlan:${networkId}`;
}
/** The network id in a parent mark, or undefined for any other alias. */
export function markedNetworkId(alias: string | undefined): string | undefined {
  return alias ? /^tsnet:macvlan:([0-9a-f]{64})$/.exec(alias)?.[1] : undefined;
}

/** A random locally administered unicast MAC (as Docker ≥ 28 gives endpoints). */
export function randomMac(): string {
  const b = crypto.randomBytes(6);
  b[0] = (b[0]! & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}
