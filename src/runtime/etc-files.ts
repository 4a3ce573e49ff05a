/** The text of a container's /etc/hosts, /etc/hostname and /etc/resolv.conf. Pure functions. */

export interface HostEntry {
  ip: string;
  names: string[];
}

export function hostsFile(entries: HostEntry[]): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::\tip6-localnet',
    'ff00::\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
  ];
  for (const e of entries) lines.push(`${e.ip}\t${[...new Set(e.names)].join(' ')}`);
  return `${lines.join('\n')}\n`;
}

/**
 * resolv.conf for a container: from the host's, without loopback nameservers (they do not work
 * from another netns), falling back to nothing. `embedded` switches to the embedded DNS server.
 */
export function resolvConf(hostText: string, opts: { embedded?: boolean; dns?: string[]; search?: string[] } = {}): string {
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
  const other = kept.filter((l) => !l.startsWith('nameserver') && !(opts.search && l.startsWith('search')));
  const out: string[] = [];
  if (opts.search?.length) out.push(`search ${opts.search.join(' ')}`);
  out.push(...other);
  if (opts.embedded) {
    out.push('nameserver 127.0.0.11');
    if (!other.some((l) => l.startsWith('options'))) out.push('options ndots:0');
    if (servers.length) out.push(`# ExtServers: [${servers.join(' ')}]`);
  } else {
    for (const s of servers) out.push(`nameserver ${s}`);
  }
  return `${out.join('\n')}\n`;
}

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}
