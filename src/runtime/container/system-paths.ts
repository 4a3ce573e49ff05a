/**
 * The paths tsnet-init masks and makes read-only in every container that is not privileged
 * (`mask_paths` in src/runtime/native/child.c, in its order; a unit test reads child.c and
 * holds the two lists together): what inspect shows as HostConfig.MaskedPaths and
 * ReadonlyPaths, as dockerd stores its defaults at create (null for a privileged container).
 * Docker 20.10's defaults are the same lists but /proc/interrupts; current Docker's masked
 * list also has each CPU's thermal_throttle dir, which tsnet-init masks where the container's
 * /sys has one (`thermalThrottlePaths`, shown for every CPU of the host as dockerd shows them).
 */
import os from 'node:os';

export const MASKED_PATHS: readonly string[] = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

export const READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Each CPU's thermal_throttle dir (masked by tsnet-init's loop after its list). */
export function thermalThrottlePaths(cpus = os.cpus().length): string[] {
  return Array.from({ length: cpus }, (_, i) => `/sys/devices/system/cpu/cpu${i}/thermal_throttle`);
}

/** Everything masked: the list, then each CPU's thermal_throttle dir. */
export function maskedPaths(): string[] {
  return [...MASKED_PATHS, ...thermalThrottlePaths()];
}

/** The paths list a container shows: tsnet-init's, or null when privileged (nothing masked). */
export function systemPaths(privileged: boolean | undefined): { MaskedPaths: string[] | null; ReadonlyPaths: string[] | null } {
  return privileged
    ? { MaskedPaths: null, ReadonlyPaths: null }
    : { MaskedPaths: maskedPaths(), ReadonlyPaths: [...READONLY_PATHS] };
}

/**
 * A create's MaskedPaths / ReadonlyPaths, which tsnet-init cannot change: null, left out, or the
 * list it applies anyway (in any order; a client that copies an inspect sends it back) are
 * accepted, and anything for a privileged container (nothing is masked there, as dockerd);
 * returns the field that asks for something else (the docker CLI's `--security-opt
 * systempaths=unconfined` sends both as []).
 */
export function unappliedSystemPaths(hc: {
  Privileged?: boolean;
  MaskedPaths?: unknown;
  ReadonlyPaths?: unknown;
}): string | undefined {
  if (hc.Privileged === true) return undefined;
  // `want` is only made for a list to compare: maskedPaths() counts the CPUs (os.cpus() parses
  // /proc/cpuinfo, ~0.3 ms), and almost every create sends neither field
  const same = (v: unknown, want: () => readonly string[]) => {
    if (v === undefined || v === null) return true;
    const w = want();
    return Array.isArray(v) && v.length === w.length && w.every((p) => v.includes(p));
  };
  if (!same(hc.MaskedPaths, maskedPaths)) return 'MaskedPaths';
  if (!same(hc.ReadonlyPaths, () => READONLY_PATHS)) return 'ReadonlyPaths';
  return undefined;
}
