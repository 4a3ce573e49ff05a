/** Seccomp for containers: Docker's profile format → a BPF filter for tsnet-init. Pure. */
import os from 'node:os';
import { TsnetError } from '../../errors/index.js';
import { compileSeccomp } from './bpf.js';
import { DEFAULT_PROFILE } from './default-profile.js';
import { resolveProfile, type SeccompProfile } from './profile.js';

export { DEFAULT_PROFILE } from './default-profile.js';
export { checkProfile, parseProfile, type SeccompProfile } from './profile.js';

export function kernelVersion(release = os.release()): [number, number] {
  const [a = 0, b = 0] = release.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  return [a, b];
}

/** The filter for a container with capability set `caps` (names with CAP_). */
export function seccompFilter(
  profile: SeccompProfile | undefined,
  caps: Iterable<string>,
  kernel = kernelVersion(),
  arch: string = process.arch,
): Buffer {
  // The syscall tables cover the x86 family only; a filter built for it would kill every
  // process on another architecture, so refuse clearly instead.
  if (arch !== 'x64')
    throw new TsnetError(
      'TSNET_BAD_SECURITY_OPT',
      `seccomp filters are only built for x86_64 hosts (this one is ${arch}): start the container with --security-opt seccomp=unconfined`,
    );
  return compileSeccomp(resolveProfile(profile ?? DEFAULT_PROFILE, { caps: new Set(caps), kernel }));
}
