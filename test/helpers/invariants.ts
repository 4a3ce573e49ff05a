/**
 * Crash-safety invariants (issue 9, deliverable 2): after a restart, the API and the kernel agree.
 * Reads the API (containers, networks) and the kernel of a world (links with tsnet's mark, netns
 * files and mounts, the netns pool's entries, IPAM records on disk, tsnet-init processes, addresses
 * inside each sandbox, published-port rules of the active firewall backend, cgroups, the daemon's
 * files: bundles, container dirs and records, the trash dirs) and returns the mismatches by kind;
 * every kind present means zero found.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { POOL_PREFIX } from '../../src/network/sandbox-pool.js';
import { programmedPorts } from './firewall.js';
import { eventually, type World } from './world.js';

export const INVARIANT_KINDS = [
  'bridge',
  'veth',
  'netns-file',
  'netns-mount',
  'netns-pool',
  'ipam-pool',
  'ipam-address',
  'process',
  'iface-address',
  'port-rule',
  'cgroup',
  'file',
] as const;
export type InvariantKind = (typeof INVARIANT_KINDS)[number];
export type Mismatches = Record<InvariantKind, string[]>;

interface ContainerJson {
  Id: string;
  Name: string;
  State: { Status: string; Running: boolean; Pid: number };
  NetworkSettings: {
    SandboxKey: string;
    Ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null>;
    Networks: Record<string, { NetworkID: string; EndpointID: string; IPAddress: string; IPPrefixLen: number }>;
  };
}

interface NetworkJson {
  Id: string;
  Name: string;
  Driver: string;
  IPAM: { Driver: string; Config: Array<{ Subnet: string }> };
}

export function api<T>(w: World, p: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: w.socket, path: p, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 500) >= 400) reject(new Error(`GET ${p}: ${res.statusCode} ${text}`));
        else resolve(JSON.parse(text) as T);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function diff(kind: string, expected: Iterable<string>, actual: Iterable<string>): string[] {
  const e = new Set(expected);
  const a = new Set(actual);
  return [
    ...[...e].filter((x) => !a.has(x)).map((x) => `${kind}: missing ${x}`),
    ...[...a].filter((x) => !e.has(x)).map((x) => `${kind}: unexplained ${x}`),
  ];
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function readdir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** Live tsnet-init processes of this world in run mode → their bundle name (id16). */
function supervisors(w: World): Set<string> {
  const out = new Set<string>();
  const bundles = path.join(w.execRoot, 'c');
  for (const pid of readdir('/proc').filter((x) => /^\d+$/.test(x))) {
    let cmd: string[];
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!(cmd[0] ?? '').endsWith('tsnet-init')) continue;
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) continue; // a zombie is not running
    const bundle = cmd.find((a) => a.startsWith(`${bundles}/`));
    if (bundle) out.add(path.basename(bundle));
  }
  return out;
}

export async function checkInvariants(w: World): Promise<Mismatches> {
  const m = Object.fromEntries(INVARIANT_KINDS.map((k) => [k, [] as string[]])) as Mismatches;
  const list = await api<Array<{ Id: string }>>(w, '/containers/json?all=1');
  const containers: ContainerJson[] = [];
  for (const c of list) containers.push(await api<ContainerJson>(w, `/containers/${c.Id}/json`));
  const networks = await api<NetworkJson[]>(w, '/networks');
  const bridgeNets = networks.filter((n) => n.Driver === 'bridge');

  // links with tsnet's mark in the world's host netns
  type Link = { ifname: string; ifalias?: string; linkinfo?: { info_kind?: string } };
  const listLinks = async () => JSON.parse((await w.inHost(['ip', '-j', '-d', 'link', 'show'])).stdout) as Link[];
  let links = await listLinks();
  const marked = (kind: string) =>
    links
      .filter((l) => l.linkinfo?.info_kind === kind && /^tsnet:[0-9a-f]{64}$/.test(l.ifalias ?? ''))
      .map((l) => l.ifalias!.slice(6));
  m.bridge = diff(
    'bridge',
    bridgeNets.map((n) => n.Id),
    marked('bridge'),
  );
  const bridgeIds = new Set(bridgeNets.map((n) => n.Id));
  const endpoints = containers.flatMap((c) =>
    Object.values(c.NetworkSettings.Networks)
      .filter((e) => bridgeIds.has(e.NetworkID))
      .map((e) => e.EndpointID),
  );
  // A removed container's veth pair dies with its netns, which the kernel destroys in a work
  // queue after the last reference goes (~30 ms here, longer under load): a veth without an
  // endpoint is a leak only if it stays.
  const unexplained = () => marked('veth').some((id) => !endpoints.includes(id));
  await eventually(async () => {
    if (!unexplained()) return true;
    links = await listLinks();
    return !unexplained();
  }, 5000);
  m.veth = diff('veth', endpoints, marked('veth'));

  // sandboxes: files and mounts
  const netnsDir = path.join(w.execRoot, 'netns');
  const keys = containers.map((c) => c.NetworkSettings.SandboxKey).filter(Boolean);
  // namespaces made ahead by the daemon (--netns-pool): named pool-*, never a container's
  const own = (f: string) => !f.startsWith('ov-') && !f.startsWith(POOL_PREFIX);
  const files = readdir(netnsDir)
    .filter(own)
    .map((f) => path.join(netnsDir, f));
  m['netns-file'] = diff('netns file', keys, files);
  const mounted = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.startsWith(`${netnsDir}/`));
  const mounts = mounted.filter((p) => own(path.basename(p)));
  m['netns-mount'] = diff('netns mount', keys, mounts);
  // a pool entry holds nothing but lo (one that was handed out would hold a container's links);
  // a plain pool-* file is a fill or take in progress, or a crash's leftover the next sweep removes
  for (const entry of mounted.filter((p) => path.basename(p).startsWith(POOL_PREFIX))) {
    const r = await w.inHost(['nsenter', `--net=${entry}`, 'ip', '-o', 'link', 'show']);
    if (r.exitCode !== 0) continue; // taken or removed meanwhile
    const names = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(':')[1]?.trim().split('@')[0]);
    if (names.some((n) => n !== 'lo')) m['netns-pool'].push(`netns pool: ${entry} holds ${names.join(', ')}`);
  }

  // IPAM records on disk
  const poolsDir = path.join(w.root, 'ipam', 'pools');
  const pools: string[] = [];
  const addresses: string[] = [];
  for (const key of readdir(poolsDir).filter((k) => !k.startsWith('.'))) {
    const pool = readJson<{ networkId: string; subnet: string }>(path.join(poolsDir, key, 'pool.json'));
    if (!pool) continue;
    pools.push(`${pool.subnet} of ${pool.networkId.slice(0, 12)}`);
    for (const a of readdir(path.join(poolsDir, key, 'addresses')).filter((f) => f.endsWith('.json'))) {
      const rec = readJson<{ ip: string; owner: string }>(path.join(poolsDir, key, 'addresses', a));
      if (rec) addresses.push(`${rec.ip} of ${rec.owner.slice(0, 12)}`);
    }
  }
  m['ipam-pool'] = diff(
    'ipam pool',
    networks
      .filter((n) => n.IPAM.Driver === 'default')
      .flatMap((n) => n.IPAM.Config.map((c) => `${c.Subnet} of ${n.Id.slice(0, 12)}`)),
    pools,
  );
  m['ipam-address'] = diff(
    'ipam address',
    containers.flatMap((c) =>
      Object.values(c.NetworkSettings.Networks)
        .filter((e) => e.IPAddress)
        .map((e) => `${e.IPAddress} of ${e.EndpointID.slice(0, 12)}`),
    ),
    addresses,
  );

  // supervisors
  m.process = diff(
    'process',
    containers.filter((c) => c.State.Running).map((c) => c.Id.slice(0, 16)),
    supervisors(w),
  );

  // addresses inside every sandbox
  for (const c of containers) {
    const key = c.NetworkSettings.SandboxKey;
    if (!key || !fs.existsSync(key)) continue;
    const r = await w.inHost(['nsenter', `--net=${key}`, 'ip', '-j', '-4', 'addr', 'show']);
    const ifaces = (
      JSON.parse(r.stdout || '[]') as Array<{ ifname: string; addr_info: Array<{ local: string; prefixlen: number }> }>
    )
      .filter((i) => i.ifname !== 'lo')
      .flatMap((i) => i.addr_info.map((a) => `${c.Name} ${a.local}/${a.prefixlen}`));
    m['iface-address'].push(
      ...diff(
        'address',
        Object.values(c.NetworkSettings.Networks)
          .filter((e) => e.IPAddress)
          .map((e) => `${c.Name} ${e.IPAddress}/${e.IPPrefixLen}`),
        ifaces,
      ),
    );
  }

  // published ports: what the active firewall backend has programmed
  const dnat = await programmedPorts(w);
  const published = containers
    .filter((c) => c.State.Running)
    .flatMap((c) =>
      Object.entries(c.NetworkSettings.Ports ?? {}).flatMap(([k, v]) => (v ?? []).map((b) => `${k.split('/')[1]} ${b.HostPort}`)),
    );
  m['port-rule'] = diff('port rule', new Set(published), new Set(dnat));

  // cgroups: only running containers have one
  const running = new Set(containers.filter((c) => c.State.Running).map((c) => c.Id));
  for (const base of ['/sys/fs/cgroup', ...readdir('/sys/fs/cgroup').map((d) => path.join('/sys/fs/cgroup', d))]) {
    for (const id of readdir(path.join(base, w.cgroupParent))) {
      if (/^[0-9a-f]{64}$/.test(id) && !running.has(id)) m.cgroup.push(`cgroup ${path.join(base, w.cgroupParent, id)}`);
    }
  }

  // files: a bundle per running container, a dir and a record per container, and trash dirs
  // that empty (what a removal put there is deleted in the background; the start-up sweep
  // deletes what a crash left)
  const ids = containers.map((c) => c.Id);
  m.file.push(
    ...diff(
      'bundle',
      containers.filter((c) => c.State.Running).map((c) => c.Id.slice(0, 16)),
      readdir(path.join(w.execRoot, 'c')),
    ),
    ...diff('container dir', ids, readdir(path.join(w.root, 'containers'))),
    ...diff(
      'container record',
      ids.map((id) => `${id}.json`),
      readdir(path.join(w.root, 'state', 'containers')).filter((f) => !f.startsWith('.')),
    ),
  );
  const trash = [path.join(w.root, 'trash'), path.join(w.execRoot, 'trash')];
  const inTrash = () => trash.flatMap((d) => readdir(d).map((f) => path.join(d, f)));
  await eventually(() => inTrash().length === 0);
  m.file.push(...inTrash().map((f) => `file: left in the trash ${f}`));
  return m;
}

/** "kind: n" for every kind, for logs. */
export function summary(m: Mismatches): string {
  return INVARIANT_KINDS.map((k) => `${k}: ${m[k].length}`).join(', ');
}
