/**
 * What the container runtime and the network layer share: the runtime's request for a
 * container's networks (SandboxRequest), the network state shown back through the Docker API
 * (ContainerNetworkState, a view built from the network's records), and the operations the
 * runtime calls (ContainerNetworking). The runtime imports these from here;
 * src/network imports nothing from src/runtime.
 */
import type { HostEntry } from './etc-entries.js';
import type { SandboxRecord } from './sandbox-record.js';

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

/** A container's network as the Docker API shows it: a view of the sandbox and endpoint records. */
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

/** What the runtime asks for a container's network at create (from Docker's create request). */
export interface SandboxRequest {
  containerId: string;
  containerName: string;
  hostname: string;
  /** HostConfig.NetworkMode: default, bridge, host, none, container:<ref>, or a network. */
  networkMode?: string;
  endpointsConfig: Record<string, EndpointSettingsRequest | null>;
  portBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null;
  publishAll?: boolean;
  exposedPorts?: Record<string, object>;
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  /** HostConfig.Links: legacy links (`NAME:ALIAS`), resolved at plan on the default bridge. */
  links?: string[];
}

/** A validated request: nothing made, nothing saved yet. */
export interface SandboxPlan {
  readonly sandboxId: string;
  /** Docker ignores published ports of host and none containers: the runtime drops them. */
  readonly ignoresPorts: boolean;
  readonly record: SandboxRecord;
  readonly endpoints: readonly EndpointState[];
}

/** A container as the network layer may ask about it (container mode, legacy links). */
export interface ContainerRef {
  id: string;
  name: string;
  sandboxId: string;
  /** Config.Env (a legacy link's target hands it on as `ALIAS_ENV_*`). */
  env?: string[];
}

/** Resolves a container reference (id, name, id prefix), or undefined. */
export type ContainerLookup = (ref: string) => ContainerRef | undefined;

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
  /** Docker's legacy link environment variables (the container's own Env overrides them). */
  linkEnv?: string[];
}

/**
 * What the container runtime calls on the network layer, by sandbox id. The runtime never touches
 * links, addresses or rules itself, and keeps only the sandbox id; the network layer owns the
 * sandbox and endpoint records. Today's timing (architecture decision 2): createSandbox + join at
 * create, programExternalConnectivity at start, revokeExternalConnectivity at stop/exit,
 * deleteSandbox at rm (its endpoints leave with it). Moving join/leave to start/stop is a change
 * of the runtime's calls only.
 */
export interface ContainerNetworking {
  /** Validate the request (no kernel change, nothing saved). Throws one line on bad input. */
  plan(req: SandboxRequest, containers: ContainerLookup): Promise<SandboxPlan>;
  /** Is there a record of this sandbox? (Not after a power loss right after the create: decision 36.) */
  hasSandbox(sandboxId: string): boolean;
  /** Make the sandbox (its netns, for modes that have one) and save its record. */
  createSandbox(plan: SandboxPlan): Promise<void>;
  /** Make the planned endpoints and join them to the sandbox (addresses kept until leave). */
  join(sandboxId: string, endpoints: readonly EndpointState[]): Promise<void>;
  /** Every endpoint of the sandbox leaves it and is deleted. Idempotent. */
  leave(sandboxId: string): Promise<void>;
  /**
   * Remove the sandbox and every endpoint still in it (an interface that dies with the netns is
   * not deleted one by one: LeaveOptions.sandboxRemoved). Idempotent. The network layer tracks
   * it while it runs, so a caller may answer before it ends (a `run --rm` removal): network rm
   * and prune wait for it, network inspect no longer shows its endpoints. `after`: the work
   * begins once it resolves, and is tracked from this call on.
   */
  deleteSandbox(sandboxId: string, after?: Promise<void>): Promise<void>;
  /**
   * Before a start: the sandbox is made again if a reboot removed it, published ports are
   * programmed on the gateway endpoint, the embedded resolver runs. Returns what tsnet-init needs.
   */
  programExternalConnectivity(sandboxId: string, containers: ContainerLookup): Promise<SandboxSetup>;
  /** After the container's processes are gone (stop, exit, crash): published ports go. */
  revokeExternalConnectivity(sandboxId: string): Promise<void>;
  /** `network connect` (running or stopped container); returns the new /etc/hosts entries. */
  connect(sandboxId: string, networkRef: string, cfg: EndpointSettingsRequest | null): Promise<HostEntry[]>;
  /** `network disconnect [-f]`; returns the new /etc/hosts entries. */
  disconnect(sandboxId: string, networkRef: string, force: boolean): Promise<HostEntry[]>;
  /**
   * `rm --link PARENT/ALIAS`: the sandbox loses that legacy link and its /etc/hosts entries;
   * returns the new entries, or undefined when it had no such link.
   */
  removeLink(sandboxId: string, alias: string): Promise<HostEntry[] | undefined>;
  /** The container was renamed (DNS answers its new name). */
  rename(sandboxId: string, name: string): Promise<void>;
  /** The live network state of the sandbox, for the Docker API. */
  view(sandboxId: string): ContainerNetworkState;
  /** A number that changes whenever view(sandboxId) may have changed (for callers that keep what they built from it). */
  viewRevision(sandboxId: string): number;
  /**
   * Start-up, after the runtime loaded its records: sandboxes of no container go (with their
   * endpoints); those of containers not running lose their published ports.
   */
  reconcile(live: ReadonlyArray<{ sandboxId: string; running: boolean }>): Promise<void>;
  /** Start-up: a running container gets its port reservations and resolver back. */
  adoptRunning(sandboxId: string): Promise<void>;
  /**
   * Start-up migration of a container record from before the network layer kept its own records
   * (tsnet ≤ 0.x kept endpoints inside the container record): records are made from that state.
   */
  migrate(req: SandboxRequest, old: ContainerNetworkState, running: boolean): Promise<string>;
  /** Netns files of every sandbox (the start-up sweep keeps these). */
  sandboxKeys(): Set<string>;
  /** Per-interface counters in the sandbox's network namespace ({} for host mode). */
  interfaceStats(sandboxId: string): Promise<Record<string, InterfaceCounters>>;
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
