/**
 * p2p — a routed, point-to-point network driver (no bridge), written with @tsnet/plugin-sdk.
 *
 * Every container gets its own veth pair. The host end (p2h<id>) carries the network's gateway
 * as a /32 and proxy ARP; the host gets one /32 route per container (`<ip>/32 dev p2h<id>`).
 * Containers reach each other and the host through these routes: the host routes every packet
 * (ip_forward), there is no shared L2 segment, no MAC learning and no broadcast domain between
 * containers — the model Calico uses. Docker's and tsnet's built-in drivers don't do this.
 *
 *   container A  eth0 10.77.0.2/24 ─veth─ p2hA (10.77.0.1/32, proxy_arp) ─┐ host: 10.77.0.2/32 dev p2hA
 *   container B  eth0 10.77.0.3/24 ─veth─ p2hB (10.77.0.1/32, proxy_arp) ─┘       10.77.0.3/32 dev p2hB
 *
 * Options (`-o`): p2p.mtu=<n>. IPv4 only. State (networks, endpoints) can be kept in a file so
 * the plugin survives its own restart (the daemon never replays CreateNetwork/CreateEndpoint).
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  genericOptions,
  ifaceName,
  PluginError,
  ROUTE_CONNECTED,
  type CreateEndpointRequest,
  type CreateNetworkRequest,
  type EndpointRequest,
  type JoinRequest,
  type JoinResponse,
  type NetworkDriverHandlers,
  type NetworkRequest,
} from '../../sdk/src/index.js';
import type { IpTool } from './ip.js';

/** Used as the containers' gateway when the network has none from IPAM. */
export const LINK_LOCAL_GATEWAY = '169.254.1.1';

interface NetworkState {
  gateway: string;
  mtu?: number;
}

interface EndpointState {
  networkId: string;
  /** CIDR from IPAM, e.g. 10.77.0.2/24. */
  address: string;
}

interface State {
  networks: Record<string, NetworkState>;
  endpoints: Record<string, EndpointState>;
}

export interface P2pOptions {
  ip: IpTool;
  /** Keep state in this JSON file (optional). */
  stateFile?: string;
  log?: (line: string) => void;
}

export function hostIfName(endpointId: string): string {
  return ifaceName('p2h', endpointId);
}

export function containerIfName(endpointId: string): string {
  return ifaceName('p2c', endpointId);
}

function loadState(file: string | undefined): State {
  if (!file) return { networks: {}, endpoints: {} };
  try {
    const s = JSON.parse(fs.readFileSync(file, 'utf8')) as State;
    return { networks: s.networks ?? {}, endpoints: s.endpoints ?? {} };
  } catch {
    return { networks: {}, endpoints: {} };
  }
}

export function createP2pHandlers(opts: P2pOptions): NetworkDriverHandlers {
  const { ip } = opts;
  const log = opts.log ?? (() => undefined);
  const state = loadState(opts.stateFile);

  const save = (): void => {
    if (!opts.stateFile) return;
    fs.mkdirSync(path.dirname(opts.stateFile), { recursive: true });
    const tmp = `${opts.stateFile}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(state, null, 2));
    fs.renameSync(tmp, opts.stateFile);
  };

  const network = (id: string): NetworkState => {
    const n = state.networks[id];
    if (!n) throw new PluginError(`p2p: no such network ${id.slice(0, 12)}`);
    return n;
  };

  return {
    getCapabilities: () => ({ Scope: 'local', ConnectivityScope: 'local' }),

    createNetwork(req: CreateNetworkRequest) {
      if (req.IPv6Data.some((d) => d.Pool)) throw new PluginError('p2p: IPv6 is not supported', { status: 400 });
      const o = genericOptions(req.Options);
      let mtu: number | undefined;
      if (o['p2p.mtu'] !== undefined) {
        mtu = Number(o['p2p.mtu']);
        if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535)
          throw new PluginError(`p2p: bad p2p.mtu ${JSON.stringify(o['p2p.mtu'])}`, { status: 400 });
      }
      for (const k of Object.keys(o))
        if (k.startsWith('p2p.') && k !== 'p2p.mtu') throw new PluginError(`p2p: unknown option ${k}`, { status: 400 });
      const gw = req.IPv4Data[0]?.Gateway?.split('/')[0];
      // The host routes between containers.
      ip.sysctl('net/ipv4/ip_forward', '1');
      state.networks[req.NetworkID] = { gateway: gw || LINK_LOCAL_GATEWAY, ...(mtu ? { mtu } : {}) };
      save();
      log(`network ${req.NetworkID.slice(0, 12)} created (gateway ${gw || LINK_LOCAL_GATEWAY})`);
    },

    deleteNetwork(req: NetworkRequest) {
      delete state.networks[req.NetworkID];
      save();
    },

    createEndpoint(req: CreateEndpointRequest) {
      network(req.NetworkID);
      if (!req.Interface.Address)
        throw new PluginError('p2p: the endpoint needs an IPv4 address (use an IPAM driver that gives one)', { status: 400 });
      state.endpoints[req.EndpointID] = { networkId: req.NetworkID, address: req.Interface.Address };
      save();
      return {}; // tsnet/Docker keep the address and MAC they chose
    },

    endpointOperInfo(req: EndpointRequest) {
      const ep = state.endpoints[req.EndpointID];
      return { Value: ep ? { hostInterface: hostIfName(req.EndpointID), address: ep.address } : {} };
    },

    async deleteEndpoint(req: EndpointRequest) {
      await ip.deleteLink(hostIfName(req.EndpointID));
      delete state.endpoints[req.EndpointID];
      save();
    },

    async join(req: JoinRequest): Promise<JoinResponse> {
      const n = network(req.NetworkID);
      const ep = state.endpoints[req.EndpointID];
      if (!ep) throw new PluginError(`p2p: no such endpoint ${req.EndpointID.slice(0, 12)}`);
      const host = hostIfName(req.EndpointID);
      const ctr = containerIfName(req.EndpointID);
      const addr = ep.address.split('/')[0]!;
      await ip.deleteLink(host); // a leftover of a crashed join
      const mtu = n.mtu ? ['mtu', String(n.mtu)] : [];
      await ip.run(['link', 'add', host, ...mtu, 'type', 'veth', 'peer', 'name', ctr, ...mtu]);
      try {
        ip.sysctl(`net/ipv4/conf/${host}/proxy_arp`, '1');
        ip.sysctl(`net/ipv4/neigh/${host}/proxy_delay`, '0');
        await ip.run(['addr', 'add', `${n.gateway}/32`, 'dev', host]);
        await ip.run(['link', 'set', host, 'up']);
        await ip.run(['route', 'replace', `${addr}/32`, 'dev', host, 'scope', 'link']);
      } catch (err) {
        await ip.deleteLink(host);
        throw err;
      }
      log(`endpoint ${req.EndpointID.slice(0, 12)} joined: ${addr} via ${host}`);
      const onLink = n.gateway === LINK_LOCAL_GATEWAY;
      return {
        InterfaceName: { SrcName: ctr, DstPrefix: 'eth' },
        Gateway: n.gateway,
        // With the link-local gateway, the container needs an on-link route to reach it.
        StaticRoutes: onLink ? [{ Destination: `${LINK_LOCAL_GATEWAY}/32`, RouteType: ROUTE_CONNECTED }] : [],
        DisableGatewayService: true,
      };
    },

    async leave(req: EndpointRequest) {
      // Deleting the host end deletes the pair, wherever the container end is; its routes go with it.
      await ip.deleteLink(hostIfName(req.EndpointID));
    },
  };
}
