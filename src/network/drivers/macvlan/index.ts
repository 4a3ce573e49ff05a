/**
 * The macvlan driver (Docker's semantics): each endpoint is a macvlan of the network's parent
 * link, created directly inside the container's netns. No NAT, no published ports (as Docker,
 * macvlan has no external connectivity of its own: the parent's network is the outside). Without
 * `-o parent` the parent is a veth pair tsnet makes (`tsmv<id10>`/`tsmp<id10>`; this kernel has no
 * dummy links) and the network is internal, as Docker's dummy parent makes it.
 */
import fs from 'node:fs';
import { TsnetError } from '../../../errors/index.js';
import { Rollback } from '../../../errors/rollback.js';
import type { Logger } from '../../../lib/logger.js';
import { Netlink } from '../../../kernel/netlink/index.js';
import type {
  EndpointInfo,
  EndpointSpec,
  JoinInfo,
  JoinSpec,
  NetworkDriver,
  NetworkSpec,
  Restorable,
  SandboxHandle,
  Sweepable,
} from '../../driver-api.js';
import { markedNetworkId, parseMacvlanOptions, randomMac, type MacvlanConfig } from './options.js';
import { checkParent, deleteOwnedParent, ensureOwnedParent } from './parent.js';

export interface MacvlanDeps {
  /** rtnetlink in the daemon's own (host) netns. */
  host: Netlink;
  /** Run fn with the main thread in the netns file (sync). */
  inNetns: <T>(file: string, fn: () => T) => T;
  logger: Logger;
}

interface MacvlanNetwork {
  spec: NetworkSpec;
  cfg: MacvlanConfig;
}

interface MacvlanEndpoint {
  networkId: string;
  mac: string;
  address?: string;
  addressV6?: string;
  /** Where it is joined: the sandbox's netns file and the interface name there. */
  joined?: { sandboxKey: string; ifname: string };
}

export type MacvlanDriver = NetworkDriver & Restorable & Sweepable;

export function createMacvlanDriver(deps: MacvlanDeps): MacvlanDriver {
  const networks = new Map<string, MacvlanNetwork>();
  const endpoints = new Map<string, MacvlanEndpoint>();
  const key = (nid: string, eid: string) => `${nid}/${eid}`;

  const network = (id: string): MacvlanNetwork => {
    const n = networks.get(id);
    if (!n) throw new TsnetError('TSNET_NETWORK_NOT_FOUND', `macvlan driver: no network ${id.slice(0, 12)}`);
    return n;
  };
  const internal = (n: MacvlanNetwork) => n.spec.internal || n.cfg.ownedParent;

  /** Several networks may share a parent, except a passthru one (the kernel allows one macvlan then). */
  function checkSharing(spec: NetworkSpec, cfg: MacvlanConfig): void {
    for (const other of networks.values()) {
      if (other.spec.id === spec.id || other.cfg.parent !== cfg.parent) continue;
      if (cfg.mode === 'passthru' || other.cfg.mode === 'passthru') {
        throw new TsnetError(
          'TSNET_INVALID_ARGUMENT',
          `network ${other.spec.name} is already using parent interface ${cfg.parent} (a passthru network needs the parent for itself)`,
        );
      }
    }
  }

  /**
   * Run fn with the sandbox's netlink socket: the caller's (`own`: the Sandbox's one socket, left
   * open), or one opened inside the sandbox's netns when the caller has none.
   */
  async function inSandbox<T>(sandboxKey: string, fn: (nl: Netlink) => Promise<T>, own?: Netlink): Promise<T> {
    if (own) return fn(own);
    const nl = deps.inNetns(sandboxKey, () => Netlink.open());
    try {
      return await fn(nl);
    } finally {
      nl.close();
    }
  }

  async function removeFromSandbox(ep: MacvlanEndpoint, sandbox?: SandboxHandle): Promise<void> {
    const j = ep.joined;
    if (!j) return;
    ep.joined = undefined;
    if (!fs.existsSync(j.sandboxKey)) return;
    try {
      await inSandbox(
        j.sandboxKey,
        async (nl) => {
          const link = await nl.getLink(j.ifname);
          if (link?.kind === 'macvlan') await nl.deleteLink(j.ifname);
        },
        sandbox?.file === j.sandboxKey ? sandbox.netlink : undefined,
      );
    } catch (err) {
      deps.logger.debug(`macvlan: remove ${j.ifname} from ${j.sandboxKey}: ${(err as Error).message}`);
    }
  }

  const driver: MacvlanDriver = {
    name: 'macvlan',
    capabilities: () => ({ scope: 'local', connectivityScope: 'global' }),

    async validateNetwork(spec) {
      const cfg = parseMacvlanOptions(spec.id, spec.options);
      checkSharing(spec, cfg);
      if (!cfg.ownedParent) await checkParent(deps.host, cfg);
      if (spec.enableIPv6 && spec.ipv6.length === 0)
        throw new TsnetError('TSNET_INVALID_ARGUMENT', '--ipv6 needs an IPv6 --subnet');
    },

    async createNetwork(spec) {
      const cfg = parseMacvlanOptions(spec.id, spec.options);
      checkSharing(spec, cfg);
      const rb = new Rollback();
      try {
        if (cfg.ownedParent) {
          if (await deps.host.getLink(cfg.parent)) {
            throw new TsnetError(
              'TSNET_NETWORK_EXISTS',
              `cannot create network ${spec.name}: an interface named ${cfg.parent} already exists`,
            );
          }
          rb.push(`delete macvlan parent ${cfg.parent}`, () => deleteOwnedParent(deps.host, spec.id, cfg.parent));
          await ensureOwnedParent(deps.host, spec.id, cfg.parent);
        } else {
          await checkParent(deps.host, cfg);
        }
        networks.set(spec.id, { spec, cfg });
        rb.commit();
      } catch (err) {
        await rb.unwind();
        throw err;
      }
    },

    async deleteNetwork(networkId) {
      const n = networks.get(networkId);
      if (!n) return;
      for (const [k, ep] of endpoints) {
        if (ep.networkId !== networkId) continue;
        await removeFromSandbox(ep);
        endpoints.delete(k);
      }
      if (n.cfg.ownedParent) await deleteOwnedParent(deps.host, networkId, n.cfg.parent);
      networks.delete(networkId);
    },

    async createEndpoint(e: EndpointSpec): Promise<EndpointInfo> {
      network(e.networkId);
      const ep: MacvlanEndpoint = {
        networkId: e.networkId,
        mac: e.mac ?? randomMac(),
        ...(e.address ? { address: e.address } : {}),
        ...(e.addressV6 ? { addressV6: e.addressV6 } : {}),
      };
      endpoints.set(key(e.networkId, e.endpointId), ep);
      return { mac: ep.mac };
    },

    async deleteEndpoint(networkId, endpointId) {
      const ep = endpoints.get(key(networkId, endpointId));
      if (!ep) return;
      await removeFromSandbox(ep);
      endpoints.delete(key(networkId, endpointId));
    },

    async join(j: JoinSpec): Promise<JoinInfo> {
      const n = network(j.networkId);
      const ep = endpoints.get(key(j.networkId, j.endpointId));
      if (!ep) throw new TsnetError('TSNET_ENDPOINT_NOT_FOUND', `macvlan driver: no endpoint ${j.endpointId.slice(0, 12)}`);
      // the parent may be gone since the network was made (a reboot, an admin): say so plainly
      if (n.cfg.ownedParent && !(await deps.host.getLink(n.cfg.parent)))
        await ensureOwnedParent(deps.host, n.spec.id, n.cfg.parent);
      const parent = await deps.host.getLink(n.cfg.parent);
      if (!parent) {
        throw new TsnetError(
          'TSNET_INVALID_ARGUMENT',
          `macvlan network ${n.spec.name}: its parent interface ${n.cfg.parent} was not found on the host`,
        );
      }
      const fd = fs.openSync(j.sandboxKey, 'r');
      try {
        await deps.host
          .addMacvlan(j.ifname, { parentIndex: parent.index, mode: n.cfg.mode, netnsFd: fd, mac: ep.mac })
          .catch((err: Error) => {
            if (n.cfg.mode === 'passthru' && /EINVAL|EBUSY/.test(err.message)) {
              throw new TsnetError(
                'TSNET_INVALID_ARGUMENT',
                `macvlan network ${n.spec.name} is in passthru mode: its parent ${n.cfg.parent} takes one container only`,
              );
            }
            throw err;
          });
      } finally {
        fs.closeSync(fd);
      }
      ep.joined = { sandboxKey: j.sandboxKey, ifname: j.ifname };
      const own = j.netlink ? { file: j.sandboxKey, netlink: j.netlink } : undefined;
      try {
        await inSandbox(
          j.sandboxKey,
          async (nl) => {
            // without IPv6 no link-local address (decision 43): its DAD, MLD and solicitations would
            // reach every sibling and the parent's LAN. A macvlan has carrier as it comes up: the
            // mode goes first, in a request of its own.
            if (!(n.spec.enableIPv6 && ep.addressV6)) await nl.setNoLinkLocal(j.ifname);
            if (ep.address) await nl.addAddress(j.ifname, ep.address);
            if (ep.addressV6) await nl.addAddress(j.ifname, ep.addressV6, { noDad: true });
            await nl.setUp(j.ifname);
          },
          j.netlink,
        );
      } catch (err) {
        await removeFromSandbox(ep, own);
        throw err;
      }
      if (internal(n)) return { disableGatewayService: true };
      const gw4 = n.spec.ipv4[0]?.gateway?.split('/')[0];
      const gw6 = n.spec.enableIPv6 ? n.spec.ipv6[0]?.gateway?.split('/')[0] : undefined;
      return { ...(gw4 ? { gateway: gw4 } : {}), ...(gw6 ? { gatewayV6: gw6 } : {}) };
    },

    async leave(networkId, endpointId, opts) {
      const ep = endpoints.get(key(networkId, endpointId));
      if (ep) await removeFromSandbox(ep, opts?.sandbox);
    },

    async sweep(liveNetworkIds) {
      const live = new Set([...liveNetworkIds, ...networks.keys()]);
      const removed: string[] = [];
      for (const l of await deps.host.listLinks()) {
        const id = markedNetworkId(l.alias);
        if (!id || l.kind !== 'veth' || live.has(id)) continue; // not ours, or explained
        try {
          await deps.host.deleteLink(l.index);
          removed.push(`macvlan parent ${l.name}`);
        } catch (err) {
          deps.logger.warn(`sweep macvlan parent ${l.name}: ${(err as Error).message}`);
        }
      }
      return removed;
    },

    async restore(specs, eps) {
      for (const spec of specs) {
        const cfg = parseMacvlanOptions(spec.id, spec.options);
        networks.set(spec.id, { spec, cfg });
        if (!cfg.ownedParent) continue;
        try {
          await ensureOwnedParent(deps.host, spec.id, cfg.parent);
        } catch (err) {
          deps.logger.warn(`restore macvlan parent ${cfg.parent}: ${(err as Error).message}`);
        }
      }
      for (const e of eps) {
        if (!networks.has(e.networkId)) continue;
        endpoints.set(key(e.networkId, e.endpointId), {
          networkId: e.networkId,
          mac: e.mac ?? randomMac(),
          ...(e.address ? { address: e.address } : {}),
          ...(e.addressV6 ? { addressV6: e.addressV6 } : {}),
          ...(e.joined ? { joined: { sandboxKey: e.joined.sandboxKey, ifname: e.joined.ifname } } : {}),
        });
      }
    },
  };
  return driver;
}
