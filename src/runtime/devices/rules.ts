/**
 * Device access rules for containers (the devices cgroup's allow-list): Docker's defaults plus
 * what `--device` grants. Pure apart from `hostDevice`, which stats the host node.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TsnetError } from '../../errors/index.js';

export interface DeviceRule {
  type: 'a' | 'c' | 'b';
  /** null = any (`*`) */
  major: number | null;
  minor: number | null;
  /** subset of "rwm" */
  access: string;
}

/** HostConfig.Devices entry, as Docker's API. */
export interface DeviceMapping {
  PathOnHost: string;
  PathInContainer?: string;
  CgroupPermissions?: string;
}

const c = (major: number | null, minor: number | null, access = 'rwm'): DeviceRule => ({
  type: 'c',
  major,
  minor,
  access,
});

/**
 * Docker's default allow-list (moby oci defaults): mknod of any node, and read/write/mknod of
 * null, zero, full, random, urandom, tty, console, ptmx and the pty slaves.
 */
export const DEFAULT_DEVICE_RULES: readonly DeviceRule[] = [
  c(null, null, 'm'),
  { type: 'b', major: null, minor: null, access: 'm' },
  c(1, 3), // null
  c(1, 5), // zero
  c(1, 7), // full
  c(1, 8), // random
  c(1, 9), // urandom
  c(5, 0), // tty
  c(5, 1), // console
  c(5, 2), // ptmx
  c(136, null), // pts/*
];

/** `c 1:3 rwm` — the v1 devices.allow syntax. */
export function ruleText(r: DeviceRule): string {
  const n = (v: number | null) => (v === null ? '*' : String(v));
  return r.type === 'a' ? 'a' : `${r.type} ${n(r.major)}:${n(r.minor)} ${r.access}`;
}

function bad(msg: string): never {
  throw new TsnetError('TSNET_BAD_DEVICE', msg);
}

/** Check one API entry (shape only; the host node is checked at start). */
export function checkMapping(d: DeviceMapping): Required<DeviceMapping> {
  const host = d.PathOnHost;
  if (typeof host !== 'string' || !host.startsWith('/')) bad(`invalid device "${String(host)}": the host path must be absolute`);
  const ctr = d.PathInContainer || host;
  if (typeof ctr !== 'string' || !ctr.startsWith('/') || path.posix.normalize(ctr) === '/')
    bad(`invalid device "${host}": the container path "${String(ctr)}" must be absolute`);
  const perms = d.CgroupPermissions || 'rwm';
  if (typeof perms !== 'string' || !/^[rwm]{1,3}$/.test(perms) || new Set(perms).size !== perms.length)
    bad(`invalid device "${host}": permissions "${String(perms)}" must be a combination of r, w and m`);
  if (/[\t\n\0]/.test(host + ctr)) bad(`invalid device "${host}": control characters in path`);
  return { PathOnHost: host, PathInContainer: path.posix.normalize(ctr), CgroupPermissions: perms };
}

/** `--device-cgroup-rule 'c 1:3 rwm'` (Docker's syntax: type a|b|c, major and minor numbers or `*`). */
export function parseCgroupRule(text: string): DeviceRule {
  const m = /^([abc]) (\*|\d{1,7}):(\*|\d{1,7}) ([rwm]{1,3})$/.exec(text);
  if (!m || new Set(m[4]).size !== m[4]!.length)
    bad(`invalid device cgroup rule "${text.slice(0, 64)}": use "TYPE MAJOR:MINOR PERMS", e.g. "c 1:3 rwm" or "b *:* m"`);
  const num = (s: string) => (s === '*' ? null : Number(s));
  const [, type, major, minor, access] = m as unknown as [string, DeviceRule['type'], string, string, string];
  return type === 'a'
    ? { type: 'a', major: null, minor: null, access: 'rwm' }
    : { type, major: num(major), minor: num(minor), access };
}

/** The host node behind a mapping: its rule (type, major, minor, the mapping's permissions). */
export function hostDevice(d: Required<DeviceMapping>): DeviceRule {
  let st: fs.Stats;
  try {
    st = fs.statSync(d.PathOnHost);
  } catch (err) {
    bad(`error gathering device information while adding device "${d.PathOnHost}": ${(err as NodeJS.ErrnoException).code}`);
  }
  if (!st.isCharacterDevice() && !st.isBlockDevice()) bad(`device "${d.PathOnHost}" is not a character or block device`);
  const rdev = st.rdev;
  // Linux's new_encode_dev: major = bits 8-19, minor = bits 0-7 and 20-31.
  const major = (rdev >> 8) & 0xfff;
  const minor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
  return { type: st.isCharacterDevice() ? 'c' : 'b', major, minor, access: d.CgroupPermissions };
}
