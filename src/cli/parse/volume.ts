/**
 * `-v/--volume HOST:CONTAINER[:OPTIONS]` → one HostConfig.Binds entry. HOST is an absolute
 * path, a relative path starting with `.` (made absolute against the current directory,
 * as docker does), or a volume name (made on demand; the daemon checks it). CONTAINER must
 * be absolute. `-v /data` alone is an anonymous volume: returned as is, for Config.Volumes.
 */
import { resolve } from 'node:path';

export function parseVolume(spec: string, cwd: string): string {
  const parts = spec.split(':');
  if (parts.length === 1) {
    if (!spec.startsWith('/')) throw new Error(`container path ${JSON.stringify(spec)} is not absolute`);
    return spec;
  }
  if (parts.length > 3) throw new Error('too many colons: use HOST-PATH:CONTAINER-PATH[:ro|rw]');
  const [host, target, mode] = parts as [string, string, string | undefined];
  if (host === '') throw new Error('empty host path');
  if (target === '') throw new Error('empty container path');
  if (!target.startsWith('/')) throw new Error(`container path ${JSON.stringify(target)} is not absolute`);
  let source = host;
  if (host === '.' || host === '..' || host.startsWith('./') || host.startsWith('../')) source = resolve(cwd, host);
  if (mode !== undefined) {
    const ok = ['ro', 'rw', 'z', 'Z', 'nocopy', 'rprivate', 'private', 'rslave', 'slave', 'rshared', 'shared'];
    if (mode.split(',').some((m) => !ok.includes(m))) {
      throw new Error(`invalid mode ${JSON.stringify(mode)}: use ro or rw (and z, Z, nocopy, a propagation)`);
    }
    return `${source}:${target}:${mode}`;
  }
  return `${source}:${target}`;
}
