/**
 * Container security settings from HostConfig: capabilities (Docker's --cap-add/--cap-drop
 * rules), `SecurityOpt` (seccomp, no-new-privileges) and `Devices`. Pure; every check happens at
 * create, so a container that was accepted can start.
 */
import { TsnetError } from '../../errors/index.js';
import { checkMapping, type DeviceMapping, type DeviceRule, parseCgroupRule } from '../devices/rules.js';
import { parseProfile, type SeccompProfile } from '../seccomp/index.js';
import type { HostConfig } from './types.js';

/** Capability numbers 0..40, as in <linux/capability.h>. */
export const ALL_CAPS = [
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_ADMIN',
  'NET_RAW',
  'IPC_LOCK',
  'IPC_OWNER',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_CHROOT',
  'SYS_PTRACE',
  'SYS_PACCT',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_NICE',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'MKNOD',
  'LEASE',
  'AUDIT_WRITE',
  'AUDIT_CONTROL',
  'SETFCAP',
  'MAC_OVERRIDE',
  'MAC_ADMIN',
  'SYSLOG',
  'WAKE_ALARM',
  'BLOCK_SUSPEND',
  'AUDIT_READ',
  'PERFMON',
  'BPF',
  'CHECKPOINT_RESTORE',
].map((c) => `CAP_${c}`);

export const DEFAULT_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

function normCap(c: unknown): string {
  if (typeof c !== 'string') throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid capability ${JSON.stringify(c)}`);
  const u = c.toUpperCase();
  if (u === 'ALL') return 'ALL';
  const n = u.startsWith('CAP_') ? u : `CAP_${u}`;
  if (!ALL_CAPS.includes(n)) throw new TsnetError('TSNET_INVALID_ARGUMENT', `unknown capability: "${c}"`);
  return n;
}

/**
 * Docker's TweakCapabilities: privileged = all; `ALL` in add = all but the dropped ones; `ALL`
 * in drop = only the added ones; else the defaults minus drop plus add.
 */
export function capabilities(add: readonly unknown[] = [], drop: readonly unknown[] = [], privileged = false): string[] {
  const a = add.map(normCap);
  const d = drop.map(normCap);
  if (privileged) return [...ALL_CAPS];
  if (a.includes('ALL')) return ALL_CAPS.filter((c) => !d.includes(c));
  if (d.includes('ALL')) return [...new Set(a)];
  return [...new Set([...DEFAULT_CAPS.filter((c) => !d.includes(c)), ...a])];
}

export interface SecuritySettings {
  /** undefined = no filter (unconfined or privileged) */
  seccomp: 'default' | SeccompProfile | undefined;
  noNewPrivileges: boolean;
}

function badOpt(opt: string, why: string): never {
  throw new TsnetError('TSNET_BAD_SECURITY_OPT', `invalid --security-opt "${opt.slice(0, 80)}": ${why}`);
}

/** Docker's `key=value` (and the legacy `key:value`) security options. */
export function securitySettings(hc: Pick<HostConfig, 'SecurityOpt' | 'Privileged'>): SecuritySettings {
  const out: SecuritySettings = { seccomp: 'default', noNewPrivileges: true };
  const opts = hc.SecurityOpt ?? [];
  if (!Array.isArray(opts)) badOpt(String(opts), 'SecurityOpt must be a list of strings');
  for (const opt of opts as unknown[]) {
    if (typeof opt !== 'string') badOpt(String(opt), 'not a string');
    if (opt === 'no-new-privileges') continue;
    const m = /^([a-z-]+)[=:]([\s\S]*)$/.exec(opt);
    if (!m) badOpt(opt, 'use seccomp=unconfined|<profile.json> or no-new-privileges[=true|false]');
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'seccomp') {
      if (value === 'unconfined') out.seccomp = undefined;
      else if (value === 'builtin' || value === '') out.seccomp = 'default';
      else if (value.trimStart().startsWith('{')) out.seccomp = parseProfile(value);
      else badOpt(opt, 'the seccomp value must be "unconfined" or the JSON text of a profile (the CLI reads the file)');
    } else if (key === 'no-new-privileges') {
      if (value !== 'true' && value !== 'false') badOpt(opt, 'no-new-privileges takes true or false');
      // tsnet always sets no_new_privs (its floor is stricter than Docker's default); accepted.
    } else if ((key === 'apparmor' && value === 'unconfined') || (key === 'label' && value === 'disable')) {
      // no AppArmor/SELinux in tsnet: the "off" values are accepted, anything else is refused below
    } else {
      badOpt(opt, 'supported: seccomp=unconfined|<profile.json>, no-new-privileges');
    }
  }
  if (hc.Privileged) out.seccomp = undefined;
  return out;
}

/** Check HostConfig.Devices, CapAdd/CapDrop and SecurityOpt; throws one line on the first problem. */
export function checkSecurity(hc: HostConfig): void {
  capabilities(hc.CapAdd ?? [], hc.CapDrop ?? []);
  securitySettings(hc);
  deviceMappings(hc);
  deviceCgroupRules(hc);
}

/** HostConfig.DeviceCgroupRules (`--device-cgroup-rule`), added to the allow-list. */
export function deviceCgroupRules(hc: HostConfig): DeviceRule[] {
  const list = (hc.DeviceCgroupRules ?? []) as unknown;
  if (!Array.isArray(list)) throw new TsnetError('TSNET_BAD_DEVICE', 'DeviceCgroupRules must be a list');
  return list.map((r) => parseCgroupRule(String(r)));
}

export function deviceMappings(hc: HostConfig): Array<Required<DeviceMapping>> {
  const list = (hc.Devices ?? []) as unknown;
  if (!Array.isArray(list)) throw new TsnetError('TSNET_BAD_DEVICE', 'Devices must be a list');
  return list.map((d) => {
    if (typeof d !== 'object' || d === null) throw new TsnetError('TSNET_BAD_DEVICE', 'invalid device entry');
    return checkMapping(d as DeviceMapping);
  });
}
