/**
 * `-v/--volume HOST:CONTAINER[:ro|rw]` → one HostConfig.Binds entry. HOST is an absolute
 * path, a relative path starting with `.` (made absolute against the current directory,
 * as docker does), or a volume name (passed through; the daemon decides). CONTAINER must
 * be absolute. Anonymous volumes (`-v /data`) are not supported.
 */
import { resolve } from 'node:path';

export function parseVolume(spec: string, cwd: string): string {
  const parts = spec.split(':');
  if (parts.length === 1) {
    throw new Error('anonymous volumes are not supported: use HOST-PATH:CONTAINER-PATH[:ro|rw]');
  }
  if (parts.length > 3) throw new Error('too many colons: use HOST-PATH:CONTAINER-PATH[:ro|rw]');
  const [host, target, mode] = parts as [string, string, string | undefined];
  if (host === '') throw new Error('empty host path');
  if (target === '') throw new Error('empty container path');
  if (!target.startsWith('/')) throw new Error(`container path ${JSON.stringify(target)} is not absolute`);
  let source = host;
  if (host === '.' || host === '..' || host.startsWith('./') || host.startsWith('../')) source = resolve(cwd, host);
  if (mode !== undefined) {
    if (mode !== 'ro' && mode !== 'rw') {
      throw new Error(`invalid mode ${JSON.stringify(mode)}: use ro or rw`);
    }
    return `${source}:${target}:${mode}`;
  }
  return `${source}:${target}`;
}
