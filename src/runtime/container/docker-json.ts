/** Container records in the Docker Engine API's JSON shapes (list and inspect). Pure. */
import { DEFAULT_RUNTIME } from './create-request.js';
import { keepsLog, type LogConfig } from './log-config.js';
import type { ContainerPaths } from './paths.js';
import type { ContainerNetworkState } from '../../network/container-api.js';
import type { ContainerRecord, EndpointState, PublishedPort } from './types.js';
import { hostConfigJson } from './hostconfig-json.js';

export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.round(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  const d = Math.round(s / 86400);
  if (d < 14) return `${d} days`;
  return `${Math.round(d / 7)} weeks`;
}

/** Docker's State.Status word: 'paused' for a frozen running container. */
export function dockerStatus(rec: ContainerRecord): string {
  if (rec.state.Restarting && rec.state.Status !== 'running') return 'restarting';
  return rec.state.Status === 'running' && rec.state.Paused ? 'paused' : rec.state.Status;
}

/** ` (healthy)`, ` (health: starting)`, ` (unhealthy)` after `Up …`, as docker ps. */
function healthSuffix(rec: ContainerRecord): string {
  const h = rec.state.Health;
  if (!h || !rec.config.Healthcheck) return '';
  return h.Status === 'starting' ? ' (health: starting)' : ` (${h.Status})`;
}

export function statusText(rec: ContainerRecord, now = Date.now()): string {
  const st = rec.state;
  if (st.Restarting && st.Status !== 'running')
    return `Restarting (${st.ExitCode}) ${humanDuration(now - Date.parse(st.FinishedAt))} ago`;
  switch (st.Status) {
    case 'running':
      return `Up ${humanDuration(now - Date.parse(st.StartedAt))}${st.Paused ? ' (Paused)' : healthSuffix(rec)}`;
    case 'exited':
      return `Exited (${st.ExitCode}) ${humanDuration(now - Date.parse(st.FinishedAt))} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    default:
      return 'Created';
  }
}

/**
 * The exposed ports ps, inspect and the `expose` filter show: none with `--network none` or
 * `host`, as dockerd, whose NetworkSettings.Ports come from the endpoints' drivers (a container
 * without a bridge-like endpoint has none to show, and `-p` there publishes nothing).
 */
export function shownExposedPorts(rec: ContainerRecord): Record<string, object> | undefined {
  const mode = rec.hostConfig.NetworkMode;
  return mode === 'none' || mode === 'host' ? undefined : rec.config.ExposedPorts;
}

function portsList(ports: PublishedPort[], exposed: Record<string, object> | undefined) {
  const out: Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }> = ports.map((p) => ({
    IP: p.hostIp || '0.0.0.0',
    PrivatePort: p.containerPort,
    PublicPort: p.hostPort,
    Type: p.proto,
  }));
  for (const key of Object.keys(exposed ?? {})) {
    const [port, proto = 'tcp'] = key.split('/');
    if (!ports.some((p) => String(p.containerPort) === port && p.proto === proto))
      out.push({ PrivatePort: Number(port), Type: proto });
  }
  return out;
}

/** How inspect shows an endpoint: the API version asked, and whether its network is user-defined. */
export interface EndpointView {
  apiVersion: string;
  userDefined: boolean;
}

function endpointJson(e: EndpointState, rec?: ContainerRecord, view?: EndpointView) {
  const [ip, len] = (e.ipv4 ?? '').split('/');
  const [ip6, len6] = (e.ipv6 ?? '').split('/');
  const user = Boolean(rec && view?.userDefined);
  // Docker before API 1.45 adds the short id and the hostname to a user network's aliases
  const extra = rec && user && versionBelow(view!.apiVersion, '1.45') ? [rec.id.slice(0, 12), rec.config.Hostname] : [];
  const aliases = [...new Set([...e.aliases, ...extra])];
  return {
    IPAMConfig: e.ipamConfig ?? null,
    Links: e.links?.length ? e.links : null,
    Aliases: aliases.length ? aliases : null,
    MacAddress: e.mac ?? '',
    NetworkID: e.networkId,
    EndpointID: e.endpointId,
    Gateway: e.gateway ?? '',
    IPAddress: ip ?? '',
    IPPrefixLen: len ? Number(len) : 0,
    IPv6Gateway: e.gateway6 ?? '',
    GlobalIPv6Address: ip6 ?? '',
    GlobalIPv6PrefixLen: len6 ? Number(len6) : 0,
    DriverOpts: e.driverOpts ?? null,
    DNSNames: rec && user ? [...new Set([rec.name, ...e.aliases, rec.id.slice(0, 12), rec.config.Hostname])] : null,
  };
}

/** a < b for API versions like 1.44. */
function versionBelow(a: string, b: string): boolean {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am < bm || (am === bm && an < bn);
}

function networksJson(
  net: ContainerNetworkState,
  rec?: ContainerRecord,
  view?: (e: EndpointState) => EndpointView,
): Record<string, ReturnType<typeof endpointJson>> {
  const out: Record<string, ReturnType<typeof endpointJson>> = {};
  if (net.mode === 'none' || net.mode === 'host') {
    out[net.mode] = endpointJson({
      networkId: net.mode,
      networkName: net.mode,
      endpointId: '',
      aliases: [],
    });
  }
  for (const e of Object.values(net.endpoints)) out[e.networkName] = endpointJson(e, rec, view?.(e));
  return out;
}

export function commandText(rec: ContainerRecord): string {
  return [rec.path, ...rec.args].map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' ');
}

export function containerSummary(rec: ContainerRecord, imageName: string, net: ContainerNetworkState, now = Date.now()) {
  return {
    Id: rec.id,
    Names: [`/${rec.name}`],
    Image: imageName,
    ImageID: rec.imageId,
    Command: commandText(rec),
    Created: Math.floor(Date.parse(rec.created) / 1000),
    Ports: portsList(net.ports, shownExposedPorts(rec)),
    Labels: rec.config.Labels,
    State: dockerStatus(rec),
    Status: statusText(rec, now),
    HostConfig: { NetworkMode: rec.hostConfig.NetworkMode ?? 'default' },
    NetworkSettings: { Networks: networksJson(net) },
    Mounts: mounts(rec),
  };
}

/** Docker's MountPoint shape (inspect and ps). */
function mounts(rec: ContainerRecord) {
  if (!rec.mounts) {
    return (rec.hostConfig.Binds ?? []).map((b) => {
      const [src, dst, mode = 'rw'] = b.split(':');
      return {
        Type: 'bind',
        Source: src,
        Destination: dst,
        Mode: mode === 'rw' ? '' : mode,
        RW: !mode.split(',').includes('ro'),
        Propagation: 'rprivate',
      };
    });
  }
  return rec.mounts.map((m) =>
    m.Type === 'volume'
      ? {
          Type: 'volume',
          Name: m.Name,
          Source: m.Source,
          Destination: m.Destination,
          Driver: m.Driver ?? 'local',
          Mode: m.Mode,
          RW: m.RW,
          Propagation: '',
        }
      : { Type: m.Type, Source: m.Source, Destination: m.Destination, Mode: m.Mode, RW: m.RW, Propagation: m.Propagation },
  );
}

function portsMap(
  rec: ContainerRecord,
  net: ContainerNetworkState,
): Record<string, Array<{ HostIp: string; HostPort: string }> | null> {
  const out: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {};
  for (const key of Object.keys(shownExposedPorts(rec) ?? {})) out[key] = null;
  for (const p of net.ports) {
    const key = `${p.containerPort}/${p.proto}`;
    out[key] ??= [];
    out[key].push({ HostIp: p.hostIp || '0.0.0.0', HostPort: String(p.hostPort) });
  }
  return out;
}

export function containerInspect(
  rec: ContainerRecord,
  paths: ContainerPaths,
  execIds: string[],
  lowerDirs: string[],
  net: ContainerNetworkState,
  opts: { view?: (e: EndpointState) => EndpointView; links?: string[] | null } = {},
) {
  const primary = Object.values(net.endpoints)[0];
  const [ip, len] = (primary?.ipv4 ?? '').split('/');
  const st = rec.state;
  return {
    Id: rec.id,
    Created: rec.created,
    Path: rec.path,
    Args: rec.args,
    State: {
      Status: dockerStatus(rec),
      Running: st.Status === 'running' || st.Restarting === true,
      Paused: st.Status === 'running' && st.Paused === true,
      Restarting: st.Restarting === true && st.Status !== 'running',
      OOMKilled: st.OOMKilled,
      Dead: st.Status === 'dead',
      Pid: st.Pid,
      ExitCode: st.ExitCode,
      Error: st.Error,
      StartedAt: st.StartedAt,
      FinishedAt: st.FinishedAt,
      ...(rec.config.Healthcheck && st.Health ? { Health: st.Health } : {}),
    },
    Image: rec.imageId,
    ResolvConfPath: paths.resolvConf,
    HostnamePath: paths.hostname,
    HostsPath: paths.hosts,
    LogPath: keepsLog(rec.hostConfig.LogConfig as LogConfig | undefined) ? paths.log : '',
    Name: `/${rec.name}`,
    RestartCount: rec.restartCount,
    Driver: 'overlay',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: execIds.length ? execIds : null,
    HostConfig: {
      ...hostConfigJson(rec.hostConfig, DEFAULT_RUNTIME),
      // legacy links as Docker shows them (`/target:/parent/alias`); null on user networks
      Links: opts.links ?? null,
    },
    GraphDriver: {
      Name: 'overlay',
      Data: { LowerDir: lowerDirs.join(':'), UpperDir: paths.upper, WorkDir: paths.work, MergedDir: paths.rootfs },
    },
    Mounts: mounts(rec),
    // keys dockerd always shows (null when unset)
    Config: { ...rec.config, Volumes: rec.config.Volumes ?? null, OnBuild: null },
    NetworkSettings: {
      Bridge: '',
      SandboxID: net.sandboxKey ? rec.sandboxId : '',
      SandboxKey: net.sandboxKey ?? '',
      HairpinMode: false,
      LinkLocalIPv6Address: '',
      LinkLocalIPv6PrefixLen: 0,
      Ports: portsMap(rec, net),
      SecondaryIPAddresses: null,
      SecondaryIPv6Addresses: null,
      EndpointID: primary?.endpointId ?? '',
      Gateway: primary?.gateway ?? '',
      GlobalIPv6Address: (primary?.ipv6 ?? '').split('/')[0] ?? '',
      GlobalIPv6PrefixLen: primary?.ipv6 ? Number(primary.ipv6.split('/')[1]) : 0,
      IPAddress: ip ?? '',
      IPPrefixLen: len ? Number(len) : 0,
      IPv6Gateway: primary?.gateway6 ?? '',
      MacAddress: primary?.mac ?? '',
      Networks: networksJson(net, rec, opts.view),
    },
  };
}
