/**
 * A container's mounts from its create request, as Docker resolves them: `Binds`
 * (`/host:/dst`, `name:/dst`, `/dst`), `HostConfig.Mounts` (bind, volume, tmpfs),
 * `HostConfig.Tmpfs`, then anonymous volumes for `Config.Volumes` and the image's VOLUMEs
 * not already mounted. Pure: every check happens here, before anything is made.
 */
import path from 'node:path';
import { TsnetError } from '../../errors/index.js';
import { checkVolumeName } from './names.js';
import type { MountPoint } from './types.js';

export interface MountRequest {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  BindOptions?: { Propagation?: string; CreateMountpoint?: boolean } | null;
  VolumeOptions?: {
    NoCopy?: boolean;
    Subpath?: string;
    Labels?: Record<string, string> | null;
    DriverConfig?: { Name?: string; Options?: Record<string, string> | null } | null;
  } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number } | null;
}

/** A planned mount: a volume's Source is filled once the volume exists. */
export interface PlannedMount extends MountPoint {
  /** Options for a volume made on demand (HostConfig.Mounts VolumeOptions). */
  volumeOptions?: { labels: Record<string, string>; driverOpts: Record<string, string> };
}

export interface MountInputs {
  binds?: string[] | null;
  mounts?: MountRequest[] | null;
  tmpfs?: Record<string, string> | null;
  volumes?: Record<string, object> | null;
  imageVolumes?: Record<string, object> | null;
}

const bad = (msg: string) => new TsnetError('TSNET_BAD_VOLUME', msg);
// biome-ignore lint/suspicious/noControlCharactersInRegex: paths reach the NUL/tab-separated spec file
const CONTROL = /[\x00-\x1f\x7f]/;

const PROPAGATIONS = ['rprivate', 'private', 'rslave', 'slave', 'rshared', 'shared'];
const BIND_MODES = ['ro', 'rw', 'z', 'Z', 'nocopy', ...PROPAGATIONS];

/** Go's filepath.IsLocal: relative, not empty, not leaving its base lexically (no control characters here). */
function isLocal(p: string): boolean {
  if (p === '' || p.startsWith('/') || CONTROL.test(p)) return false;
  const n = path.posix.normalize(p);
  return n !== '..' && !n.startsWith('../');
}

function checkTarget(target: string | undefined, what: string): string {
  if (!target) throw bad(`invalid mount config${what}: a target (the path in the container) is required`);
  if (CONTROL.test(target)) throw bad(`invalid mount target "${JSON.stringify(target)}": control characters`);
  if (!target.startsWith('/')) throw bad(`invalid mount config${what}: the target "${target}" must be an absolute path`);
  const t = path.posix.normalize(target);
  if (t === '/') throw bad(`invalid mount config${what}: cannot mount over the container's root "/"`);
  return t.replace(/\/+$/, '');
}

function checkSource(source: string, spec: string): string {
  if (CONTROL.test(source)) throw bad(`invalid volume "${JSON.stringify(spec)}": control characters in path`);
  if (source === '.' || source === '..' || source.startsWith('./') || source.startsWith('../'))
    throw bad(`invalid volume "${spec}": the host path "${source}" is relative; the daemon needs an absolute path`);
  return path.posix.normalize(source);
}

/** One `Binds` entry (`-v`). */
export function parseBindSpec(spec: string): PlannedMount {
  const parts = spec.split(':');
  if (parts.length > 3 || parts.some((p) => p === ''))
    throw bad(`invalid volume specification "${spec}": use /host/path:/container/path[:ro], name:/path[:ro] or /path`);
  if (parts.length === 1) {
    return {
      Type: 'volume',
      Source: '',
      Destination: checkTarget(parts[0], ` "${spec}"`),
      Mode: '',
      RW: true,
      Propagation: '',
      Anonymous: true,
      Driver: 'local',
    };
  }
  const [source, target, mode = ''] = parts as [string, string, string?];
  const modes = mode ? mode.split(',') : [];
  for (const m of modes)
    if (!BIND_MODES.includes(m))
      throw bad(`invalid mode "${m}" in volume "${spec}": use ro or rw (and z, Z, nocopy, a propagation)`);
  const rw = !modes.includes('ro');
  const destination = checkTarget(target, ` "${spec}"`);
  if (source.startsWith('/') || source.startsWith('.')) {
    return {
      Type: 'bind',
      Source: checkSource(source, spec),
      Destination: destination,
      Mode: mode,
      RW: rw,
      Propagation: modes.find((m) => PROPAGATIONS.includes(m)) ?? 'rprivate',
      CreateSource: true,
    };
  }
  checkVolumeName(source);
  return {
    Type: 'volume',
    Name: source,
    Source: '',
    Destination: destination,
    Driver: 'local',
    Mode: mode === '' ? 'z' : mode,
    RW: rw,
    Propagation: '',
    NoCopy: modes.includes('nocopy'),
  };
}

/** Docker's tmpfs flags: noexec,nosuid,nodev unless overridden; the rest is mount data. */
export function tmpfsOptions(text: string, what: string): { rw: boolean; options: string } {
  const flags = new Map<string, boolean>([
    ['noexec', true],
    ['nosuid', true],
    ['nodev', true],
  ]);
  let rw = true;
  const data: string[] = [];
  for (const o of text.split(',').filter(Boolean)) {
    if (o === 'ro') rw = false;
    else if (o === 'rw') rw = true;
    else if (o === 'exec' || o === 'suid' || o === 'dev') flags.set(`no${o}`, false);
    else if (o === 'noexec' || o === 'nosuid' || o === 'nodev') flags.set(o, true);
    else if (/^(size=[0-9]+[kmgKMG%]?|mode=[0-7]{3,4}|uid=[0-9]+|gid=[0-9]+|nr_inodes=[0-9]+[kmgKMG]?)$/.test(o)) data.push(o);
    else if (['rprivate', 'private', 'rslave', 'slave', 'rshared', 'shared', 'strictatime', 'relatime', 'noatime'].includes(o)) {
      /* accepted as Docker does; tsnet's tmpfs is private */
    } else throw bad(`invalid tmpfs option "${o}" for ${what}: use size=, mode=, uid=, gid=, ro, exec, suid, dev`);
  }
  const set = [...flags].filter(([, on]) => on).map(([f]) => f);
  return { rw, options: [rw ? 'rw' : 'ro', ...set, ...data].join(',') };
}

function fromMountRequest(m: MountRequest, i: number): PlannedMount {
  const what = ` Mounts[${i}]`;
  const type = m.Type ?? '';
  const destination = checkTarget(m.Target, what);
  const rw = m.ReadOnly !== true;
  switch (type) {
    case 'bind': {
      if (!m.Source?.startsWith('/'))
        throw bad(`invalid mount config for type "bind"${what}: the source must be an absolute host path`);
      if (m.VolumeOptions || m.TmpfsOptions) throw bad(`invalid mount config for type "bind"${what}: only BindOptions apply`);
      const prop = m.BindOptions?.Propagation || 'rprivate';
      if (!PROPAGATIONS.includes(prop)) throw bad(`invalid mount config for type "bind"${what}: unknown propagation "${prop}"`);
      return {
        Type: 'bind',
        Source: checkSource(m.Source, m.Source),
        Destination: destination,
        Mode: '',
        RW: rw,
        Propagation: prop,
        CreateSource: m.BindOptions?.CreateMountpoint === true,
      };
    }
    case 'volume': {
      if (m.BindOptions || m.TmpfsOptions) throw bad(`invalid mount config for type "volume"${what}: only VolumeOptions apply`);
      const driver = m.VolumeOptions?.DriverConfig?.Name || 'local';
      if (driver !== 'local')
        throw bad(
          `invalid mount config for type "volume"${what}: volume driver "${driver}" is not available (tsnet has the local driver)`,
        );
      const anonymous = !m.Source;
      if (!anonymous) checkVolumeName(m.Source!);
      const subpath = m.VolumeOptions?.Subpath || undefined;
      if (subpath !== undefined) {
        if (anonymous)
          throw bad(`invalid mount config for type "volume"${what}: must not set Subpath when using anonymous volumes`);
        if (!isLocal(subpath))
          throw bad(`invalid mount config for type "volume"${what}: subpath must be a relative path within the volume`);
      }
      return {
        Type: 'volume',
        ...(anonymous ? { Anonymous: true } : { Name: m.Source! }),
        Source: '',
        Destination: destination,
        Driver: 'local',
        Mode: '',
        RW: rw,
        Propagation: '',
        NoCopy: m.VolumeOptions?.NoCopy === true,
        ...(subpath !== undefined ? { Subpath: path.posix.normalize(subpath) } : {}),
        volumeOptions: {
          labels: { ...(m.VolumeOptions?.Labels ?? {}) },
          driverOpts: { ...(m.VolumeOptions?.DriverConfig?.Options ?? {}) },
        },
      };
    }
    case 'tmpfs': {
      if (m.Source) throw bad(`invalid mount config for type "tmpfs"${what}: a tmpfs mount has no source`);
      if (m.BindOptions || m.VolumeOptions) throw bad(`invalid mount config for type "tmpfs"${what}: only TmpfsOptions apply`);
      const data: string[] = [];
      const size = m.TmpfsOptions?.SizeBytes;
      if (size !== undefined && size !== 0) {
        if (!Number.isInteger(size) || size < 0) throw bad(`invalid mount config for type "tmpfs"${what}: bad SizeBytes ${size}`);
        data.push(`size=${size}`);
      }
      const mode = m.TmpfsOptions?.Mode;
      if (mode !== undefined && mode !== 0) {
        if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777)
          throw bad(`invalid mount config for type "tmpfs"${what}: bad Mode ${mode}`);
        data.push(`mode=${mode.toString(8)}`);
      }
      const t = tmpfsOptions([rw ? 'rw' : 'ro', ...data].join(','), `Mounts[${i}]`);
      return { Type: 'tmpfs', Source: '', Destination: destination, Mode: '', RW: rw, Propagation: '', TmpfsOptions: t.options };
    }
    default:
      throw bad(`invalid mount config${what}: type "${type}" is not supported (use bind, volume or tmpfs)`);
  }
}

/** Every mount of a new container; throws on the first bad one (Docker's words where it has some). */
export function planMounts(i: MountInputs): PlannedMount[] {
  const out: PlannedMount[] = [];
  const seen = new Set<string>();
  const add = (m: PlannedMount) => {
    if (seen.has(m.Destination)) throw bad(`Duplicate mount point: ${m.Destination}`);
    seen.add(m.Destination);
    out.push(m);
  };
  for (const b of i.binds ?? []) add(parseBindSpec(b));
  for (const [n, m] of (i.mounts ?? []).entries()) add(fromMountRequest(m, n));
  for (const [dst, opts] of Object.entries(i.tmpfs ?? {})) {
    const t = tmpfsOptions(opts, `--tmpfs ${dst}`);
    add({
      Type: 'tmpfs',
      Source: '',
      Destination: checkTarget(dst, ` --tmpfs`),
      Mode: '',
      RW: t.rw,
      Propagation: '',
      TmpfsOptions: t.options,
    });
  }
  // anonymous volumes: the request's Config.Volumes, then the image's, where nothing is mounted
  for (const dst of [...Object.keys(i.volumes ?? {}), ...Object.keys(i.imageVolumes ?? {})]) {
    const d = checkTarget(dst, ` Volumes "${dst}"`);
    if (seen.has(d)) continue;
    seen.add(d);
    out.push({
      Type: 'volume',
      Source: '',
      Destination: d,
      Driver: 'local',
      Mode: '',
      RW: true,
      Propagation: '',
      Anonymous: true,
    });
  }
  return out;
}

/** Parents before children (Docker sorts mounts by the depth of their destination). */
export function mountOrder<T extends { Destination: string }>(mounts: T[]): T[] {
  const depth = (d: string) => d.split('/').filter(Boolean).length;
  return [...mounts].sort((a, b) => depth(a.Destination) - depth(b.Destination));
}
