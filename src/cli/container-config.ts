/**
 * `run` / `create` flags → the body of POST /containers/create (Docker's shapes), as the
 * docker CLI builds it. Every bad value becomes a one-line UsageError naming the flag.
 */
import { invalidArgument, UsageError } from './errors.js';
import { buildEnv, readFrom } from './parse/env.js';
import { parseKeyValues, parseSysctls } from './parse/kv.js';
import { buildNetworkConfig, type EndpointSettings } from './parse/network.js';
import { buildPorts, type PortBinding } from './parse/ports.js';
import { type DeviceMapping, parseDevice, parseSecurityOpt } from './parse/security.js';
import { parseVolume } from './parse/volume.js';
import { parseGoDuration } from './parse/duration.js';
import { parseMount, parseTmpfs, type MountSpec } from './parse/mount.js';
import { parseRestart } from './parse/restart.js';
import { parseUlimit, type UlimitSpec } from './parse/ulimit.js';

/** commander's option values for run/create (repeatable flags are arrays). */
export interface ContainerFlags {
  detach?: boolean;
  interactive?: boolean;
  tty?: boolean;
  rm?: boolean;
  name?: string;
  hostname?: string;
  env: string[];
  envFile: string[];
  workdir?: string;
  user?: string;
  volume: string[];
  memory?: number;
  cpus?: number;
  pidsLimit?: number;
  /** --memory-swap, --memory-reservation, -c/--cpu-shares, --cpu-period, --cpu-quota, --cpuset-cpus|mems, --blkio-weight */
  resources: Record<string, number | string>;
  /** --network and --net, in command-line order. */
  networks: string[];
  networkAlias: string[];
  link: string[];
  linkLocalIp: string[];
  ip?: string;
  ip6?: string;
  publish: string[];
  publishAll?: boolean;
  expose: string[];
  entrypoint?: string;
  privileged?: boolean;
  capAdd: string[];
  capDrop: string[];
  device: string[];
  deviceCgroupRule: string[];
  securityOpt: string[];
  readOnly?: boolean;
  logDriver?: string;
  logOpt: string[];
  label: string[];
  macAddress?: string;
  addHost: string[];
  dns: string[];
  dnsSearch: string[];
  dnsOption: string[];
  groupAdd: string[];
  ulimit: string[];
  sysctl: string[];
  shmSize?: number;
  oomScoreAdj?: number;
  ipc?: string;
  restart?: string;
  mount: string[];
  tmpfs: string[];
  healthCmd?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthRetries?: number;
  healthStartPeriod?: string;
  healthStartInterval?: string;
  /** false with --no-healthcheck */
  healthcheck?: boolean;
}

export interface CreateBody {
  Hostname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[];
  Cmd: string[] | null;
  Entrypoint: string[] | null;
  Image: string;
  WorkingDir: string;
  Labels: Record<string, string>;
  ExposedPorts: Record<string, Record<string, never>>;
  MacAddress: string;
  Volumes?: Record<string, Record<string, never>>;
  Healthcheck?: HealthConfig;
  HostConfig: {
    RestartPolicy?: { Name: string; MaximumRetryCount: number };
    Mounts?: MountSpec[];
    Tmpfs?: Record<string, string>;
    Binds: string[];
    NetworkMode: string;
    PortBindings: Record<string, PortBinding[]>;
    PublishAllPorts: boolean;
    AutoRemove: boolean;
    Memory: number;
    NanoCpus: number;
    PidsLimit: number | null;
    MemorySwap?: number;
    MemoryReservation?: number;
    CpuShares?: number;
    CpuPeriod?: number;
    CpuQuota?: number;
    CpusetCpus?: string;
    CpusetMems?: string;
    BlkioWeight?: number;
    Privileged: boolean;
    CapAdd: string[];
    CapDrop: string[];
    Devices: DeviceMapping[];
    DeviceCgroupRules: string[];
    SecurityOpt: string[];
    ReadonlyRootfs: boolean;
    ExtraHosts: string[] | null;
    Links: string[] | null;
    Dns: string[];
    DnsSearch: string[];
    DnsOptions: string[];
    GroupAdd: string[] | null;
    Ulimits?: UlimitSpec[];
    Sysctls?: Record<string, string>;
    ShmSize?: number;
    OomScoreAdj?: number;
    IpcMode?: string;
    LogConfig?: { Type: string; Config: Record<string, string> };
  };
  NetworkingConfig: { EndpointsConfig: Record<string, EndpointSettings> };
}

/** `run` (attached or -d) or `create`: decides the Attach* / StdinOnce fields like docker. */
export type CreateMode = 'run' | 'create';

const MAC = /^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$/;

export function buildCreateBody(
  image: string,
  command: string[],
  f: ContainerFlags,
  mode: CreateMode,
  env: NodeJS.ProcessEnv,
  cwd: string,
): CreateBody {
  const interactive = f.interactive === true;
  const detached = mode === 'run' && f.detach === true;

  let Env: string[];
  try {
    Env = buildEnv(f.env, f.envFile, (k) => env[k], readFrom(cwd));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }

  const volumes = f.volume.map((spec) => {
    try {
      return parseVolume(spec, cwd);
    } catch (err) {
      throw invalidArgument(spec, '-v, --volume', (err as Error).message);
    }
  });
  // `-v /path` (no colon) is an anonymous volume: Config.Volumes, as docker sends it
  const Binds = volumes.filter((v) => v.includes(':'));
  const anonymous = volumes.filter((v) => !v.includes(':'));
  const Mounts = f.mount.map((spec) => {
    try {
      return parseMount(spec);
    } catch (err) {
      throw invalidArgument(spec, '--mount', (err as Error).message);
    }
  });
  const Tmpfs: Record<string, string> = {};
  for (const spec of f.tmpfs) {
    try {
      const [dst, opts] = parseTmpfs(spec);
      Tmpfs[dst] = opts;
    } catch (err) {
      throw invalidArgument(spec, '--tmpfs', (err as Error).message);
    }
  }
  let RestartPolicy: { Name: string; MaximumRetryCount: number } | undefined;
  if (f.restart !== undefined) {
    try {
      RestartPolicy = parseRestart(f.restart);
    } catch (err) {
      throw invalidArgument(f.restart, '--restart', (err as Error).message);
    }
  }
  const Healthcheck = healthConfig(f);

  const Devices = f.device.map((spec) => {
    try {
      return parseDevice(spec);
    } catch (err) {
      throw invalidArgument(spec, '--device', (err as Error).message);
    }
  });
  const SecurityOpt = f.securityOpt.map((opt) => {
    try {
      return parseSecurityOpt(opt, cwd);
    } catch (err) {
      throw invalidArgument(opt, '--security-opt', (err as Error).message);
    }
  });

  const { ExposedPorts, PortBindings } = buildPorts(f.publish, f.expose, invalidArgument);

  let network: ReturnType<typeof buildNetworkConfig>;
  try {
    network = buildNetworkConfig({
      networks: f.networks,
      aliases: f.networkAlias,
      ip: f.ip,
      ip6: f.ip6,
      links: f.link,
      linkLocalIps: f.linkLocalIp,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }

  let Labels: Record<string, string>;
  try {
    Labels = parseKeyValues(f.label);
  } catch (err) {
    throw new UsageError(`-l, --label: ${(err as Error).message}`);
  }

  // one per name, the last one given (as the docker CLI's map)
  const ulimits = new Map<string, UlimitSpec>();
  for (const spec of f.ulimit) {
    try {
      const u = parseUlimit(spec);
      ulimits.delete(u.Name);
      ulimits.set(u.Name, u);
    } catch (err) {
      throw invalidArgument(spec, '--ulimit', (err as Error).message);
    }
  }
  let Sysctls: Record<string, string>;
  try {
    Sysctls = parseSysctls(f.sysctl);
  } catch (err) {
    throw new UsageError(`--sysctl: ${(err as Error).message}`);
  }

  if (f.macAddress !== undefined && !MAC.test(f.macAddress)) {
    throw invalidArgument(f.macAddress, '--mac-address', 'not a MAC address (like 92:d0:c6:0a:29:33)');
  }

  return {
    Hostname: f.hostname ?? '',
    User: f.user ?? '',
    AttachStdin: !detached && interactive,
    AttachStdout: !detached,
    AttachStderr: !detached,
    Tty: f.tty === true,
    OpenStdin: interactive,
    StdinOnce: mode === 'run' && !detached && interactive,
    Env,
    Cmd: command.length > 0 ? command : null,
    Entrypoint: f.entrypoint === undefined ? null : [f.entrypoint],
    Image: image,
    WorkingDir: f.workdir ?? '',
    Labels,
    ExposedPorts,
    MacAddress: f.macAddress ?? '',
    ...(anonymous.length ? { Volumes: Object.fromEntries(anonymous.map((v) => [v, {}])) } : {}),
    ...(Healthcheck ? { Healthcheck } : {}),
    HostConfig: {
      Binds,
      ...(RestartPolicy ? { RestartPolicy } : {}),
      ...(Mounts.length ? { Mounts } : {}),
      ...(f.tmpfs.length ? { Tmpfs } : {}),
      NetworkMode: network.NetworkMode,
      PortBindings,
      PublishAllPorts: f.publishAll === true,
      AutoRemove: f.rm === true,
      Memory: f.memory ?? 0,
      NanoCpus: f.cpus ?? 0,
      PidsLimit: f.pidsLimit === undefined || f.pidsLimit === 0 ? null : f.pidsLimit,
      ...f.resources,
      Privileged: f.privileged === true,
      CapAdd: f.capAdd,
      CapDrop: f.capDrop,
      Devices,
      DeviceCgroupRules: f.deviceCgroupRule,
      SecurityOpt,
      ReadonlyRootfs: f.readOnly === true,
      ExtraHosts: f.addHost.length ? f.addHost : null,
      Links: f.link.length ? f.link : null,
      Dns: f.dns,
      DnsSearch: f.dnsSearch,
      DnsOptions: f.dnsOption,
      GroupAdd: f.groupAdd.length ? f.groupAdd : null,
      ...(ulimits.size ? { Ulimits: [...ulimits.values()] } : {}),
      ...(f.sysctl.length ? { Sysctls } : {}),
      ...(f.shmSize !== undefined ? { ShmSize: f.shmSize } : {}),
      ...(f.oomScoreAdj !== undefined ? { OomScoreAdj: f.oomScoreAdj } : {}),
      ...(f.ipc !== undefined ? { IpcMode: f.ipc } : {}),
      ...logConfig(f),
    },
    NetworkingConfig: { EndpointsConfig: network.EndpointsConfig },
  };
}

export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** `--health-*` and `--no-healthcheck` → Config.Healthcheck, as the docker CLI builds it. */
function healthConfig(f: ContainerFlags): HealthConfig | undefined {
  const durations = [
    ['--health-interval', f.healthInterval, 'Interval'],
    ['--health-timeout', f.healthTimeout, 'Timeout'],
    ['--health-start-period', f.healthStartPeriod, 'StartPeriod'],
    ['--health-start-interval', f.healthStartInterval, 'StartInterval'],
  ] as const;
  const any = f.healthCmd !== undefined || f.healthRetries !== undefined || durations.some(([, v]) => v !== undefined);
  if (f.healthcheck === false) {
    if (any) throw new UsageError('--no-healthcheck conflicts with --health-* options');
    return { Test: ['NONE'] };
  }
  if (!any) return undefined;
  const out: HealthConfig = {};
  if (f.healthCmd) out.Test = ['CMD-SHELL', f.healthCmd];
  for (const [flag, v, key] of durations) {
    if (v === undefined) continue;
    try {
      out[key] = parseGoDuration(v);
    } catch (err) {
      throw invalidArgument(v, flag, (err as Error).message);
    }
  }
  if (f.healthRetries !== undefined) out.Retries = f.healthRetries;
  return out;
}

/** `--log-driver` and `--log-opt KEY=VALUE` → HostConfig.LogConfig (absent when neither is given). */
function logConfig(f: ContainerFlags): { LogConfig?: { Type: string; Config: Record<string, string> } } {
  if (f.logDriver === undefined && f.logOpt.length === 0) return {};
  const Config: Record<string, string> = {};
  for (const o of f.logOpt) {
    const eq = o.indexOf('=');
    if (eq <= 0) throw new UsageError(`invalid log opt "${o}": use KEY=VALUE, e.g. max-size=10m`);
    Config[o.slice(0, eq)] = o.slice(eq + 1);
  }
  return { LogConfig: { Type: f.logDriver ?? '', Config } };
}

type Ordered = Array<[number, string]>;

/** commander's option values → ContainerFlags (absent repeatable flags → []). */
export function flagsFromOptions(o: Record<string, unknown>): ContainerFlags {
  const list = (k: string): string[] => (o[k] as string[] | undefined) ?? [];
  const str = (k: string): string | undefined => o[k] as string | undefined;
  const bool = (k: string): boolean | undefined => o[k] as boolean | undefined;
  const num = (k: string): number | undefined => o[k] as number | undefined;
  const networks = [...((o.network as Ordered | undefined) ?? []), ...((o.net as Ordered | undefined) ?? [])]
    .sort((a, b) => a[0] - b[0])
    .map(([, v]) => v);
  return {
    detach: bool('detach'),
    interactive: bool('interactive'),
    tty: bool('tty'),
    rm: bool('rm'),
    name: str('name'),
    hostname: str('hostname'),
    env: list('env'),
    envFile: list('envFile'),
    workdir: str('workdir'),
    user: str('user'),
    volume: list('volume'),
    memory: num('memory'),
    cpus: num('cpus'),
    pidsLimit: num('pidsLimit'),
    resources: resourceFields(o),
    networks,
    networkAlias: list('networkAlias'),
    link: list('link'),
    linkLocalIp: list('linkLocalIp'),
    ip: str('ip'),
    ip6: str('ip6'),
    publish: list('publish'),
    publishAll: bool('publishAll'),
    expose: list('expose'),
    entrypoint: str('entrypoint'),
    privileged: bool('privileged'),
    capAdd: list('capAdd'),
    capDrop: list('capDrop'),
    device: list('device'),
    deviceCgroupRule: list('deviceCgroupRule'),
    securityOpt: list('securityOpt'),
    readOnly: bool('readOnly'),
    logDriver: str('logDriver'),
    logOpt: list('logOpt'),
    label: list('label'),
    macAddress: str('macAddress'),
    addHost: list('addHost'),
    dns: list('dns'),
    dnsSearch: list('dnsSearch'),
    dnsOption: list('dnsOption'),
    groupAdd: list('groupAdd'),
    ulimit: list('ulimit'),
    sysctl: list('sysctl'),
    shmSize: num('shmSize'),
    oomScoreAdj: num('oomScoreAdj'),
    ipc: str('ipc'),
    restart: str('restart'),
    mount: list('mount'),
    tmpfs: list('tmpfs'),
    healthCmd: str('healthCmd'),
    healthInterval: str('healthInterval'),
    healthTimeout: str('healthTimeout'),
    healthRetries: num('healthRetries'),
    healthStartPeriod: str('healthStartPeriod'),
    healthStartInterval: str('healthStartInterval'),
    healthcheck: bool('healthcheck'),
  };
}

/** The resource flags given, as HostConfig fields (left out when not given, as docker sends 0). */
function resourceFields(o: Record<string, unknown>): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  const map: Array<[string, string]> = [
    ['memorySwap', 'MemorySwap'],
    ['memoryReservation', 'MemoryReservation'],
    ['cpuShares', 'CpuShares'],
    ['cpuPeriod', 'CpuPeriod'],
    ['cpuQuota', 'CpuQuota'],
    ['cpusetCpus', 'CpusetCpus'],
    ['cpusetMems', 'CpusetMems'],
    ['blkioWeight', 'BlkioWeight'],
  ];
  for (const [flag, field] of map) {
    const v = o[flag];
    if (typeof v === 'number' || typeof v === 'string') out[field] = v;
  }
  return out;
}
