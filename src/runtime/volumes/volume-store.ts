/**
 * Local volumes: `<root>/volumes/<name>/_data` (the mountpoint) beside `volume.json` (the
 * record). The only writer of that directory. Which containers use a volume is asked of the
 * container manager (`users`), so "in use" is always the records' truth.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../lib/logger.js';
import { TsnetError } from '../../errors/index.js';
import type { EventSink } from '../../events/types.js';
import { isMountPoint, mountTmpfs, unmount } from '../../kernel/mounts.js';
import { readJson, writeJsonAtomic } from '../../store/atomic-file.js';
import { newId } from '../ids.js';
import { localKind } from './local-options.js';
import { checkVolumeName, VOLUME_NAME } from './names.js';
import type { VolumeRecord } from './types.js';

export interface VolumeStoreDeps {
  /** `<root>/volumes` */
  dir: string;
  /** Ids of the containers (any state) whose mounts name the volume, and of the running ones. */
  users: (name: string) => { all: string[]; running: string[] };
  events?: EventSink;
  logger: Logger;
}

export interface CreateVolume {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

/** `GET /volumes/{name}` in Docker's shape. */
export interface VolumeJson {
  CreatedAt: string;
  Driver: string;
  Labels: Record<string, string>;
  Mountpoint: string;
  Name: string;
  Options: Record<string, string> | null;
  Scope: 'local';
  UsageData?: { Size: number; RefCount: number };
}

export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

export class VolumeStore {
  private readonly records = new Map<string, VolumeRecord>();

  constructor(private readonly deps: VolumeStoreDeps) {}

  /** Read every record (a record whose name is not a valid volume name is skipped). */
  async load(): Promise<void> {
    fs.mkdirSync(this.deps.dir, { recursive: true, mode: 0o701 });
    for (const name of fs.readdirSync(this.deps.dir)) {
      if (!VOLUME_NAME.test(name)) continue;
      const rec = await readJson<VolumeRecord>(path.join(this.deps.dir, name, 'volume.json')).catch(() => undefined);
      if (!rec || rec.Name !== name) {
        this.deps.logger.warn(`volume ${name}: no valid volume.json, skipped`);
        continue;
      }
      this.records.set(name, rec);
    }
  }

  /** tmpfs volumes left mounted by a daemon that died: unmounted when no running container uses them. */
  async sweep(): Promise<string[]> {
    const out: string[] = [];
    for (const rec of this.records.values()) {
      if (localKind(rec.Options).kind !== 'tmpfs') continue;
      const dir = this.dataDir(rec.Name);
      if (isMountPoint(dir) && this.deps.users(rec.Name).running.length === 0) {
        await unmount(dir);
        out.push(`tmpfs of volume ${rec.Name}`);
      }
    }
    return out;
  }

  list(): VolumeRecord[] {
    return [...this.records.values()].sort((a, b) => a.Name.localeCompare(b.Name));
  }

  find(name: string): VolumeRecord | undefined {
    return VOLUME_NAME.test(name) ? this.records.get(name) : undefined;
  }

  get(name: string): VolumeRecord {
    const rec = this.find(name);
    if (!rec) throw new TsnetError('TSNET_VOLUME_NOT_FOUND', `get ${name}: no such volume`);
    return rec;
  }

  private dataDir(name: string): string {
    checkVolumeName(name);
    return path.join(this.deps.dir, name, '_data');
  }

  /** The path a container mounts: the data dir, or the bound host directory. */
  mountSource(rec: VolumeRecord): string {
    const k = localKind(rec.Options);
    return k.kind === 'bind' ? k.device : this.dataDir(rec.Name);
  }

  /** Docker's answer to create of an existing name: the existing volume (same driver). */
  async create(req: CreateVolume, anonymous = false): Promise<VolumeRecord> {
    const driver = req.Driver || 'local';
    if (driver !== 'local')
      throw new TsnetError('TSNET_INVALID_ARGUMENT', `volume driver "${driver}" is not available: tsnet has the local driver`);
    const name = req.Name || newId();
    checkVolumeName(name);
    const options = { ...(req.DriverOpts ?? {}) };
    localKind(options); // refuse what the local driver cannot do, before anything is made
    const existing = this.records.get(name);
    if (existing) return existing;
    const labels = { ...(req.Labels ?? {}) };
    if (anonymous) labels[ANONYMOUS_LABEL] = '';
    const rec: VolumeRecord = {
      Name: name,
      Driver: 'local',
      CreatedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      Labels: labels,
      Options: options,
      ...(anonymous ? { Anonymous: true } : {}),
    };
    const dir = path.join(this.deps.dir, name);
    fs.mkdirSync(path.join(dir, '_data'), { recursive: true, mode: 0o755 });
    fs.chmodSync(dir, 0o701);
    try {
      await writeJsonAtomic(path.join(dir, 'volume.json'), rec);
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    this.records.set(name, rec);
    this.deps.events?.publish('volume', 'create', { ID: name, Attributes: { driver: 'local' } });
    return rec;
  }

  /** `force`: a missing volume is no error. A volume a container uses is refused either way (as Docker). */
  async remove(name: string, force = false): Promise<void> {
    const rec = this.find(name);
    if (!rec) {
      if (force) return;
      throw new TsnetError('TSNET_VOLUME_NOT_FOUND', `get ${name}: no such volume`);
    }
    const users = this.deps.users(name).all;
    if (users.length)
      throw new TsnetError(
        'TSNET_VOLUME_IN_USE',
        `remove ${name}: volume is in use - [${users.join(', ')}] (remove the container${users.length > 1 ? 's' : ''} first)`,
      );
    await this.destroy(rec);
  }

  private async destroy(rec: VolumeRecord): Promise<void> {
    const dir = path.join(this.deps.dir, rec.Name);
    const data = this.dataDir(rec.Name);
    if (isMountPoint(data)) await unmount(data);
    this.records.delete(rec.Name);
    // the record goes first: a crash in the middle leaves a dir no record explains, never a record without data
    fs.rmSync(path.join(dir, 'volume.json'), { force: true });
    fs.rmSync(dir, { recursive: true, force: true });
    this.deps.events?.publish('volume', 'destroy', { ID: rec.Name, Attributes: { driver: 'local' } });
  }

  /** Before a container using it starts: a tmpfs volume is mounted on first use. */
  async prepare(rec: VolumeRecord): Promise<string> {
    const k = localKind(rec.Options);
    if (k.kind === 'bind') {
      if (!fs.existsSync(k.device))
        throw new TsnetError('TSNET_BAD_VOLUME', `volume ${rec.Name}: its device ${k.device} does not exist on the host`);
      return k.device;
    }
    const data = this.dataDir(rec.Name);
    fs.mkdirSync(data, { recursive: true, mode: 0o755 });
    if (k.kind === 'tmpfs' && !isMountPoint(data)) await mountTmpfs(data, k.options);
    return data;
  }

  /** After a container using it stopped: a tmpfs volume no running container uses is unmounted (its data goes, as Docker's). */
  async release(rec: VolumeRecord): Promise<void> {
    if (localKind(rec.Options).kind !== 'tmpfs') return;
    const data = this.dataDir(rec.Name);
    if (this.deps.users(rec.Name).running.length === 0 && isMountPoint(data)) await unmount(data);
  }

  /** Whether the volume's data dir is empty (copy-up of image content happens only then). */
  isEmpty(rec: VolumeRecord): boolean {
    const k = localKind(rec.Options);
    if (k.kind === 'bind') return false;
    try {
      return fs.readdirSync(this.dataDir(rec.Name)).length === 0;
    } catch {
      return true;
    }
  }

  json(rec: VolumeRecord, usage = false): VolumeJson {
    const out: VolumeJson = {
      CreatedAt: rec.CreatedAt,
      Driver: rec.Driver,
      Labels: rec.Labels,
      Mountpoint: path.join(this.deps.dir, rec.Name, '_data'),
      Name: rec.Name,
      Options: Object.keys(rec.Options).length ? rec.Options : null,
      Scope: 'local',
    };
    if (usage) out.UsageData = { Size: this.size(rec), RefCount: this.deps.users(rec.Name).all.length };
    return out;
  }

  size(rec: VolumeRecord): number {
    return localKind(rec.Options).kind === 'bind' ? -1 : dirSize(this.dataDir(rec.Name));
  }

  /** Unused volumes: anonymous ones only unless `all` (Docker ≥ 1.42), narrowed by `keep`. */
  async prune(opts: {
    all: boolean;
    keep: (rec: VolumeRecord) => boolean;
  }): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }> {
    const deleted: string[] = [];
    let space = 0;
    for (const rec of this.list()) {
      if (!opts.all && !rec.Anonymous && !(ANONYMOUS_LABEL in rec.Labels)) continue;
      if (!opts.keep(rec)) continue;
      if (this.deps.users(rec.Name).all.length) continue;
      const size = this.size(rec);
      await this.destroy(rec);
      deleted.push(rec.Name);
      if (size > 0) space += size;
    }
    return { VolumesDeleted: deleted, SpaceReclaimed: space };
  }
}

/** Bytes of regular files under dir (no symlinks followed). */
export function dirSize(dir: string): number {
  let total = 0;
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile()) total += fs.lstatSync(p, { throwIfNoEntry: false })?.size ?? 0;
    }
  }
  return total;
}
