/**
 * Which registries may be reached over plain http (and https without certificate checks),
 * as dockerd decides it: those named by `--insecure-registry HOST[:PORT]` or inside a
 * `--insecure-registry CIDR`, and every registry on a loopback address (127.0.0.0/8, ::1,
 * `localhost`). Everything else is https with verified certificates only.
 */
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { TsnetError } from '../../../errors/index.js';

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
  private readonly cidrs = new net.BlockList();
  private readonly loopback = new net.BlockList();

  /** `entries`: `host`, `host:port`, or a CIDR; anything else is refused with one line. */
  constructor(entries: readonly string[] = []) {
    this.loopback.addSubnet('127.0.0.0', 8, 'ipv4');
    this.loopback.addAddress('::1', 'ipv6');
    for (const raw of entries) {
      const e = raw
        .trim()
        .replace(/^https?:\/\//, '')
        .replace(/\/+$/, '');
      const cidr = /^(.+)\/(\d{1,3})$/.exec(e);
      if (cidr) {
        const family = net.isIP(cidr[1]!);
        const prefix = Number(cidr[2]);
        if (family === 0 || prefix > (family === 4 ? 32 : 128)) {
          throw new TsnetError(
            'TSNET_INVALID_ARGUMENT',
            `--insecure-registry ${raw}: not a HOST[:PORT] or an IP network in CIDR form`,
          );
        }
        this.cidrs.addSubnet(cidr[1]!, prefix, family === 4 ? 'ipv4' : 'ipv6');
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

  private matchesIp(ip: string): boolean {
    const type = net.isIP(ip) === 6 ? 'ipv6' : 'ipv4';
    return this.loopback.check(ip, type) || this.cidrs.check(ip, type);
  }

  /** Whether `hostPort` (as in an image reference) is insecure. */
  async isInsecure(hostPort: string): Promise<boolean> {
    const lower = hostPort.toLowerCase();
    const { host } = splitHostPort(lower);
    if (this.names.has(lower)) return true;
    if (host === 'localhost') return true;
    if (net.isIP(host) !== 0) return this.matchesIp(host);
    try {
      const addrs = await lookup(host, { all: true });
      return addrs.some((a) => this.matchesIp(a.address));
    } catch {
      return false;
    }
  }
}
