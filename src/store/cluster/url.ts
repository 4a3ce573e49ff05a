/**
 * `--cluster-store etcd://host:2379[,host2:2379]` and `--advertise-addr <ip>`: parsing and
 * validation, pure. Errors are TsnetErrors with one line naming what was given and what is
 * expected.
 */
import { TsnetError } from '../../errors/index.js';
import { formatIp, tryParseIp } from '../../lib/cidr.js';

export interface ClusterStoreUrl {
  /** gRPC targets for the etcd3 client: `host:port` (IPv6 as `[addr]:port`). */
  hosts: string[];
  /** Canonical form for messages: `etcd://10.0.0.5:2379,10.0.0.6:2379`. */
  display: string;
}

const EXAMPLE = 'etcd://10.0.0.5:2379 or etcd://10.0.0.5:2379,10.0.0.6:2379';
const HOSTNAME_RE = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function bad(url: string, why: string): TsnetError {
  return new TsnetError('TSNET_INVALID_ARGUMENT', `invalid --cluster-store "${url}": ${why} (expected ${EXAMPLE})`);
}

/** Parse `etcd://host:port[,host:port…]`. The port defaults to 2379. */
export function parseClusterStoreUrl(url: string): ClusterStoreUrl {
  if (typeof url !== 'string' || url.trim() === '') throw bad(String(url), 'it is empty');
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(url.trim());
  if (!m) throw bad(url, 'missing the etcd:// scheme');
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'etcd') {
    throw bad(url, `the ${scheme}:// store is not supported; tsnet speaks to etcd only`);
  }
  const rest = m[2]!.replace(/\/+$/, '');
  if (rest === '') throw bad(url, 'no host given');
  if (rest.includes('/')) throw bad(url, 'a path after the host is not supported');
  const hosts: string[] = [];
  for (const part of rest.split(',')) {
    const p = part.trim();
    if (p === '') throw bad(url, 'an empty host in the list');
    let host: string;
    let port = '2379';
    if (p.startsWith('[')) {
      const end = p.indexOf(']');
      if (end < 0) throw bad(url, `"${p}": unclosed [ in an IPv6 address`);
      host = p.slice(1, end);
      const after = p.slice(end + 1);
      if (after !== '') {
        if (!after.startsWith(':')) throw bad(url, `"${p}": expected :port after ]`);
        port = after.slice(1);
      }
      const ip = tryParseIp(host);
      if (ip?.family !== 6) throw bad(url, `"${host}" is not an IPv6 address`);
      host = `[${formatIp(ip.value, 6)}]`;
    } else {
      const colons = p.split(':').length - 1;
      if (colons > 1) throw bad(url, `"${p}": write IPv6 addresses in brackets, like [fd00::5]:2379`);
      [host, port = '2379'] = p.split(':') as [string, string?];
      const ip = tryParseIp(host);
      if (ip) host = formatIp(ip.value, ip.family);
      else if (!HOSTNAME_RE.test(host)) throw bad(url, `"${host}" is neither an IP address nor a host name`);
    }
    if (!/^[0-9]{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      throw bad(url, `port "${port}" must be a number from 1 to 65535`);
    }
    hosts.push(`${host}:${Number(port)}`);
  }
  const unique = [...new Set(hosts)];
  return { hosts: unique, display: `etcd://${unique.join(',')}` };
}

/**
 * Validate `--advertise-addr`: a unicast IP (the VTEP address other hosts send VXLAN to).
 * Returns it in canonical form.
 */
export function parseAdvertiseAddr(addr: string): string {
  const ip = typeof addr === 'string' ? tryParseIp(addr.trim()) : undefined;
  if (!ip) {
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `invalid --advertise-addr "${String(addr)}": give this host's underlay IP address, like 10.0.0.11`,
    );
  }
  const text = formatIp(ip.value, ip.family);
  const unusable =
    ip.family === 4
      ? ip.value === 0n || ip.value >> 24n === 127n || ip.value >> 28n === 0xen || ip.value === 0xffffffffn
      : ip.value === 0n || ip.value === 1n || ip.value >> 120n === 0xffn;
  if (unusable) {
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `invalid --advertise-addr ${text}: other hosts must reach it, so it cannot be unspecified, loopback or multicast`,
    );
  }
  return text;
}
