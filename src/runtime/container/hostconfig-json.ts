/**
 * Inspect's HostConfig with every key dockerd shows (20.10, API 1.41), its zero value where the
 * create request left one out: SDK clients read `attrs['HostConfig']['Binds']`, `['CpuShares']`,
 * `['VolumesFrom']` without a default, and a minimal API create stored only what it sent. Values
 * the daemon decides are shown as it applies them: the IPC and cgroup namespaces are the
 * container's own (tsnet-init unshares both), /dev/shm is 64 MiB unless ShmSize says otherwise,
 * a memory limit without a swap limit gets twice the memory as memory+swap (cgroup-limits.ts
 * writes it; dockerd stores it at create), and MaskedPaths / ReadonlyPaths are tsnet-init's
 * (system-paths.ts).
 */
import { systemPaths } from './system-paths.js';
import type { HostConfig } from './types.js';

const DEFAULT_SHM = 64 * 1024 * 1024;

const ZERO: Record<string, unknown> = {
  Binds: null,
  ContainerIDFile: '',
  LogConfig: { Type: 'json-file', Config: {} },
  NetworkMode: 'default',
  PortBindings: {},
  RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
  AutoRemove: false,
  VolumeDriver: '',
  VolumesFrom: null,
  CapAdd: null,
  CapDrop: null,
  CgroupnsMode: 'private',
  Dns: null,
  DnsOptions: null,
  DnsSearch: null,
  ExtraHosts: null,
  GroupAdd: null,
  IpcMode: 'private',
  Cgroup: '',
  Links: null,
  OomScoreAdj: 0,
  PidMode: '',
  Privileged: false,
  PublishAllPorts: false,
  ReadonlyRootfs: false,
  SecurityOpt: null,
  UTSMode: '',
  UsernsMode: '',
  ShmSize: DEFAULT_SHM,
  ConsoleSize: [0, 0],
  Isolation: '',
  CpuShares: 0,
  Memory: 0,
  NanoCpus: 0,
  CgroupParent: '',
  BlkioWeight: 0,
  BlkioWeightDevice: null,
  BlkioDeviceReadBps: null,
  BlkioDeviceWriteBps: null,
  BlkioDeviceReadIOps: null,
  BlkioDeviceWriteIOps: null,
  CpuPeriod: 0,
  CpuQuota: 0,
  CpuRealtimePeriod: 0,
  CpuRealtimeRuntime: 0,
  CpusetCpus: '',
  CpusetMems: '',
  Devices: null,
  DeviceCgroupRules: null,
  DeviceRequests: null,
  KernelMemory: 0,
  KernelMemoryTCP: 0,
  MemoryReservation: 0,
  MemorySwap: 0,
  MemorySwappiness: null,
  OomKillDisable: false,
  PidsLimit: null,
  Ulimits: null,
  CpuCount: 0,
  CpuPercent: 0,
  IOMaximumIOps: 0,
  IOMaximumBandwidth: 0,
};

/** `hc` over Docker's zero values (a key the request left out or sent as undefined shows its zero). */
export function hostConfigJson(hc: HostConfig, runtime: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...ZERO, Runtime: runtime };
  for (const [k, v] of Object.entries(hc)) if (v !== undefined) out[k] = v;
  if (!out.IpcMode) out.IpcMode = ZERO.IpcMode;
  if (!out.CgroupnsMode) out.CgroupnsMode = ZERO.CgroupnsMode;
  if (!out.ShmSize) out.ShmSize = DEFAULT_SHM;
  const memory = typeof out.Memory === 'number' ? out.Memory : 0;
  if (!out.MemorySwap && memory > 0) out.MemorySwap = memory * 2;
  // what tsnet-init masks, whatever the request sent (create refuses another list)
  return { ...out, ...systemPaths(hc.Privileged) };
}
