/**
 * The wire format of Docker's network and IPAM plugin protocols (legacy "v1" plugins), as the
 * daemon (dockerd or tsnetd) sends and expects it. Field names are the Go struct names of
 * moby's drivers/remote/api and ipams/remote/api, so these types read like Docker's docs.
 *
 * The SDK normalises requests before your handler sees them: every documented field is present
 * (missing strings are '', missing maps {}, missing lists []), matched case-insensitively.
 */

export type Scope = 'local' | 'global';

// ---------------------------------------------------------------- NetworkDriver

/** /NetworkDriver.GetCapabilities */
export interface CapabilitiesResponse {
  /** local: networks exist on one host; global: cluster-wide. */
  Scope: Scope;
  /** Defaults to Scope. */
  ConnectivityScope?: Scope;
  /** Set it (and implement gwAllocCheck) to be asked before the gateway is reserved (Docker ≥ 28). */
  GwAllocChecker?: boolean;
}

/** One address pool of a network, as allocated by IPAM. */
export interface IPAMData {
  AddressSpace: string;
  /** The subnet, e.g. 172.18.0.0/16. */
  Pool: string;
  /** The gateway in CIDR form, e.g. 172.18.0.1/16 (absent if none was reserved). */
  Gateway?: string;
  /** name → CIDR */
  AuxAddresses?: Record<string, string>;
}

/** /NetworkDriver.CreateNetwork */
export interface CreateNetworkRequest {
  /** 64 hex characters, chosen by the daemon. Remember it: every later call names it. */
  NetworkID: string;
  /**
   * com.docker.network.generic: the user's `-o k=v` options (a string map);
   * com.docker.network.enable_ipv6 / enable_ipv4 / internal: booleans.
   */
  Options: Record<string, unknown>;
  IPv4Data: IPAMData[];
  IPv6Data: IPAMData[];
}

export interface NetworkRequest {
  NetworkID: string;
}

export interface EndpointRequest {
  NetworkID: string;
  EndpointID: string;
}

/** Addresses of an endpoint; '' = not set. */
export interface EndpointInterface {
  /** IPv4 in CIDR form (10.0.0.2/24). */
  Address: string;
  /** IPv6 in CIDR form. */
  AddressIPv6: string;
  /** aa:bb:cc:dd:ee:ff */
  MacAddress: string;
}

/** /NetworkDriver.CreateEndpoint */
export interface CreateEndpointRequest extends EndpointRequest {
  Interface: EndpointInterface;
  /** Endpoint options: com.docker.network.portmap, com.docker.network.endpoint.exposedports, driver opts… */
  Options: Record<string, unknown>;
}

/**
 * The driver may fill a field only if the request's field was empty (Docker fails the endpoint
 * with "driver modified interface address" otherwise). Return {} or no Interface to keep them.
 */
export interface CreateEndpointResponse {
  Interface?: Partial<EndpointInterface> | null;
}

/** /NetworkDriver.EndpointOperInfo */
export interface EndpointOperInfoResponse {
  Value: Record<string, unknown>;
}

/** /NetworkDriver.Join */
export interface JoinRequest extends EndpointRequest {
  /** Path of the container's network namespace (a bind-mounted nsfs file). */
  SandboxKey: string;
  /** Sandbox labels: com.docker.network.portmap, com.docker.network.endpoint.exposedports. */
  Options: Record<string, unknown>;
}

export const ROUTE_NEXTHOP = 0;
export const ROUTE_CONNECTED = 1;

export interface StaticRoute {
  Destination: string;
  /** 0 = via NextHop, 1 = connected (on-link through this interface). */
  RouteType: 0 | 1;
  NextHop?: string;
}

export interface InterfaceName {
  /** The interface you created in the daemon's network namespace; the daemon moves it into the sandbox. */
  SrcName: string;
  /** Name prefix inside the sandbox (e.g. "eth"). */
  DstPrefix: string;
}

export interface JoinResponse {
  InterfaceName?: InterfaceName | null;
  /** Plain IPv4 address of the default gateway. */
  Gateway?: string;
  GatewayIPv6?: string;
  StaticRoutes?: StaticRoute[];
  /** True: do not give the container a default route through another (gateway) network. */
  DisableGatewayService?: boolean;
}

/** /NetworkDriver.ProgramExternalConnectivity */
export interface ProgramExternalConnectivityRequest extends EndpointRequest {
  Options: Record<string, unknown>;
}

/** /NetworkDriver.DiscoverNew, /NetworkDriver.DiscoverDelete */
export interface DiscoveryRequest {
  /** 1 = node discovery: DiscoveryData is {Address, BindAddress, Self}. */
  DiscoveryType: number;
  DiscoveryData: Record<string, unknown>;
}

/** /NetworkDriver.AllocateNetwork (swarm managers, global scope) */
export interface AllocateNetworkRequest {
  NetworkID: string;
  Options: Record<string, string>;
  IPv4Data: IPAMData[];
  IPv6Data: IPAMData[];
}

export interface AllocateNetworkResponse {
  Options: Record<string, string>;
}

/** /NetworkDriver.GwAllocCheck (Docker ≥ 28) */
export interface GwAllocCheckRequest {
  Options: Record<string, unknown>;
}

export interface GwAllocCheckResponse {
  SkipIPv4?: boolean;
  SkipIPv6?: boolean;
}

/** A published port, as in com.docker.network.portmap. Proto: 6 tcp, 17 udp, 132 sctp, 1 icmp. */
export interface PortBinding {
  Proto: number;
  IP: string;
  Port: number;
  HostIP: string;
  HostPort: number;
  HostPortEnd: number;
}

/** An exposed port, as in com.docker.network.endpoint.exposedports. */
export interface TransportPort {
  Proto: number;
  Port: number;
}

type MaybePromise<T> = T | Promise<T>;

/**
 * A network plugin: one async function per protocol endpoint. Required: createNetwork,
 * deleteNetwork, createEndpoint, deleteEndpoint, join, leave. Every other one is optional:
 * - getCapabilities: default {Scope: 'local', ConnectivityScope: 'local'} (+ GwAllocChecker
 *   when gwAllocCheck is given);
 * - endpointOperInfo: default {Value: {}}; discoverNew/discoverDelete: default success;
 * - programExternalConnectivity, revokeExternalConnectivity, allocateNetwork, freeNetwork,
 *   gwAllocCheck: answered 404 ("not implemented") when absent, which Docker and tsnet accept.
 * Throw to fail a call: the message goes back as {"Err": "..."} (HTTP 500, or the status of a
 * PluginError). Deletes should succeed when the object is already gone.
 */
export interface NetworkDriverHandlers {
  getCapabilities?(): MaybePromise<CapabilitiesResponse>;
  createNetwork(req: CreateNetworkRequest): MaybePromise<void>;
  deleteNetwork(req: NetworkRequest): MaybePromise<void>;
  createEndpoint(req: CreateEndpointRequest): MaybePromise<CreateEndpointResponse | void>;
  endpointOperInfo?(req: EndpointRequest): MaybePromise<EndpointOperInfoResponse>;
  deleteEndpoint(req: EndpointRequest): MaybePromise<void>;
  join(req: JoinRequest): MaybePromise<JoinResponse>;
  leave(req: EndpointRequest): MaybePromise<void>;
  programExternalConnectivity?(req: ProgramExternalConnectivityRequest): MaybePromise<void>;
  revokeExternalConnectivity?(req: EndpointRequest): MaybePromise<void>;
  discoverNew?(req: DiscoveryRequest): MaybePromise<void>;
  discoverDelete?(req: DiscoveryRequest): MaybePromise<void>;
  allocateNetwork?(req: AllocateNetworkRequest): MaybePromise<AllocateNetworkResponse>;
  freeNetwork?(req: NetworkRequest): MaybePromise<void>;
  gwAllocCheck?(req: GwAllocCheckRequest): MaybePromise<GwAllocCheckResponse>;
}

// ---------------------------------------------------------------- IpamDriver

/** /IpamDriver.GetCapabilities */
export interface IpamCapabilitiesResponse {
  /** The daemon then sends the endpoint's MAC in RequestAddress (com.docker.network.endpoint.macaddress). */
  RequiresMACAddress?: boolean;
  /** The daemon replays RequestPool/RequestAddress for what it holds when it starts and when the plugin is re-activated after a restart. */
  RequiresRequestReplay?: boolean;
}

/** /IpamDriver.GetDefaultAddressSpaces */
export interface AddressSpacesResponse {
  LocalDefaultAddressSpace: string;
  GlobalDefaultAddressSpace: string;
}

/** /IpamDriver.RequestPool */
export interface RequestPoolRequest {
  AddressSpace: string;
  /** CIDR the user asked for (--subnet), or '' = you choose. */
  Pool: string;
  /** --ip-range, or ''. Never set without Pool (the SDK rejects that). */
  SubPool: string;
  /** --ipam-opt k=v */
  Options: Record<string, string>;
  V6: boolean;
}

export interface RequestPoolResponse {
  /** Your id for this pool; the other calls name it. */
  PoolID: string;
  /** CIDR. */
  Pool: string;
  /** Set com.docker.network.gateway (CIDR) to choose the gateway yourself. */
  Data?: Record<string, string>;
}

export interface PoolRequest {
  PoolID: string;
}

/** /IpamDriver.RequestAddress */
export interface RequestAddressRequest {
  PoolID: string;
  /** Plain IP the user asked for, or '' = you choose. */
  Address: string;
  /**
   * RequestAddressType = com.docker.network.gateway for the network's gateway;
   * com.docker.network.endpoint.name, com.docker.network.endpoint.macaddress for endpoints.
   */
  Options: Record<string, string>;
}

export interface RequestAddressResponse {
  /** CIDR form: 10.0.0.5/24. */
  Address: string;
  Data?: Record<string, string>;
}

/** /IpamDriver.ReleaseAddress */
export interface ReleaseAddressRequest {
  PoolID: string;
  /** Plain IP. */
  Address: string;
}

/**
 * An IPAM plugin. Required: requestPool, releasePool, requestAddress, releaseAddress.
 * Optional: getCapabilities (default: none required), getDefaultAddressSpaces (default
 * {LocalDefaultAddressSpace: 'local', GlobalDefaultAddressSpace: 'global'}).
 * Errors go back as {"Err": m, "Error": m} (both keys: Docker's IPAM proxy reads "Error").
 */
export interface IpamDriverHandlers {
  getCapabilities?(): MaybePromise<IpamCapabilitiesResponse>;
  getDefaultAddressSpaces?(): MaybePromise<AddressSpacesResponse>;
  requestPool(req: RequestPoolRequest): MaybePromise<RequestPoolResponse>;
  releasePool(req: PoolRequest): MaybePromise<void>;
  requestAddress(req: RequestAddressRequest): MaybePromise<RequestAddressResponse>;
  releaseAddress(req: ReleaseAddressRequest): MaybePromise<void>;
}

// ---------------------------------------------------------------- option keys Docker uses

export const OPT_GENERIC = 'com.docker.network.generic';
export const OPT_ENABLE_IPV4 = 'com.docker.network.enable_ipv4';
export const OPT_ENABLE_IPV6 = 'com.docker.network.enable_ipv6';
export const OPT_INTERNAL = 'com.docker.network.internal';
export const OPT_PORTMAP = 'com.docker.network.portmap';
export const OPT_EXPOSED_PORTS = 'com.docker.network.endpoint.exposedports';
export const OPT_ENDPOINT_NAME = 'com.docker.network.endpoint.name';
export const OPT_ENDPOINT_MAC = 'com.docker.network.endpoint.macaddress';
export const OPT_REQUEST_ADDRESS_TYPE = 'RequestAddressType';
export const GATEWAY_ADDRESS_TYPE = 'com.docker.network.gateway';
export const DATA_GATEWAY = 'com.docker.network.gateway';
