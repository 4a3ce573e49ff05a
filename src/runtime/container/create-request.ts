/**
 * Turn a Docker `POST /containers/create` body plus the image into a validated container record.
 * Pure apart from the clock and ids: every check happens here, before anything is made.
 */
import { TsnetError } from '../../errors/index.js';
import { parseExtraHost } from '../etc-files.js';
import { newId, NAME_PATTERN } from '../ids.js';
import { createEnv } from './env.js';
import { checkSecurity } from './security-opts.js';
import { checkIpcMode } from './ipc-mode.js';
import { checkSysctls } from './sysctls.js';
import { checkUlimits } from './ulimits.js';
import { normalizeLogConfig } from './log-config.js';
import { planMounts, type MountRequest } from '../volumes/mounts.js';
import { checkHealthcheck, mergeHealthcheck } from '../health/config.js';
import type { HealthConfig } from '../health/types.js';
import { checkRestartPolicy, type RestartPolicy } from '../restart/policy.js';
import type { ContainerConfig, ContainerRecord, HostConfig, NetworkingConfig } from './types.js';

export interface CreateBody extends Partial<ContainerConfig> {
  HostConfig?: HostConfig;
  NetworkingConfig?: NetworkingConfig;
}

export interface ImageInfo {
  id: string;
  config: {
    Env?: string[];
    Cmd?: string[];
    Entrypoint?: string[];
    WorkingDir?: string;
    User?: string;
    ExposedPorts?: Record<string, object>;
    Labels?: Record<string, string>;
    Healthcheck?: HealthConfig;
    Volumes?: Record<string, object>;
    StopSignal?: string;
  };
}

export const MIN_MEMORY = 6 * 1024 * 1024;
/** /dev/shm's size when the request gives none (Docker's default: 64 MiB, shown in inspect). */
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

export function buildRecord(body: CreateBody, name: string, image: ImageInfo, now = new Date()): ContainerRecord {
  if (!NAME_PATTERN.test(name)) {
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `invalid container name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
    );
  }
  const hc: HostConfig = { ...(body.HostConfig ?? {}) };
  if (hc.Memory !== undefined && hc.Memory !== 0) {
    if (!Number.isInteger(hc.Memory) || hc.Memory < 0)
      throw new TsnetError('TSNET_BAD_MEMORY', `invalid memory limit ${hc.Memory}`);
    if (hc.Memory < MIN_MEMORY) throw new TsnetError('TSNET_BAD_MEMORY', 'minimum memory limit allowed is 6MB');
  }
  if (hc.MemorySwap !== undefined && hc.MemorySwap > 0 && hc.Memory && hc.MemorySwap < hc.Memory) {
    throw new TsnetError('TSNET_BAD_MEMORY', 'minimum memoryswap limit should be larger than memory limit');
  }
  if (hc.NanoCpus !== undefined && hc.NanoCpus !== 0 && (!Number.isInteger(hc.NanoCpus) || hc.NanoCpus < 1e7)) {
    throw new TsnetError('TSNET_BAD_CPUS', `invalid --cpus value: range of CPUs is from 0.01 to the number of CPUs`);
  }
  if (hc.PidsLimit !== undefined && hc.PidsLimit !== null && !Number.isInteger(hc.PidsLimit)) {
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid pids limit ${String(hc.PidsLimit)}`);
  }
  const mounts = planMounts({
    binds: hc.Binds,
    mounts: hc.Mounts as MountRequest[] | null | undefined,
    tmpfs: hc.Tmpfs as Record<string, string> | null | undefined,
    volumes: body.Volumes,
    imageVolumes: image.config.Volumes,
  });
  checkRestartPolicy(hc.RestartPolicy as RestartPolicy | undefined, hc.AutoRemove === true);
  checkSecurity(hc);
  checkDnsAndHosts(hc);
  checkGroupAdd(hc.GroupAdd);
  checkUlimits(hc.Ulimits);
  checkIpcMode(hc.IpcMode);
  checkSysctls(hc);
  hc.ShmSize = checkShmSize(hc.ShmSize);
  hc.Runtime = checkRuntime(hc.Runtime);
  hc.LogConfig = normalizeLogConfig(hc.LogConfig);
  for (const env of body.Env ?? []) {
    if (typeof env !== 'string' || env.startsWith('=') || env.includes('\0'))
      throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid environment variable: ${String(env)}`);
  }
  // What reaches /etc/hostname, /etc/hosts and resolv.conf has no control characters (the API's
  // schema refuses them first; this holds for any other caller too).
  for (const [field, values] of [
    ['Hostname', [body.Hostname]],
    ['Domainname', [body.Domainname]],
    ['Dns', hc.Dns],
    ['DnsSearch', hc.DnsSearch],
    ['DnsOptions', hc.DnsOptions as string[] | null | undefined],
    ['ExtraHosts', hc.ExtraHosts],
  ] as const) {
    for (const v of values ?? []) {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
      if (v !== undefined && v !== null && (typeof v !== 'string' || /[\s\x00-\x1f\x7f]/.test(v)))
        throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid ${field} ${JSON.stringify(v)}: no spaces or control characters`);
    }
  }
  const user = body.User ?? image.config.User ?? '';
  if (user && !/^[^:\s]+(:[^:\s]+)?$/.test(user))
    throw new TsnetError('TSNET_BAD_USER', `invalid user "${user}": use name|uid[:group|gid]`);

  // Docker's rule: a requested entrypoint replaces the image's entrypoint and cmd; otherwise the
  // requested cmd replaces only the image's cmd. `--entrypoint ''` (sent as [""]) is a requested
  // entrypoint that is empty: the command given is run as it is.
  const requestedEntrypoint = body.Entrypoint ?? [];
  const reset = requestedEntrypoint.length === 1 && requestedEntrypoint[0] === '';
  const entrypoint = reset ? [] : requestedEntrypoint.length ? requestedEntrypoint : (image.config.Entrypoint ?? []);
  const cmd = requestedEntrypoint.length ? (body.Cmd ?? []) : body.Cmd?.length ? body.Cmd : (image.config.Cmd ?? []);
  const argv = [...entrypoint, ...cmd];
  if (argv.length === 0 || argv[0] === '') {
    throw new TsnetError('TSNET_INVALID_ARGUMENT', 'no command specified: give one after the image name');
  }
  const healthcheck = mergeHealthcheck(body.Healthcheck, image.config.Healthcheck);
  checkHealthcheck(healthcheck);
  const id = newId();
  const env = createEnv(image.config.Env ?? [], body.Env ?? []);
  const hostname = body.Hostname || id.slice(0, 12);
  const config: ContainerConfig = {
    Hostname: hostname,
    Domainname: body.Domainname ?? '',
    User: user,
    AttachStdin: body.AttachStdin ?? false,
    AttachStdout: body.AttachStdout ?? false,
    AttachStderr: body.AttachStderr ?? false,
    ExposedPorts: { ...(image.config.ExposedPorts ?? {}), ...(body.ExposedPorts ?? {}) },
    Tty: body.Tty ?? false,
    OpenStdin: body.OpenStdin ?? false,
    StdinOnce: body.StdinOnce ?? false,
    Env: env,
    Cmd: cmd,
    Entrypoint: entrypoint.length ? entrypoint : null,
    Image: body.Image ?? '',
    WorkingDir: body.WorkingDir || image.config.WorkingDir || '',
    Labels: { ...(image.config.Labels ?? {}), ...(body.Labels ?? {}) },
    ...(body.MacAddress ? { MacAddress: body.MacAddress } : {}),
    ...(body.StopSignal || image.config.StopSignal ? { StopSignal: body.StopSignal || image.config.StopSignal } : {}),
    ...(body.StopTimeout !== undefined ? { StopTimeout: body.StopTimeout } : {}),
    ...(healthcheck ? { Healthcheck: healthcheck } : {}),
    ...(body.Volumes && Object.keys(body.Volumes).length ? { Volumes: body.Volumes } : {}),
  };
  return {
    id,
    name,
    created: now.toISOString(),
    path: argv[0]!,
    args: argv.slice(1),
    imageId: image.id,
    config,
    hostConfig: { NetworkMode: 'default', ...hc },
    networkingConfig: body.NetworkingConfig ?? {},
    state: {
      Status: 'created',
      Pid: 0,
      SupervisorPid: 0,
      ExitCode: 0,
      OOMKilled: false,
      Error: '',
      StartedAt: '0001-01-01T00:00:00Z',
      FinishedAt: '0001-01-01T00:00:00Z',
    },
    restartCount: 0,
    mounts,
    sandboxId: '',
  };
}

/**
 * --group-add: a group name (looked up in the container's /etc/group at start, as Docker) or a
 * gid in Docker's range. Names are checked for what a group file line cannot hold.
 */
function checkGroupAdd(groups: unknown): void {
  if (groups === undefined || groups === null) return;
  if (!Array.isArray(groups) || groups.length > 256)
    throw new TsnetError('TSNET_INVALID_ARGUMENT', 'HostConfig.GroupAdd must be a list of at most 256 groups');
  for (const g of groups) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
    if (typeof g !== 'string' || g === '' || g.length > 256 || /[:,\s\x00-\x1f\x7f]/.test(g))
      throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid group ${JSON.stringify(g)}: a group name or a gid`);
    if (/^\d+$/.test(g) && (g.length > 10 || Number(g) > 2 ** 31 - 1))
      throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid group ${g}: uids and gids must be in range 0-2147483647`);
  }
}

/** HostConfig.ShmSize in bytes: 0 or none is Docker's 64 MiB (stored as such, as dockerd does). */
function checkShmSize(size: unknown): number {
  if (size === undefined || size === null || size === 0) return DEFAULT_SHM_SIZE;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid shm size ${String(size)}: SHM size can not be less than 0`);
  return size;
}

/**
 * HostConfig.Runtime: as Docker, empty means the daemon's default runtime and is stored as its
 * name; tsnet has one runtime (tsnet-init), so any other name gets Docker's error.
 */
export const DEFAULT_RUNTIME = 'tsnet-init';
function checkRuntime(name: unknown): string {
  if (name === undefined || name === null || name === '') return DEFAULT_RUNTIME;
  if (name !== DEFAULT_RUNTIME)
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `unknown or invalid runtime name: ${String(name).slice(0, 64)} (tsnet has one runtime: ${DEFAULT_RUNTIME})`,
    );
  return name;
}

/**
 * --add-host entries are parsed as start will parse them (the request schema has already
 * checked the shapes of ExtraHosts, Dns, DnsSearch and DnsOptions).
 */
function checkDnsAndHosts(hc: HostConfig): void {
  for (const h of hc.ExtraHosts ?? []) {
    try {
      parseExtraHost(h);
    } catch (err) {
      throw new TsnetError('TSNET_INVALID_ARGUMENT', (err as Error).message);
    }
  }
}
