/**
 * GET /containers/json's filters, as dockerd's list (daemon/list.go): every filter Docker accepts
 * is applied or refused, none is accepted and ignored. The list comes newest first.
 *
 * - `before`/`since`: a container (name or id; unknown → 404); only those created before / after
 *   it, itself excluded. `status` values are checked and imply `all`, as does a `limit`.
 * - `exited`: integers; containers that ran and exited with one of those codes.
 * - `ancestor`: an image and the images committed from it (unknown image → nothing matches).
 * - `publish`/`expose`: `port[/proto]` or `start-end[/proto]` (tcp by default). `expose` is
 *   Config.ExposedPorts (none with --network none or host: dockerd shows none there). `publish`
 *   is a published port: dockerd 20.10 matches the host port, the code and docs of later Docker
 *   the container port; tsnet matches either.
 * - `is-task`: tsnet runs no swarm tasks (true → nothing, false → all); `isolation` is Windows'
 *   (only `default` or empty match on Linux).
 * - `name`: Docker's regular expression (name-pattern.ts), on the name with and without its `/`.
 */
import { TsnetError } from '../../errors/index.js';
import type { ContainerNetworkState } from '../../network/container-api.js';
import { dockerStatus, shownExposedPorts } from '../../runtime/container/docker-json.js';
import type { ContainerRecord } from '../../runtime/container/types.js';
import { MAX_PATTERNS, nameFilter } from './name-pattern.js';
import { labelMatch } from './params.js';

export const CONTAINER_LIST_FILTERS = [
  'name',
  'id',
  'status',
  'label',
  'network',
  'ancestor',
  'before',
  'since',
  'exited',
  'health',
  'volume',
  'expose',
  'publish',
  'is-task',
  'isolation',
] as const;

const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];
const HEALTH = ['starting', 'healthy', 'unhealthy', 'none'];

export interface ListDeps {
  /** A container by name, id or id prefix; throws TSNET_CONTAINER_NOT_FOUND. */
  get(ref: string): ContainerRecord;
  network(rec: ContainerRecord): ContainerNetworkState;
  /** The ids of the image `ref` and of the images made from it; empty when there is no such image. */
  imageFamily(ref: string): Promise<Set<string>>;
}

export interface ListOptions {
  all: boolean;
  limit?: number;
}

function invalid(msg: string): TsnetError {
  return new TsnetError('TSNET_INVALID_ARGUMENT', msg);
}

/** `80`, `80/udp`, `8000-8080/tcp` → every `port/proto` it names (Docker's portOp). */
export function portSet(key: string, values: readonly string[]): Set<string> {
  if (values.length > MAX_PATTERNS) throw invalid(`at most ${MAX_PATTERNS} ${key} filters in one request`);
  const out = new Set<string>();
  for (const v of values) {
    if (v.includes(':')) throw invalid(`filter for '${key}' should not contain ':': ${v}`);
    const [range = '', proto = 'tcp'] = v.split('/');
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(range);
    const start = Number(m?.[1]);
    const end = m?.[2] === undefined ? start : Number(m[2]);
    if (!m || start > 65535 || end > 65535 || end < start || !/^(tcp|udp|sctp)$/.test(proto))
      throw invalid(`invalid ${key} filter ${v}: give port[/proto] or start-end[/proto]`);
    for (let p = start; p <= end; p++) out.add(`${p}/${proto}`);
  }
  return out;
}

/** The containers of `list` (newest first) that pass the filters `f`, as dockerd lists them. */
export async function filterContainers(
  list: readonly ContainerRecord[],
  f: Record<string, string[]>,
  opts: ListOptions,
  d: ListDeps,
): Promise<ContainerRecord[]> {
  for (const s of f.status ?? []) if (!STATUSES.includes(s)) throw invalid(`Invalid filter 'status=${s}'`);
  for (const h of f.health ?? []) if (!HEALTH.includes(h)) throw invalid(`Unrecognised filter value for health: ${h}`);
  const exited = (f.exited ?? []).map((v) => {
    if (!/^-?\d+$/.test(v)) throw invalid(`invalid filter 'exited=${v}': give an exit code`);
    return Number(v);
  });
  let isTask: boolean | undefined;
  if (f['is-task']) {
    const v = f['is-task'];
    if (v.length === 1 && (v[0] === 'true' || v[0] === 'false')) isTask = v[0] === 'true';
    else throw invalid(`Invalid filter 'is-task=${v.join(',')}'`);
  }
  const publish = f.publish ? portSet('publish', f.publish) : undefined;
  const expose = f.expose ? portSet('expose', f.expose) : undefined;
  const names = f.name ? nameFilter(f.name) : undefined;
  const before = f.before?.length ? d.get(f.before[f.before.length - 1]!).id : undefined;
  const since = f.since?.length ? d.get(f.since[f.since.length - 1]!).id : undefined;
  let images: Set<string> | undefined;
  if (f.ancestor) {
    if (f.ancestor.length > MAX_PATTERNS) throw invalid(`at most ${MAX_PATTERNS} ancestor filters in one request`);
    images = new Set();
    for (const a of f.ancestor) for (const id of await d.imageFamily(a)) images.add(id);
  }
  const all = opts.all || f.status !== undefined || (opts.limit ?? 0) > 0;

  const out: ContainerRecord[] = [];
  let waitingFor = before;
  for (const r of list) {
    if (waitingFor !== undefined) {
      if (r.id === waitingFor) waitingFor = undefined;
      continue;
    }
    if (since !== undefined && r.id === since) break;
    if (!all && r.state.Status !== 'running') continue;
    if (names && !names([r.name, `/${r.name}`])) continue;
    if (f.id && !f.id.some((i) => r.id.startsWith(i))) continue;
    if (isTask === true) continue;
    if (f.label && !f.label.every((l) => labelMatch(r.config.Labels, l))) continue;
    if (f.isolation && !f.isolation.some((i) => i === '' || i === 'default')) continue;
    if (opts.limit && opts.limit > 0 && out.length === opts.limit) break;
    if (exited.length > 0 && !(r.state.Status !== 'running' && hasStarted(r) && exited.includes(r.state.ExitCode))) continue;
    if (f.status && !f.status.includes(dockerStatus(r))) continue;
    if (f.health && !f.health.includes(r.config.Healthcheck && r.state.Health ? r.state.Health.Status : 'none')) continue;
    if (f.volume && !(r.mounts ?? []).some((m) => f.volume!.some((v) => v === m.Name || v === m.Destination || v === m.Source)))
      continue;
    if (images && !images.has(r.imageId)) continue;
    if (f.network || publish) {
      const net = d.network(r);
      if (f.network && !onNetworks(net, f.network)) continue;
      if (
        publish &&
        !net.ports.some((p) => publish.has(`${p.hostPort}/${p.proto}`) || publish.has(`${p.containerPort}/${p.proto}`))
      )
        continue;
    }
    if (expose && !Object.keys(shownExposedPorts(r) ?? {}).some((k) => expose.has(k.includes('/') ? k : `${k}/tcp`))) continue;
    out.push(r);
  }
  return out;
}

/** Docker's `!StartedAt.IsZero()`: the container ran at least once. */
function hasStarted(r: ContainerRecord): boolean {
  return r.state.StartedAt !== '' && !r.state.StartedAt.startsWith('0001-');
}

/** Docker: the network's name as inspect shows it (none and host too), or a prefix of its id. */
function onNetworks(net: ContainerNetworkState, wanted: readonly string[]): boolean {
  if ((net.mode === 'none' || net.mode === 'host') && wanted.includes(net.mode)) return true;
  return Object.values(net.endpoints).some((e) => wanted.some((n) => n === e.networkName || e.networkId.startsWith(n)));
}
