/**
 * The network driver API (interfaces only). Modelled on libnetwork's driverapi: a small required
 * interface and optional capabilities checked with type guards, so no driver writes stubs.
 *
 * The controller calls, for a network: createNetwork → (per container) createEndpoint → join →
 * [programExternalConnectivity] … [revokeExternalConnectivity] → leave → deleteEndpoint →
 * deleteNetwork. Every delete/leave must be idempotent.
 */

import type { Netlink } from '../kernel/netlink/index.js';
import type { ContainerLookup, SandboxRequest, SandboxSetup } from './container-api.js';
import type { SandboxMode, SandboxRecord } from './sandbox-record.js';

/** 'swarm': networks of tsnet's single-node swarm mode (src/swarm). */
export type Scope = 'local' | 'global' | 'swarm';

export interface DriverCapability {
  /** local: the network exists on one host; global: cluster-wide (overlay). */
  scope: Scope;
  connectivityScope?: Scope;
  /**
   * The driver's one network is a whole network mode (host, none): the daemon makes it as a
   * predefined network of that name, no other network of the driver can be created, and a
   * container on it is on no other network. Such a driver is a NetworkModeDriver too.
   */
  networkMode?: 'host' | 'none';
}

/** One address pool of a network, as allocated by IPAM. */
export interface IpamData {
  /** The subnet, e.g. 10.42.0.0/24. */
  pool: string;
  /** The gateway with the pool's prefix, e.g. 10.42.0.1/24. */
  gateway?: string;
  auxAddresses?: Record<string, string>;
}

export interface NetworkSpec {
  id: string;
  name: string;
  /** Driver options (`-o k=v`), Docker's com.docker.network.* keys included. */
  options: Record<string, string>;
  labels: Record<string, string>;
  internal: boolean;
  enableIPv6: boolean;
  attachable: boolean;
  ipv4: IpamData[];
  ipv6: IpamData[];
}

export interface PortMapping {
  proto: 'tcp' | 'udp' | 'sctp';
  /** '' = every host address. */
  hostIp: string;
  hostPort: number;
  containerPort: number;
}

export interface EndpointSpec {
  networkId: string;
  endpointId: string;
  containerId: string;
  /** Address with prefix (10.42.0.2/24) as allocated by IPAM; absent when the network has no v4. */
  address?: string;
  addressV6?: string;
  mac?: string;
  options: Record<string, unknown>;
}

/** What a driver may decide about an endpoint (a remote driver may choose the MAC). */
export interface EndpointInfo {
  mac?: string;
  address?: string;
  addressV6?: string;
}

export interface JoinSpec {
  networkId: string;
  endpointId: string;
  containerId: string;
  /** The netns file of the container's sandbox. */
  sandboxKey: string;
  /**
   * The netlink socket of that namespace, owned by the caller (the Sandbox's one socket per
   * namespace and operation, DESIGN rule 4): every driver does its work inside the sandbox with
   * it. Drivers open their own only when called without one (tests that drive a driver alone).
   */
  netlink?: Netlink;
  /** The interface name to create inside the sandbox (eth0, eth1, …). */
  ifname: string;
  address?: string;
  addressV6?: string;
  mac?: string;
  options: Record<string, unknown>;
}

export interface StaticRoute {
  destination: string;
  nextHop?: string;
}

export interface JoinInfo {
  /** Gateway of this endpoint (plain IP); the controller decides who gets the default route. */
  gateway?: string;
  gatewayV6?: string;
  staticRoutes?: StaticRoute[];
  /** The driver wants no default route through it (Docker's DisableGatewayService). */
  disableGatewayService?: boolean;
  /**
   * Only the gateways given here count (remote plugins, as in Docker, where the sandbox's default
   * route comes from the driver's SetGateway alone): none given → no default route through this
   * endpoint, even if IPAM reserved a gateway address.
   */
  gatewayFromDriver?: boolean;
  /** The interface's index in the sandbox, when the driver knows it (the gateway route needs no lookup by name). */
  ifindex?: number;
}

export interface NetworkDriver {
  readonly name: string;
  capabilities(): DriverCapability;
  /** Validate driver options before anything is made (throws TsnetError with a clear line). */
  validateNetwork?(n: NetworkSpec): Promise<void> | void;
  createNetwork(n: NetworkSpec): Promise<void>;
  deleteNetwork(networkId: string): Promise<void>;
  createEndpoint(e: EndpointSpec): Promise<EndpointInfo>;
  deleteEndpoint(networkId: string, endpointId: string): Promise<void>;
  join(j: JoinSpec): Promise<JoinInfo>;
  /** The interface leaves the sandbox (the netns may already be gone). */
  leave(networkId: string, endpointId: string, opts?: LeaveOptions): Promise<void>;
}

/** A sandbox's netns and its one netlink socket (the Sandbox object; the socket opens on first use). */
export interface SandboxHandle {
  readonly file: string;
  readonly netlink: Netlink;
}

export interface LeaveOptions {
  /**
   * The sandbox, when it still exists: a driver that takes its interface out (macvlan, remote)
   * does so through the sandbox's socket (owned by the caller) instead of opening another.
   */
  sandbox?: SandboxHandle;
  /**
   * The sandbox is destroyed right after (container rm) and no other container shares it: an
   * interface that dies with the namespace need not be deleted one by one. The kernel removes
   * it (with its peer) when the namespace goes, off the daemon's thread — a veth delete is a
   * ~20 ms synchronous RTM_DELLINK here. Drivers may ignore it.
   */
  sandboxRemoved?: boolean;
}

/** Drivers that publish ports / give external access (bridge; remote drivers that ask for it). */
export interface ExternalConnectivity {
  programExternalConnectivity(networkId: string, endpointId: string, ports: PortMapping[]): Promise<PortMapping[]>;
  revokeExternalConnectivity(networkId: string, endpointId: string): Promise<void>;
}

/** Global-scope drivers that allocate per-network resources cluster-wide (VNIs). */
export interface NetworkAllocator {
  allocateNetwork(n: NetworkSpec): Promise<Record<string, string>>;
  freeNetwork(networkId: string): Promise<void>;
}

/** Drivers told about other nodes (overlay peers). */
export interface Discovery {
  discoverNew(type: 'node' | 'peer', data: Record<string, unknown>): Promise<void>;
  discoverDelete(type: 'node' | 'peer', data: Record<string, unknown>): Promise<void>;
}

/** Drivers that rebuild their kernel state after a daemon restart from the controller's records. */
export interface Restorable {
  restore(networks: NetworkSpec[], endpoints: Array<EndpointSpec & { joined?: JoinSpec; ports?: PortMapping[] }>): Promise<void>;
}

/**
 * Drivers that remove, after a restart, the kernel objects they made (and marked, DESIGN rule 2)
 * that no live network or endpoint explains. Objects without tsnet's mark are never touched.
 * Returns one line per removed object.
 */
export interface Sweepable {
  sweep(liveNetworkIds: Iterable<string>, liveEndpointIds?: Iterable<string>): Promise<string[]>;
}

/** What a network mode driver may ask of the sandboxes (container mode follows another sandbox). */
export interface ModeContext {
  /** `container:<ref>` → that container's name and sandbox id. */
  containers: ContainerLookup;
  sandbox(id: string): SandboxRecord | undefined;
  /** Is the sandbox's container running (its external connectivity programmed)? */
  isActive(id: string): boolean;
  /** What tsnet-init needs to join a sandbox that has a netns of its own (endpoints' hosts, resolv.conf). */
  ownSetup(sb: SandboxRecord): SandboxSetup;
  /** What tsnet-init needs to join any sandbox, whatever its mode. */
  setupOf(sb: SandboxRecord): SandboxSetup;
}

/**
 * How a container's network namespace is provided when it is not "endpoints on networks":
 * --network host, none, container:<ref> (drivers/host, drivers/none, drivers/container). The
 * sandbox code asks these instead of branching on names.
 */
export interface NetworkModeDriver {
  readonly mode: Exclude<SandboxMode, 'networks'>;
  /** The sandbox gets a netns of its own at create (none). */
  readonly ownNetns: boolean;
  /** A HostConfig.NetworkMode this driver takes by its syntax (container:<ref>), not by a network's name. */
  claims?(networkMode: string): boolean;
  /** Validate the request; the mode's part of the sandbox record. Throws one line. */
  plan(req: SandboxRequest, ctx: ModeContext): { sharedWith?: string; ignoresPorts: boolean };
  /** What tsnet-init needs at start; throws when the sandbox cannot be used now. */
  setup(sb: SandboxRecord, ctx: ModeContext): SandboxSetup;
  /** The sandbox whose netns holds this one's interfaces (stats); undefined: none (host). */
  netnsOwner(sb: SandboxRecord, ctx: ModeContext): SandboxRecord | undefined;
}

export function isNetworkModeDriver(d: unknown): d is NetworkModeDriver {
  return (
    typeof (d as Partial<NetworkModeDriver>).setup === 'function' && typeof (d as Partial<NetworkModeDriver>).mode === 'string'
  );
}

export function hasExternalConnectivity(d: NetworkDriver): d is NetworkDriver & ExternalConnectivity {
  return typeof (d as Partial<ExternalConnectivity>).programExternalConnectivity === 'function';
}
export function hasNetworkAllocator(d: NetworkDriver): d is NetworkDriver & NetworkAllocator {
  return typeof (d as Partial<NetworkAllocator>).allocateNetwork === 'function';
}
export function hasDiscovery(d: NetworkDriver): d is NetworkDriver & Discovery {
  return typeof (d as Partial<Discovery>).discoverNew === 'function';
}
export function isSweepable(d: NetworkDriver): d is NetworkDriver & Sweepable {
  return typeof (d as Partial<Sweepable>).sweep === 'function';
}
export function isRestorable(d: NetworkDriver): d is NetworkDriver & Restorable {
  return typeof (d as Partial<Restorable>).restore === 'function';
}
