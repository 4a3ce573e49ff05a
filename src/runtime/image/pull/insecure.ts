/**
 * Which registries may be reached over plain http (and https without certificate checks),
 * as dockerd decides it: those named by `--insecure-registry HOST[:PORT]` or inside a
 * `--insecure-registry CIDR`, and every registry on a loopback address (127.0.0.0/8, ::1,
 * `localhost`). Everything else is https with verified certificates only.
 */
import { lookup } from 'node:dns/promises';
import { TsnetError } from '../../../errors/index.js';
import { type Cidr, contains, parseCidr, tryParseCidr, tryParseIp } from '../../../lib/cidr.js';

function splitHostPort(hostPort: string): { host: string; port?: string } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostPort);
  if (v6) return v6[2] !== undefined ? { host: v6[1]!, port: v6[2] } : { host: v6[1]! };
  const colon = hostPort.lastIndexOf(':');
  if (colon > 0 && /^\d+$/.test(hostPort.slice(colon + 1)))
    return { host: hostPort.slice(0, colon), port: hostPort.slice(colon + 1) };
  return { host: hostPort };
}

export class InsecureRegistries {
  private readonly names = new Set<string>();
  private readonly cidrs: Cidr[] = [];
  private readonly loopback: Cidr[] = [parseCidr('127.0.0.0/8'), parseCidr('::1/128')];

  /** `entries`: `host`, `host:port`, or a CIDR; anything else is refused with one line. */
  constructor(entries: readonly string[] = []) {
    for (const raw of entries) {
      const e = raw
        .trim()
        .replace(/^https?:\/\//, '')
        .replace(/\/+$/, '');
      if (/^(.+)\/(\d{1,3})$/.test(e)) {
        const cidr = tryParseCidr(e);
        if (!cidr) {
          throw new TsnetError(
            'TSNET_INVALID_ARGUMENT',
            `--insecure-registry ${raw}: not a HOST[:PORT] or an IP network in CIDR form`,
          );
        }
        this.cidrs.push(cidr);
        continue;
      }
      if (e === '' || /[\s/]/.test(e)) {
        throw new TsnetError(
          'TSNET_INVALID_ARGUMENT',
          `--insecure-registry ${raw}: not a HOST[:PORT] or an IP network in CIDR form`,
        );
      }
      this.names.add(e.toLowerCase());
    }
  }

  private matchesIp(text: string): boolean {
    const ip = tryParseIp(text);
    return ip !== undefined && [...this.loopback, ...this.cidrs].some((c) => contains(c, ip));
  }

  /** Whether `hostPort` (as in an image reference) is insecure. */
  async isInsecure(hostPort: string): Promise<boolean> {
    const lower = hostPort.toLowerCase();
    const { host } = splitHostPort(lower);
    if (this.names.has(lower)) return true;
    if (host === 'localhost') return true;
    if (tryParseIp(host)) return this.matchesIp(host);
    try {
      const addrs = await lookup(host, { all: true });
      return addrs.some((a) => this.matchesIp(a.address));
    } catch {
      return false;
    }
  }
}
