/** `--ipc` (HostConfig.IpcMode): which IPC namespace and /dev/shm a container gets. Pure. */
import { TsnetError } from '../../errors/index.js';

const bad = (message: string) => new TsnetError('TSNET_INVALID_ARGUMENT', message);
const shown = (s: string) => JSON.stringify(s.slice(0, 80));

/**
 * HostConfig.IpcMode: `private` (and `shareable`, the same here: tsnet has no `container:X`
 * joining) or empty — the container's own IPC namespace; `host` — the daemon's, with its
 * /dev/shm; `none` — its own, without /dev/shm. `container:X` is refused with one line rather
 * than ignored. Returns tsnet-init's `ipc` value (undefined: the default, private).
 */
export function checkIpcMode(mode: unknown): 'host' | 'none' | undefined {
  if (mode === undefined || mode === null || mode === '' || mode === 'private' || mode === 'shareable') return undefined;
  if (mode === 'host' || mode === 'none') return mode;
  if (typeof mode === 'string' && mode.startsWith('container:'))
    throw bad(
      `IPC mode ${shown(mode)} is not supported: tsnet gives a container its own IPC namespace (private, shareable, none) or the host's (host)`,
    );
  throw bad(`invalid IPC mode ${shown(String(mode))}: private, shareable, host or none`);
}
