/** The text of a container's /etc/hosts, /etc/hostname and /etc/resolv.conf. Pure functions. */
import { tryParseIp } from '../lib/cidr.js';

import type { HostEntry } from '../network/etc-entries.js';

export { resolvConf, type HostEntry } from '../network/etc-entries.js';

export function hostsFile(entries: HostEntry[]): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet', // written as Docker writes them
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
  ];
  for (const e of entries) lines.push(`${e.ip}\t${[...new Set(e.names)].join(' ')}`);
  return `${lines.join('\n')}\n`;
}

const HOST_NAME = /^[a-zA-Z0-9_]([a-zA-Z0-9_.-]{0,252})$/;

/**
 * One `--add-host` entry as Docker takes it: `name:ip`, `name=ip` (IPv6 addresses keep their
 * colons: `name:::1`, `name=[::1]`), or `name:host-gateway`. Throws a one-line message.
 */
export function parseExtraHost(entry: string): { name: string; ip: string } {
  const sep = /^[^:=]*([:=])/.exec(entry);
  const name = sep ? entry.slice(0, sep[0].length - 1) : '';
  const ip = sep ? entry.slice(sep[0].length).replace(/^\[(.*)\]$/, '$1') : '';
  if (!HOST_NAME.test(name))
    throw new Error(`invalid extra host "${entry}": want NAME:IP (or NAME:host-gateway) with a plain host name`);
  if (ip !== 'host-gateway' && !tryParseIp(ip))
    throw new Error(`invalid extra host "${entry}": "${ip}" is not an IP address (nor host-gateway)`);
  return { name, ip };
}

/** `--add-host` entries as /etc/hosts entries; host-gateway becomes `gateway` (the container's gateway network's). */
export function extraHostEntries(entries: string[], gateway: string | undefined): HostEntry[] {
  return entries.map((e) => {
    const h = parseExtraHost(e);
    if (h.ip !== 'host-gateway') return { ip: h.ip, names: [h.name] };
    if (!gateway)
      throw new Error(
        `--add-host ${h.name}:host-gateway needs a network with a gateway, and this container has none (use an IP instead)`,
      );
    return { ip: gateway, names: [h.name] };
  });
}
