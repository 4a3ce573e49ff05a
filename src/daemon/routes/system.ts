/** /_ping, /version, /info. */
import os from 'node:os';
import type { Route } from '../http/router.js';
import { osRelease, sysctlOn } from './host-facts.js';
import { API_VERSION, MIN_API_VERSION } from '../http/version.js';

export const TSNET_VERSION = '0.1.0';

export interface SystemDeps {
  root: string;
  execRoot: string;
  cgroupVersion: 1 | 2;
  counts: () => { containers: number; running: number; stopped: number; images: () => Promise<number> };
  startedAt: Date;
  networkDrivers: () => string[];
  /** Open GET /events streams. */
  eventListeners?: () => number;
  /** The Swarm section (single-node swarm mode, or inactive). */
  swarm?: () => unknown;
}

export function systemRoutes(d: SystemDeps): Route[] {
  const ping = async () => ({
    status: 200,
    text: 'OK',
    headers: { 'Cache-Control': 'no-cache, no-store, must-revalidate', Pragma: 'no-cache', 'Builder-Version': '' },
  });
  return [
    { method: 'GET', pattern: '/_ping', schema: {}, handler: ping },
    { method: 'HEAD', pattern: '/_ping', schema: {}, handler: ping },
    {
      method: 'GET',
      pattern: '/version',
      schema: {},
      handler: async () => ({
        status: 200,
        json: {
          Platform: { Name: 'tsnet' },
          Components: [
            {
              Name: 'Engine',
              Version: TSNET_VERSION,
              Details: {
                ApiVersion: API_VERSION,
                MinAPIVersion: MIN_API_VERSION,
                Os: 'linux',
                Arch: 'amd64',
                KernelVersion: os.release(),
              },
            },
          ],
          Version: TSNET_VERSION,
          ApiVersion: API_VERSION,
          MinAPIVersion: MIN_API_VERSION,
          GitCommit: 'tsnet',
          GoVersion: `node ${process.version}`,
          Os: 'linux',
          Arch: process.arch === 'x64' ? 'amd64' : process.arch,
          KernelVersion: os.release(),
          BuildTime: d.startedAt.toISOString(),
        },
      }),
    },
    {
      method: 'GET',
      pattern: '/info',
      schema: {},
      handler: async () => {
        const c = d.counts();
        const release = osRelease();
        return {
          status: 200,
          json: {
            ID: 'tsnet',
            Containers: c.containers,
            ContainersRunning: c.running,
            ContainersPaused: 0,
            ContainersStopped: c.stopped,
            Images: await c.images(),
            Driver: 'overlay',
            DriverStatus: [['Backing Filesystem', 'overlayfs layers']],
            Plugins: { Volume: ['local'], Network: d.networkDrivers(), Authorization: null, Log: ['json-file', 'local'] },
            MemoryLimit: true,
            // what tsnet applies (cgroup-limits.ts): cpu.shares, cpuset, and on v1 memory.oom_control
            CPUShares: true,
            CPUSet: true,
            OomKillDisable: d.cgroupVersion === 1,
            BridgeNfIptables: sysctlOn('net.bridge.bridge-nf-call-iptables'),
            BridgeNfIp6tables: sysctlOn('net.bridge.bridge-nf-call-ip6tables'),
            SwapLimit: true,
            CpuCfsPeriod: true,
            CpuCfsQuota: true,
            PidsLimit: true,
            IPv4Forwarding: true,
            Debug: false,
            NFd: 0,
            NGoroutines: 0,
            SystemTime: new Date().toISOString(),
            LoggingDriver: 'json-file',
            CgroupDriver: 'cgroupfs',
            CgroupVersion: String(d.cgroupVersion),
            NEventsListener: d.eventListeners?.() ?? 0,
            KernelVersion: os.release(),
            OperatingSystem: release.name,
            OSVersion: release.version,
            OSType: 'linux',
            Architecture: os.machine(),
            NCPU: os.cpus().length,
            MemTotal: os.totalmem(),
            // the registry a bare name is pulled from; the docker CLI keys its Docker Hub login by it
            IndexServerAddress: 'https://index.docker.io/v1/',
            RegistryConfig: null,
            DockerRootDir: d.root,
            ExecRoot: d.execRoot,
            HttpProxy: '',
            HttpsProxy: '',
            NoProxy: '',
            Name: os.hostname(),
            Labels: [],
            ExperimentalBuild: false,
            ServerVersion: TSNET_VERSION,
            Runtimes: { 'tsnet-init': { path: 'tsnet-init' } },
            DefaultRuntime: 'tsnet-init',
            LiveRestoreEnabled: true,
            Isolation: '',
            InitBinary: '',
            SecurityOptions: ['name=seccomp,profile=builtin', 'name=no-new-privileges'],
            Swarm: d.swarm?.() ?? {
              NodeID: '',
              NodeAddr: '',
              LocalNodeState: 'inactive',
              ControlAvailable: false,
              Error: '',
              RemoteManagers: null,
            },
            Warnings: [],
          },
        };
      },
    },
  ];
}
