/**
 * HostConfig fields of a create that tsnet does not apply: refused in one line when the
 * container would be wrong without them, else warned about (Docker's create Warnings, which
 * the docker CLI prints as "WARNING: …"), never accepted in silence. Every container gets its
 * own PID, UTS and cgroup namespaces (tsnet-init unshares them; with --network host it shares
 * the host's UTS, as Docker), its command is PID 1, and its cgroup is under the daemon's
 * --cgroup-parent. (IpcMode is applied: ipc-mode.ts.)
 */
import { TsnetError } from '../../errors/index.js';
import { unappliedSystemPaths } from '../../runtime/container/system-paths.js';
import type { HostConfig } from '../../runtime/container/types.js';

function refuse(flag: string, value: string): TsnetError {
  return new TsnetError(
    'TSNET_INVALID_ARGUMENT',
    `${flag} ${value} is not supported by tsnet: every container has its own namespace (leave ${flag} out)`,
  );
}

/** Throws for a mode tsnet cannot give; returns the warnings for the create reply. */
export function notApplied(hc: HostConfig | undefined): string[] {
  if (!hc) return [];
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  const pid = text(hc.PidMode);
  if (pid !== '') throw refuse('--pid', pid);
  // IpcMode: create-request.ts (ipc-mode.ts) gives private, shareable, host and none
  const uts = text(hc.UTSMode);
  // the host's UTS namespace is what a host-network container has anyway
  if (uts !== '' && !(uts === 'host' && hc.NetworkMode === 'host')) throw refuse('--uts', uts);
  const cgroupns = text(hc.CgroupnsMode);
  if (!['', 'private'].includes(cgroupns)) throw refuse('--cgroupns', cgroupns);
  const paths = unappliedSystemPaths(hc);
  if (paths)
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `HostConfig.${paths} cannot be changed in tsnet (--security-opt systempaths=unconfined is not supported): every container that is not privileged gets tsnet's masked and read-only paths (leave it out)`,
    );
  const warnings: string[] = [];
  if (hc.Init === true) warnings.push('tsnet runs no init process (--init): the command is PID 1 and reaps its own children');
  // dockerd's own warning: the container manager drops them (the host's ports are the container's)
  const published = Object.values(hc.PortBindings ?? {}).some((b) => b?.length) || hc.PublishAllPorts === true;
  if (hc.NetworkMode === 'host' && published) warnings.push('Published ports are discarded when using host network mode');
  const parent = text(hc.CgroupParent);
  if (parent !== '')
    warnings.push(`tsnet places every container under the daemon's --cgroup-parent: --cgroup-parent ${parent} is not applied`);
  return warnings;
}
