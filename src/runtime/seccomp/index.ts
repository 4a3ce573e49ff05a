/** Seccomp for containers: Docker's profile format → a BPF filter for tsnet-init. Pure. */
import os from 'node:os';
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
export function seccompFilter(profile: SeccompProfile | undefined, caps: Iterable<string>, kernel = kernelVersion()): Buffer {
  return compileSeccomp(resolveProfile(profile ?? DEFAULT_PROFILE, { caps: new Set(caps), kernel }));
}
