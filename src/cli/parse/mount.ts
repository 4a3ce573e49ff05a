/**
 * `--mount type=bind|volume|tmpfs,source=…,target=…[,readonly][,…]` (docker's CSV syntax) →
 * one HostConfig.Mounts entry. The daemon checks paths and names again.
 */
import { ramInBytes } from './size.js';

export interface MountSpec {
  Type: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  BindOptions?: { Propagation?: string; CreateMountpoint?: boolean };
  VolumeOptions?: {
    NoCopy?: boolean;
    Subpath?: string;
    Labels?: Record<string, string>;
    DriverConfig?: { Name?: string; Options?: Record<string, string> };
  };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

function boolValue(key: string, v: string | undefined): boolean {
  if (v === undefined || v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  throw new Error(`invalid value for ${key}: ${v} (use true or false)`);
}

function keyValue(v: string, key: string): [string, string] {
  const i = v.indexOf('=');
  if (i <= 0) throw new Error(`invalid ${key} "${v}": use ${key}=KEY=VALUE`);
  return [v.slice(0, i), v.slice(i + 1)];
}

export function parseMount(text: string): MountSpec {
  const m: MountSpec = { Type: 'volume' };
  const volume = (): NonNullable<MountSpec['VolumeOptions']> => {
    m.VolumeOptions ??= {};
    return m.VolumeOptions;
  };
  for (const field of text.split(',')) {
    if (field === '') continue;
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? undefined : field.slice(eq + 1);
    const need = (): string => {
      if (value === undefined || value === '') throw new Error(`invalid field "${field}": ${key} needs a value`);
      return value;
    };
    switch (key) {
      case 'type':
        m.Type = need();
        if (!['bind', 'volume', 'tmpfs'].includes(m.Type))
          throw new Error(`unsupported mount type "${m.Type}": use bind, volume or tmpfs`);
        break;
      case 'source':
      case 'src':
        m.Source = need();
        break;
      case 'target':
      case 'destination':
      case 'dst':
        m.Target = need();
        break;
      case 'readonly':
      case 'ro':
        m.ReadOnly = boolValue(key, value);
        break;
      case 'bind-propagation':
        m.BindOptions = { ...m.BindOptions, Propagation: need() };
        break;
      case 'bind-create-mountpoint':
        m.BindOptions = { ...m.BindOptions, CreateMountpoint: boolValue(key, value) };
        break;
      case 'volume-nocopy':
        volume().NoCopy = boolValue(key, value);
        break;
      case 'volume-subpath':
        volume().Subpath = need();
        break;
      case 'volume-label': {
        const [k, v] = keyValue(need(), key);
        volume().Labels = { ...volume().Labels, [k]: v };
        break;
      }
      case 'volume-driver':
        volume().DriverConfig = { ...volume().DriverConfig, Name: need() };
        break;
      case 'volume-opt': {
        const [k, v] = keyValue(need(), key);
        const vo = volume();
        vo.DriverConfig = { ...vo.DriverConfig, Options: { ...vo.DriverConfig?.Options, [k]: v } };
        break;
      }
      case 'tmpfs-size':
        try {
          m.TmpfsOptions = { ...m.TmpfsOptions, SizeBytes: ramInBytes(need()) };
        } catch {
          throw new Error(`invalid tmpfs-size "${value}": use a size like 64m`);
        }
        break;
      case 'tmpfs-mode':
        if (!/^[0-7]{1,4}$/.test(need())) throw new Error(`invalid tmpfs-mode "${value}": use octal, like 1777`);
        m.TmpfsOptions = { ...m.TmpfsOptions, Mode: Number.parseInt(value!, 8) };
        break;
      default:
        throw new Error(`unexpected key "${key}" in "${field}"`);
    }
  }
  if (!m.Target) throw new Error('target is required (target=/path/in/container)');
  if (m.Type !== 'volume' && m.VolumeOptions) throw new Error(`volume options cannot be used with type=${m.Type}`);
  if (m.Type !== 'bind' && m.BindOptions) throw new Error(`bind options cannot be used with type=${m.Type}`);
  if (m.Type !== 'tmpfs' && m.TmpfsOptions) throw new Error(`tmpfs options cannot be used with type=${m.Type}`);
  return m;
}

/** `--tmpfs /run[:options]` → a HostConfig.Tmpfs entry. */
export function parseTmpfs(text: string): [string, string] {
  const i = text.indexOf(':');
  const dst = i < 0 ? text : text.slice(0, i);
  if (!dst.startsWith('/')) throw new Error(`the path "${dst}" is not absolute`);
  return [dst, i < 0 ? '' : text.slice(i + 1)];
}
