/** Container records in the Docker Engine API's JSON shapes (list and inspect). Pure. */
import type { ContainerPaths } from './paths.js';
import type { ContainerNetworkState } from '../../network/container-api.js';
import type { ContainerRecord, EndpointState, PublishedPort } from './types.js';

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
  return rec.state.Status === 'running' && rec.state.Paused ? 'paused' : rec.state.Status;
}

export function statusText(rec: ContainerRecord, now = Date.now()): string {
  const st = rec.state;
  switch (st.Status) {
    case 'running':
      return `Up ${humanDuration(now - Date.parse(st.StartedAt))}${st.Paused ? ' (Paused)' : ''}`;
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

function endpointJson(e: EndpointState) {
  const [ip, len] = (e.ipv4 ?? '').split('/');
  const [ip6, len6] = (e.ipv6 ?? '').split('/');
  return {
    IPAMConfig: e.ipamConfig ?? null,
    Links: null,
    Aliases: e.aliases.length ? e.aliases : null,
    MacAddress: e.mac ?? '',
    NetworkID: e.networkId,
    EndpointID: e.endpointId,
    Gateway: e.gateway ?? '',
    IPAddress: ip ?? '',
    IPPrefixLen: len ? Number(len) : 0,
    IPv6Gateway: e.gateway6 ?? '',
    GlobalIPv6Address: ip6 ?? '',
    GlobalIPv6PrefixLen: len6 ? Number(len6) : 0,
    DriverOpts: null,
    DNSNames: null,
  };
}

function networksJson(net: ContainerNetworkState): Record<string, ReturnType<typeof endpointJson>> {
  const out: Record<string, ReturnType<typeof endpointJson>> = {};
  if (net.mode === 'none' || net.mode === 'host') {
    out[net.mode] = endpointJson({
      networkId: net.mode,
      networkName: net.mode,
      endpointId: '',
      aliases: [],
    });
  }
  for (const e of Object.values(net.endpoints)) out[e.networkName] = endpointJson(e);
  return out;
}

export function commandText(rec: ContainerRecord): string {
  return [rec.path, ...rec.args].map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' ');
}

export function containerSummary(rec: ContainerRecord, imageName: string, net: ContainerNetworkState) {
  return {
    Id: rec.id,
    Names: [`/${rec.name}`],
    Image: imageName,
    ImageID: rec.imageId,
    Command: commandText(rec),
    Created: Math.floor(Date.parse(rec.created) / 1000),
    Ports: portsList(net.ports, rec.config.ExposedPorts),
    Labels: rec.config.Labels,
    State: dockerStatus(rec),
    Status: statusText(rec),
    HostConfig: { NetworkMode: rec.hostConfig.NetworkMode ?? 'default' },
    NetworkSettings: { Networks: networksJson(net) },
    Mounts: mounts(rec),
  };
}

function mounts(rec: ContainerRecord) {
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

function portsMap(
  rec: ContainerRecord,
  net: ContainerNetworkState,
): Record<string, Array<{ HostIp: string; HostPort: string }> | null> {
  const out: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {};
  for (const key of Object.keys(rec.config.ExposedPorts ?? {})) out[key] = null;
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
      Running: st.Status === 'running',
      Paused: st.Status === 'running' && st.Paused === true,
      Restarting: false,
      OOMKilled: st.OOMKilled,
      Dead: st.Status === 'dead',
      Pid: st.Pid,
      ExitCode: st.ExitCode,
      Error: st.Error,
      StartedAt: st.StartedAt,
      FinishedAt: st.FinishedAt,
    },
    Image: rec.imageId,
    ResolvConfPath: paths.resolvConf,
    HostnamePath: paths.hostname,
    HostsPath: paths.hosts,
    LogPath: paths.log,
    Name: `/${rec.name}`,
    RestartCount: rec.restartCount,
    Driver: 'overlay',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: execIds.length ? execIds : null,
    HostConfig: {
      NetworkMode: 'default',
      PortBindings: {},
      AutoRemove: false,
      Privileged: false,
      ReadonlyRootfs: false,
      Memory: 0,
      NanoCpus: 0,
      PidsLimit: null,
      LogConfig: { Type: 'json-file', Config: {} },
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      ...rec.hostConfig,
    },
    GraphDriver: {
      Name: 'overlay',
      Data: { LowerDir: lowerDirs.join(':'), UpperDir: paths.upper, WorkDir: paths.work, MergedDir: paths.rootfs },
    },
    Mounts: mounts(rec),
    Config: rec.config,
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
      Networks: networksJson(net),
    },
  };
}
