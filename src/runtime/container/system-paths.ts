/**
 * The paths tsnet-init masks and makes read-only in every container that is not privileged
 * (`mask_paths` in src/runtime/native/child.c, in its order; a unit test reads child.c and
 * holds the two lists together): what inspect shows as HostConfig.MaskedPaths and
 * ReadonlyPaths, as dockerd stores its defaults at create (null for a privileged container).
 * Docker 20.10's defaults are the same lists; current Docker also masks /proc/interrupts and
 * the CPUs' thermal_throttle dirs, which tsnet-init does not.
 */
export const MASKED_PATHS: readonly string[] = [
  '/proc/asound',
  '/proc/acpi',
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

/** The paths list a container shows: tsnet-init's, or null when privileged (nothing masked). */
export function systemPaths(privileged: boolean | undefined): { MaskedPaths: string[] | null; ReadonlyPaths: string[] | null } {
  return privileged
    ? { MaskedPaths: null, ReadonlyPaths: null }
    : { MaskedPaths: [...MASKED_PATHS], ReadonlyPaths: [...READONLY_PATHS] };
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
  const same = (v: unknown, want: readonly string[]) =>
    v === undefined || v === null || (Array.isArray(v) && v.length === want.length && want.every((p) => v.includes(p)));
  if (!same(hc.MaskedPaths, MASKED_PATHS)) return 'MaskedPaths';
  if (!same(hc.ReadonlyPaths, READONLY_PATHS)) return 'ReadonlyPaths';
  return undefined;
}
