/**
 * What the container runtime and the network layer share: the runtime's request for a
 * container's networks, the network state shown back through the Docker API, and the
 * operations the runtime calls (ContainerNetworking). The runtime imports these from here;
 * src/network imports nothing from src/runtime.
 */
import type { HostEntry } from './etc-entries.js';

/** Docker's EndpointSettings as a create/connect request carries them. */
export interface EndpointSettingsRequest {
  Aliases?: string[] | null;
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] | null } | null;
  MacAddress?: string;
  Links?: string[] | null;
  DriverOpts?: Record<string, string> | null;
  [key: string]: unknown;
}

export interface EndpointState {
  networkId: string;
  networkName: string;
  endpointId: string;
  aliases: string[];
  ipv4?: string; // cidr form 10.42.0.2/24
  ipv6?: string;
  gateway?: string;
  gateway6?: string;
  mac?: string;
  ifname?: string;
  /** Requested static addresses (kept so `network inspect` / reconnects can show them). */
  ipamConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] };
  /** `NAME:ALIAS` as given (user networks: ALIAS resolves to NAME for this container only). */
  links?: string[];
  /** Endpoint driver options as given (`--driver-opt`), passed to the driver's CreateEndpoint. */
  driverOpts?: Record<string, string>;
}

export interface PublishedPort {
  proto: 'tcp' | 'udp' | 'sctp';
  hostIp: string;
  hostPort: number;
  containerPort: number;
}

export interface ContainerNetworkState {
  mode: 'none' | 'host' | 'container' | 'networks';
  /** For mode 'container': the id of the container whose netns is shared. */
  sharedWith?: string;
  /** The netns file of the sandbox (absent for host mode). */
  sandboxKey?: string;
  endpoints: Record<string, EndpointState>; // keyed by network id
  /** The network whose endpoint has the default route and the published ports. */
  gatewayNetwork?: string;
  ports: PublishedPort[];
  /** Legacy links (`--link` on the default bridge): target container id and alias. */
  links?: Array<{ id: string; alias: string }>;
  /** Docker's link environment variables, computed at the last start (exec gets them too). */
  linkEnv?: string[];
  /** The /etc/hosts entries of the legacy links, computed at the last start. */
  linkHosts?: HostEntry[];
}

/**
 * The parts of a container the network layer reads (the runtime's record is one). Structural:
 * the network layer never sees the runtime's own types.
 */
export interface NetworkedContainer {
  id: string;
  name: string;
  config: { Hostname: string; ExposedPorts?: Record<string, object>; Env?: string[] };
  hostConfig: {
    NetworkMode?: string;
    Links?: string[] | null;
    PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null;
    PublishAllPorts?: boolean;
    Dns?: string[] | null;
    DnsSearch?: string[] | null;
    DnsOptions?: string[] | null;
  };
  networkingConfig: { EndpointsConfig?: Record<string, EndpointSettingsRequest | null> | null };
  state: { Status: string };
  network: ContainerNetworkState;
}

/** What tsnet-init needs to join a container's network. */
export interface SandboxSetup {
  /** netns file to join; undefined = the daemon's own (host) network namespace. */
  netnsPath?: string;
  /** Host network mode shares the host's UTS namespace too, as Docker does. */
  shareHostUts: boolean;
  hosts: HostEntry[];
  /** The whole /etc/hosts text instead of the generated one (host mode copies the host's). */
  hostsText?: string;
  resolvConf: string;
}

/**
 * What the container runtime needs from the network layer. The runtime never touches links,
 * addresses or rules itself; it asks for a sandbox before a start and hands it back.
 */
export interface ContainerNetworking {
  /** Validate the network request and fill `rec.network`; no kernel change. Throws on bad input. */
  plan(rec: NetworkedContainer): Promise<void>;
  /** Make the sandbox and endpoints (addresses reserved now, kept across restarts). */
  create(rec: NetworkedContainer): Promise<void>;
  /** Before each start: make sure the sandbox is wired; returns what tsnet-init needs. */
  prepare(rec: NetworkedContainer): Promise<SandboxSetup>;
  /** After the container's processes are gone (stop, exit, crash). */
  released(rec: NetworkedContainer): Promise<void>;
  /** On rm: remove sandbox and endpoints. Idempotent. */
  remove(rec: NetworkedContainer): Promise<void>;
  /** Per-interface counters in the container's network namespace ({} for host mode). */
  interfaceStats?(rec: NetworkedContainer): Promise<Record<string, InterfaceCounters>>;
}

export interface InterfaceCounters {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}
