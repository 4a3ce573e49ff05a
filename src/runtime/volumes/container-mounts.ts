/**
 * The container side of volumes: at create, the planned mounts become volumes (named ones made
 * on demand, anonymous ones made for the container); at start, the spec's bind and tmpfs
 * entries (tmpfs volumes mounted, the image's content copied into an empty volume, as Docker
 * does); after the exit, tmpfs volumes no one runs with are unmounted; `rm -v` removes the
 * container's anonymous volumes.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../lib/logger.js';
import { TsnetError } from '../../errors/index.js';
import { copyFromLayers } from '../../kernel/mounts.js';
import type { ContainerRecord } from '../container/types.js';
import { mountOrder, planMounts, type PlannedMount } from './mounts.js';
import type { MountPoint } from './types.js';
import type { VolumeStore } from './volume-store.js';

export type SpecMount =
  /** subpath: mount only this path inside source, resolved beneath it by tsnet-init (no symlinks). */
  | { kind: 'bind'; source: string; target: string; readOnly: boolean; subpath?: string }
  | { kind: 'tmpfs'; target: string; options: string };

export class ContainerMounts {
  constructor(
    private readonly volumes: VolumeStore,
    private readonly scratchDir: string,
    private readonly logger: Logger,
  ) {}

  /** Make the volumes a new container needs; `undo` removes the ones this call made. */
  async realize(plan: PlannedMount[]): Promise<{ mounts: MountPoint[]; undo: () => Promise<void> }> {
    const made: string[] = [];
    const undo = async () => {
      for (const name of made.reverse()) await this.volumes.remove(name, true).catch(() => undefined);
    };
    const mounts: MountPoint[] = [];
    try {
      for (const p of plan) {
        const { volumeOptions, ...m } = p;
        if (m.Type === 'bind' && !m.CreateSource && !fs.existsSync(m.Source))
          throw new TsnetError(
            'TSNET_BAD_VOLUME',
            `invalid mount config for type "bind": bind source path does not exist: ${m.Source}`,
          );
        if (m.Type !== 'volume') {
          mounts.push(m);
          continue;
        }
        const existed = m.Name ? this.volumes.find(m.Name) : undefined;
        const vol =
          existed ??
          (await this.volumes.create(
            {
              ...(m.Name ? { Name: m.Name } : {}),
              Labels: volumeOptions?.labels ?? {},
              DriverOpts: volumeOptions?.driverOpts ?? {},
            },
            m.Anonymous === true,
          ));
        if (!existed) made.push(vol.Name);
        mounts.push({ ...m, Name: vol.Name, Source: this.volumes.json(vol).Mountpoint });
      }
    } catch (err) {
      await undo();
      throw err;
    }
    return { mounts, undo };
  }

  /** The spec entries for a start, parents before children. */
  async prepare(rec: ContainerRecord, lowerDirs: string[]): Promise<SpecMount[]> {
    const out: SpecMount[] = [];
    // a record from before volumes existed has only its Binds
    for (const m of mountOrder(rec.mounts ?? planMounts({ binds: rec.hostConfig.Binds }))) {
      if (m.Type === 'tmpfs') {
        out.push({ kind: 'tmpfs', target: m.Destination, options: m.TmpfsOptions ?? 'rw,noexec,nosuid,nodev' });
        continue;
      }
      if (m.Type === 'bind') {
        if (!fs.existsSync(m.Source)) {
          if (!m.CreateSource)
            throw new TsnetError(
              'TSNET_BAD_VOLUME',
              `invalid mount config for type "bind": bind source path does not exist: ${m.Source}`,
            );
          fs.mkdirSync(m.Source, { recursive: true });
        }
        out.push({ kind: 'bind', source: m.Source, target: m.Destination, readOnly: !m.RW });
        continue;
      }
      const vol = this.volumes.find(m.Name ?? '');
      if (!vol)
        throw new TsnetError('TSNET_VOLUME_NOT_FOUND', `volume ${m.Name} of ${m.Destination} is gone: recreate the container`);
      const source = await this.volumes.prepare(vol);
      // with a Subpath the volume is someone's existing data: nothing of the image is copied in
      if (!m.NoCopy && !m.Subpath && this.volumes.isEmpty(vol)) await this.copyUp(lowerDirs, m.Destination, source);
      out.push({ kind: 'bind', source, target: m.Destination, readOnly: !m.RW, ...(m.Subpath ? { subpath: m.Subpath } : {}) });
    }
    return out;
  }

  /** Docker copies the image's files at the mount path into an empty volume. */
  private async copyUp(lowerDirs: string[], destination: string, into: string): Promise<void> {
    if (lowerDirs.length === 0) return;
    const rel = destination.replace(/^\/+/, '');
    // a symlink (or any non-directory) on the way would be resolved on the host: no copy then
    const parts = rel.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      for (const l of lowerDirs) {
        const st = fs.lstatSync(path.join(l, prefix), { throwIfNoEntry: false });
        if (st && !st.isDirectory()) {
          this.logger.debug(`no copy-up into the volume at ${destination}: /${prefix} is not a directory in the image`);
          return;
        }
      }
    }
    if (!lowerDirs.some((l) => fs.existsSync(path.join(l, rel)))) return;
    fs.mkdirSync(this.scratchDir, { recursive: true, mode: 0o700 });
    const scratch = fs.mkdtempSync(path.join(this.scratchDir, 'copyup-'));
    try {
      await copyFromLayers(lowerDirs, rel, scratch, into);
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }

  /** After the container stopped. */
  async release(rec: ContainerRecord): Promise<void> {
    for (const m of rec.mounts ?? []) {
      if (m.Type !== 'volume' || !m.Name) continue;
      const vol = this.volumes.find(m.Name);
      if (vol)
        await this.volumes.release(vol).catch((err: Error) => this.logger.warn(`release volume ${m.Name}: ${err.message}`));
    }
  }

  /** `rm -v` and `--rm`: the container's anonymous volumes go with it (named ones stay). */
  async removeAnonymous(rec: ContainerRecord): Promise<void> {
    for (const m of rec.mounts ?? []) {
      if (m.Type !== 'volume' || !m.Anonymous || !m.Name) continue;
      await this.volumes.remove(m.Name, true).catch((err: Error) => this.logger.warn(`remove volume ${m.Name}: ${err.message}`));
    }
  }
}
