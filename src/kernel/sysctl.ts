/**
 * sysctl through /proc/sys, with synchronous fs only: /proc/sys/net resolves against the net
 * namespace of the thread that opens the file, so inside withNetns (main thread switched) a
 * read or write reaches that namespace. Async fs would run on a libuv thread in the daemon's
 * own namespace.
 *
 * Keys: dotted `net.ipv4.ip_forward`, or path form `net/ipv4/conf/eth0.100/forwarding` when a
 * component (an interface name) contains dots. `ifaceSysctlKey()` builds the path form.
 */
import * as fs from 'node:fs';
import { TsnetError } from '../errors/index.js';
import { errnoOf } from './errno.js';

const PROC_SYS = '/proc/sys';

function sysctlError(message: string, key: string, err?: unknown): TsnetError {
  const errno = errnoOf(err);
  const details: Record<string, unknown> = { key };
  if (errno !== undefined) details.errno = errno;
  return new TsnetError('TSNET_SYSCTL', errno !== undefined ? `${message}: ${errno}` : message, { cause: err, details });
}

/** '/proc/sys/…' for a key in dotted or path form. Rejects anything that could leave /proc/sys. */
export function sysctlPath(key: string): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > 512)
    throw sysctlError(`invalid sysctl key ${JSON.stringify(key)}`, String(key));
  const parts = key.includes('/') ? key.split('/') : key.split('.');
  for (const p of parts) {
    // Interface names may hold dots, dashes, '@' etc.; nothing may be empty, '.', '..', or hold NUL/whitespace.
    if (p === '' || p === '.' || p === '..' || /[\s\0]/.test(p)) {
      throw sysctlError(`invalid sysctl key ${JSON.stringify(key)}`, key);
    }
  }
  return `${PROC_SYS}/${parts.join('/')}`;
}

/** Path-form key for a per-interface setting: ('ipv4', 'eth0.100', 'forwarding') → 'net/ipv4/conf/eth0.100/forwarding'. */
export function ifaceSysctlKey(
  family: 'ipv4' | 'ipv6',
  ifname: string,
  param: string,
  section: 'conf' | 'neigh' = 'conf',
): string {
  return `net/${family}/${section}/${ifname}/${param}`;
}

/** Value of a sysctl, trimmed (e.g. '1'). */
export function readSysctl(key: string): string {
  const path = sysctlPath(key);
  try {
    return fs.readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw sysctlError(`read sysctl ${key}`, key, err);
  }
}

/** Write a sysctl. The file must exist (no file is ever created under /proc/sys). */
export function writeSysctl(key: string, value: string | number | boolean): void {
  const path = sysctlPath(key);
  const text = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
  let fd: number | undefined;
  try {
    fd = fs.openSync(path, fs.constants.O_WRONLY);
    fs.writeSync(fd, text);
  } catch (err) {
    throw sysctlError(`write sysctl ${key}=${text}`, key, err);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Write only when the value differs; returns the previous value (for a rollback step). */
export function ensureSysctl(key: string, value: string | number | boolean): string {
  const want = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
  const prev = readSysctl(key);
  if (prev !== want) writeSysctl(key, want);
  return prev;
}
