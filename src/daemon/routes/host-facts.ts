/**
 * What /info says about the host that clients print or warn about (`docker info`): the
 * distribution's name (/etc/os-release, as dockerd) and whether bridged traffic passes
 * iptables (the br_netfilter sysctls; the docker CLI warns when they are off). Read at each
 * request: both are a few small files.
 */
import fs from 'node:fs';

function read(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** PRETTY_NAME and VERSION_ID of os-release; "Linux" and "" without one. */
export function osRelease(text = read('/etc/os-release') ?? read('/usr/lib/os-release') ?? ''): {
  name: string;
  version: string;
} {
  const field = (k: string) => {
    const m = new RegExp(`^${k}=(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
    return m.replace(/^(["'])(.*)\1$/, '$2');
  };
  return { name: field('PRETTY_NAME') || 'Linux', version: field('VERSION_ID') };
}

/** A sysctl that is 1 (false when absent: br_netfilter not loaded). */
export function sysctlOn(name: string): boolean {
  return read(`/proc/sys/${name.replace(/\./g, '/')}`)?.trim() === '1';
}
