/** Container records: Docker's Config/HostConfig shapes plus tsnet's runtime state. */
import type { HealthConfig, HealthState } from '../health/types.js';
import type { MountPoint } from '../volumes/types.js';
import type { EndpointSettingsRequest } from '../../network/container-api.js';

export type {
  ContainerNetworkState,
  EndpointSettingsRequest,
  EndpointState,
  PublishedPort,
} from '../../network/container-api.js';

export interface ContainerConfig {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts?: Record<string, object>;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[];
  Cmd: string[];
  Entrypoint: string[] | null;
  Image: string;
  WorkingDir: string;
  Labels: Record<string, string>;
  MacAddress?: string;
  StopSignal?: string;
  StopTimeout?: number;
  Healthcheck?: HealthConfig;
  /** Anonymous volume destinations (`-v /path`), as Docker's Config.Volumes. */
  Volumes?: Record<string, object> | null;
}

export interface PortBinding {
  HostIp: string;
  HostPort: string;
}

export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

export interface HostConfig {
  Binds?: string[] | null;
  NetworkMode?: string;
  /** Legacy links `NAME:ALIAS` (the default bridge; user networks take EndpointsConfig.<net>.Links). */
  Links?: string[] | null;
  PortBindings?: Record<string, PortBinding[] | null> | null;
  PublishAllPorts?: boolean;
  AutoRemove?: boolean;
  Memory?: number;
  MemorySwap?: number;
  NanoCpus?: number;
  CpuQuota?: number;
  CpuPeriod?: number;
  PidsLimit?: number | null;
  Privileged?: boolean;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  Devices?: Array<{ PathOnHost: string; PathInContainer?: string; CgroupPermissions?: string }> | null;
  DeviceCgroupRules?: string[] | null;
  SecurityOpt?: string[] | null;
  ReadonlyRootfs?: boolean;
  Dns?: string[] | null;
  DnsSearch?: string[] | null;
  DnsOptions?: string[] | null;
  ExtraHosts?: string[] | null;
  /** Supplementary groups: names from the container's /etc/group, or gids. */
  GroupAdd?: string[] | null;
  Runtime?: string;
  /** setrlimit of the container's processes (run and exec), Docker's names (src/runtime/container/ulimits.ts) */
  Ulimits?: Ulimit[] | null;
  /** namespaced sysctls written at each start (src/runtime/container/sysctls.ts) */
  Sysctls?: Record<string, string> | null;
  /** /dev/shm's size in bytes (0 at create: Docker's 64 MiB, stored as such) */
  ShmSize?: number;
  IpcMode?: string;
  [key: string]: unknown;
}

export interface NetworkingConfig {
  EndpointsConfig?: Record<string, EndpointSettingsRequest | null> | null;
}

export type ContainerStatus = 'created' | 'running' | 'exited' | 'removing' | 'dead';

export interface ContainerState {
  Status: ContainerStatus;
  /** Frozen by `pause` (Status stays 'running', as in Docker's State.Running). */
  Paused?: boolean;
  Pid: number;
  SupervisorPid: number;
  ExitCode: number;
  OOMKilled: boolean;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  /** Waiting for a restart by policy (Docker's State.Restarting). */
  Restarting?: boolean;
  /** Stopped or killed through the API: no restart by policy (Docker's HasBeenManuallyStopped). */
  ManuallyStopped?: boolean;
  Health?: HealthState;
}

export interface ContainerRecord {
  id: string;
  name: string;
  created: string;
  path: string;
  args: string[];
  imageId: string;
  config: ContainerConfig;
  hostConfig: HostConfig;
  networkingConfig: NetworkingConfig;
  state: ContainerState;
  restartCount: number;
  /** Binds, volumes and tmpfs mounts, resolved at create (absent in records older than volumes). */
  mounts?: MountPoint[];
  /**
   * The container's sandbox in the network layer, which owns its state (endpoints, addresses,
   * published ports): read it with ContainerManager.network(). The request stays here
   * (hostConfig.NetworkMode, PortBindings, networkingConfig).
   */
  sandboxId: string;
}
