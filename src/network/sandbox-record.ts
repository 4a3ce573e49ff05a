/**
 * The network layer's own records of containers' sandboxes and endpoints (as libnetwork's
 * sandbox and endpoint), persisted under `<root>/state/sandboxes/` and `<root>/state/endpoints/`.
 * The NetworkController is their only writer; the runtime keeps only the sandbox id.
 */
import type { EndpointState, PublishedPort, SandboxRequest } from './container-api.js';
import type { HostEntry } from './etc-entries.js';

/** The network mode of a sandbox: a network mode driver (host, none, container) or endpoints on networks. */
export type SandboxMode = 'none' | 'host' | 'container' | 'networks';

/** What the container asked for its sandbox (Docker's sandbox options), kept for later starts. */
export type SandboxOptions = Pick<
  SandboxRequest,
  'hostname' | 'portBindings' | 'publishAll' | 'exposedPorts' | 'dns' | 'dnsSearch' | 'dnsOptions'
>;

export interface SandboxRecord {
  /** 64 hex, Docker's SandboxID. */
  id: string;
  containerId: string;
  containerName: string;
  mode: SandboxMode;
  /** mode 'container': the sandbox (of another container) whose netns is shared. */
  sharedWith?: string;
  /** The netns file (absent for host and container modes). */
  key?: string;
  options: SandboxOptions;
  /** The network whose endpoint has the default route and the published ports. */
  gatewayNetwork?: string;
  /** Ports published now (programmed at start, revoked at stop). */
  ports: PublishedPort[];
  /** Legacy links (`--link` on the default bridge): target container id and alias. */
  links?: Array<{ id: string; alias: string }>;
  /** Docker's link environment variables, computed at the last start (exec gets them too). */
  linkEnv?: string[];
  /** The /etc/hosts entries of the legacy links, computed at the last start. */
  linkHosts?: HostEntry[];
}

/**
 * Endpoint states. `active`: made and joined. `pending-delete`: the endpoint is going — saved
 * before a disconnect's driver and IPAM calls (intent before effect), and kept with a `teardown`
 * when rm / disconnect -f could not reach a plugin (the pending delete of issue 15, retried by
 * pending-deletes.ts until the plugin is told; the record then outlives its sandbox). Every change
 * of state goes through NetworkController.setEndpointState, which allows only the transitions below.
 */
export type EndpointStatus = 'active' | 'pending-delete';

export const ENDPOINT_TRANSITIONS: Readonly<Record<EndpointStatus, readonly EndpointStatus[]>> = {
  active: ['pending-delete'],
  // a driver refused a disconnect without -f: the endpoint stays, as it was
  'pending-delete': ['active'],
};

/** What a pending delete still has to tell the plugins, in Docker's order. */
export type TeardownStep = 'leave' | 'deleteEndpoint' | 'releaseAddress';

/** The unfinished teardown of a `pending-delete` endpoint whose plugin did not answer. */
export interface Teardown {
  steps: TeardownStep[];
  /** The leased addresses (CIDR form) and their pools, for ReleaseAddress. */
  addresses: Array<{ poolId: string; address: string }>;
  since: string;
  lastError: string;
  attempts: number;
}

export interface EndpointRecord extends EndpointState {
  /** = endpointId (the record store's key). */
  id: string;
  sandboxId: string;
  containerId: string;
  containerName: string;
  state: EndpointStatus;
  /** Order of the endpoint in its sandbox (Docker lists a container's networks in this order). */
  seq: number;
  /** Set on a `pending-delete` endpoint waiting for its plugin (it is in no sandbox any more). */
  teardown?: Teardown;
}
