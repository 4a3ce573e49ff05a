/**
 * `--volumes-from CONTAINER[:ro|:rw]` (HostConfig.VolumesFrom): the new container mounts the
 * other's binds and volumes at the same paths, as dockerd's registerMountPoints: read-only with
 * `:ro`, read-write with `:rw`, else as the other has them. Its own binds, mounts and tmpfs win
 * at a path both name; volumes-from wins over the anonymous volumes of Config.Volumes and the
 * image. A shared anonymous volume is not the new container's: its `rm -v` leaves it.
 */
import { TsnetError } from '../../errors/index.js';
import type { MountPoint } from './types.js';

export interface VolumesFromSource {
  name: string;
  mounts?: MountPoint[];
}

export function withVolumesFrom<T extends MountPoint>(
  own: T[],
  specs: readonly string[] | null | undefined,
  lookup: (ref: string) => VolumesFromSource,
): Array<T | MountPoint> {
  if (!specs?.length) return own;
  const taken = new Set(own.filter((m) => !m.Anonymous).map((m) => m.Destination));
  const shared = new Map<string, MountPoint>();
  for (const spec of specs) {
    const i = spec.lastIndexOf(':');
    const [ref, mode] = i > 0 ? [spec.slice(0, i), spec.slice(i + 1)] : [spec, ''];
    if (mode !== '' && mode !== 'ro' && mode !== 'rw')
      throw new TsnetError('TSNET_BAD_VOLUME', `invalid mode for volumes-from: ${mode} (use ro or rw)`);
    const src = lookup(ref);
    for (const m of src.mounts ?? []) {
      if (m.Type === 'tmpfs' || taken.has(m.Destination)) continue;
      const { Anonymous: _notOurs, ...rest } = m;
      shared.set(m.Destination, { ...rest, RW: mode === '' ? m.RW : mode === 'rw' });
    }
  }
  return [...own.filter((m) => !(m.Anonymous && shared.has(m.Destination))), ...shared.values()];
}
