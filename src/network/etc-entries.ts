/** What the network layer puts into a container's /etc/hosts and /etc/resolv.conf. Pure. */

/** One /etc/hosts line: an address and its names. */
export interface HostEntry {
  ip: string;
  names: string[];
}

/**
 * resolv.conf for a container: from the host's, without loopback nameservers (they do not work
 * from another netns), falling back to nothing. `embedded` switches to the embedded DNS server.
 */
export function resolvConf(
  hostText: string,
  opts: { embedded?: boolean; dns?: string[]; search?: string[]; options?: string[] } = {},
): string {
  const kept = hostText
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const servers = opts.dns?.length
    ? opts.dns
    : kept
        .filter((l) => l.startsWith('nameserver'))
        .map((l) => l.split(/\s+/)[1] ?? '')
        .filter((ip) => ip && !isLoopback(ip));
  const given = opts.options?.length ? opts.options : undefined;
  const other = kept.filter(
    (l) => !l.startsWith('nameserver') && !(opts.search?.length && l.startsWith('search')) && !(given && l.startsWith('options')),
  );
  const out: string[] = [];
  if (opts.search?.length) out.push(`search ${opts.search.join(' ')}`);
  out.push(...other);
  if (opts.embedded) {
    out.push('nameserver 127.0.0.11');
    if (given) out.push(`options ${(given.some((o) => o.startsWith('ndots:')) ? given : ['ndots:0', ...given]).join(' ')}`);
    else if (!other.some((l) => l.startsWith('options'))) out.push('options ndots:0');
    if (servers.length) out.push(`# ExtServers: [${servers.join(' ')}]`);
  } else {
    for (const s of servers) out.push(`nameserver ${s}`);
    if (given) out.push(`options ${given.join(' ')}`);
  }
  return `${out.join('\n')}\n`;
}

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}
