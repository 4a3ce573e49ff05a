/** tsnet info / system info: GET /info → the key facts (or JSON / a template with -f). */
import type { Context } from '../context.js';
import { formatObjects } from '../format/list.js';
import { bytesSize } from '../format/size.js';
import { clientVersion } from '../version.js';

interface ApiInfo {
  ID?: string;
  Name?: string;
  Containers?: number;
  ContainersRunning?: number;
  ContainersPaused?: number;
  ContainersStopped?: number;
  Images?: number;
  ServerVersion?: string;
  Driver?: string;
  CgroupDriver?: string;
  CgroupVersion?: string;
  Plugins?: Record<string, string[] | null> | null;
  KernelVersion?: string;
  OperatingSystem?: string;
  OSType?: string;
  Architecture?: string;
  NCPU?: number;
  MemTotal?: number;
  DockerRootDir?: string;
  ExecRoot?: string;
  ClusterStore?: string;
  ClusterAdvertise?: string;
  Warnings?: string[] | null;
  [key: string]: unknown;
}

export default async function info(ctx: Context, _args: [], opts: { format?: string }): Promise<number> {
  const i = (await ctx.client.json<ApiInfo>('GET', '/info')) ?? {};
  if (opts.format !== undefined) {
    ctx.stdout.write(opts.format === 'json' ? `${JSON.stringify(i)}\n` : formatObjects([i], opts.format));
    return 0;
  }
  const lines: string[] = ['Client:', ` Version: ${clientVersion()}`, '', 'Server:'];
  const add = (label: string, value: unknown, indent = 1): void => {
    if (value === undefined || value === null || value === '') return;
    lines.push(`${' '.repeat(indent)}${label}: ${String(value)}`);
  };
  add('Containers', i.Containers ?? 0);
  add('Running', i.ContainersRunning ?? 0, 2);
  add('Paused', i.ContainersPaused ?? 0, 2);
  add('Stopped', i.ContainersStopped ?? 0, 2);
  add('Images', i.Images ?? 0);
  add('Server Version', i.ServerVersion);
  add('Storage Driver', i.Driver);
  add('Cgroup Driver', i.CgroupDriver);
  add('Cgroup Version', i.CgroupVersion);
  const plugins = Object.entries(i.Plugins ?? {}).filter(([, v]) => v && v.length > 0);
  if (plugins.length > 0) {
    lines.push(' Plugins:');
    for (const [kind, names] of plugins) lines.push(`  ${kind}: ${(names ?? []).join(' ')}`);
  }
  add('Kernel Version', i.KernelVersion);
  add('Operating System', i.OperatingSystem);
  add('OSType', i.OSType);
  add('Architecture', i.Architecture);
  add('CPUs', i.NCPU);
  if (typeof i.MemTotal === 'number') add('Total Memory', bytesSize(i.MemTotal));
  add('Name', i.Name);
  add('ID', i.ID);
  add('Root Dir', i.DockerRootDir);
  add('Exec Root Dir', i.ExecRoot);
  add('Cluster Store', i.ClusterStore);
  add('Cluster Advertise', i.ClusterAdvertise);
  lines.push(...swarmLines(i.Swarm as SwarmInfo | undefined));
  for (const l of lines) ctx.print(l);
  for (const w of i.Warnings ?? []) ctx.stderr.write(`WARNING: ${w}\n`);
  return 0;
}

interface SwarmInfo {
  LocalNodeState?: string;
  NodeID?: string;
  NodeAddr?: string;
  ControlAvailable?: boolean;
  Managers?: number;
  Nodes?: number;
  RemoteManagers?: Array<{ Addr?: string }> | null;
  Cluster?: { ID?: string; DefaultAddrPool?: string[]; SubnetSize?: number; DataPathPort?: number } | null;
}

/** The Swarm section, as `docker info` shows it (single-node swarm mode: docs/swarm.md). */
function swarmLines(s: SwarmInfo | undefined): string[] {
  if (!s?.LocalNodeState) return [];
  const out = [` Swarm: ${s.LocalNodeState}`];
  if (s.LocalNodeState !== 'active') return out;
  out.push(`  NodeID: ${s.NodeID ?? ''}`, `  Is Manager: ${s.ControlAvailable === true}`);
  if (s.Cluster?.ID) out.push(`  ClusterID: ${s.Cluster.ID}`);
  out.push(`  Managers: ${s.Managers ?? 0}`, `  Nodes: ${s.Nodes ?? 0}`);
  if (s.Cluster?.DefaultAddrPool) out.push(`  Default Address Pool: ${s.Cluster.DefaultAddrPool.join(' ')}`);
  if (s.Cluster?.SubnetSize !== undefined) out.push(`  SubnetSize: ${s.Cluster.SubnetSize}`);
  if (s.Cluster?.DataPathPort !== undefined) out.push(`  Data Path Port: ${s.Cluster.DataPathPort}`);
  out.push(`  Node Address: ${s.NodeAddr ?? ''}`);
  const managers = (s.RemoteManagers ?? []).map((m) => m.Addr).filter(Boolean);
  if (managers.length) out.push('  Manager Addresses:', ...managers.map((a) => `   ${a}`));
  return out;
}
