/**
 * Options of Docker's `local` volume driver (`-o type=… -o o=… -o device=…`) that tsnet
 * supports: plain directories, tmpfs, and binds of a host directory. Pure.
 */
import { TsnetError } from '../../errors/index.js';
import { tmpfsOptions } from './mounts.js';

export type LocalKind = { kind: 'dir' } | { kind: 'tmpfs'; options: string } | { kind: 'bind'; device: string };

export function localKind(opts: Record<string, string>): LocalKind {
  for (const k of Object.keys(opts))
    if (!['type', 'o', 'device'].includes(k))
      throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid option "${k}" for the local volume driver: use type, o and device`);
  const { type = '', o = '', device = '' } = opts;
  if (!type && !o && !device) return { kind: 'dir' };
  if (type === 'tmpfs') {
    if (device && device !== 'tmpfs')
      throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid local volume: type=tmpfs takes device=tmpfs (got "${device}")`);
    // Docker's local driver passes `o` to mount(8) as is; keep to tmpfs's own data options
    const t = tmpfsOptions(`exec,suid,dev,${o}`, 'the volume');
    return { kind: 'tmpfs', options: t.options.replace(/^rw,?/, '') };
  }
  if ((type === 'none' || type === '') && o.split(',').includes('bind')) {
    if (!device.startsWith('/'))
      throw new TsnetError(
        'TSNET_INVALID_ARGUMENT',
        `invalid local volume: o=bind needs device=/absolute/host/path (got "${device}")`,
      );
    for (const x of o.split(','))
      if (!['bind', 'rbind', 'rw'].includes(x))
        throw new TsnetError(
          'TSNET_INVALID_ARGUMENT',
          `invalid local volume: option o=${o} is not supported with a bind (use o=bind)`,
        );
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the path reaches the spec file
    if (/[\x00-\x1f]/.test(device))
      throw new TsnetError('TSNET_INVALID_ARGUMENT', 'invalid local volume: control characters in device');
    return { kind: 'bind', device };
  }
  throw new TsnetError(
    'TSNET_INVALID_ARGUMENT',
    `local volume type "${type}"${o ? ` with o=${o}` : ''} is not supported by tsnet: use no options (a directory), type=tmpfs device=tmpfs, or type=none o=bind device=/path`,
  );
}
