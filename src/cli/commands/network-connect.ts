/**
 * tsnet network connect [--ip] [--ip6] [--alias]... [--link]... [--link-local-ip]...
 * [--driver-opt K=V]... NETWORK CONTAINER: POST /networks/{id}/connect.
 */
import { seg } from '../api-client.js';
import type { Context } from '../context.js';
import { invalidArgument } from '../errors.js';
import { checkIP, checkIPv4, checkIPv6, checkLink } from '../parse/network.js';

export default async function networkConnect(
  ctx: Context,
  [network, container]: [string, string],
  opts: { ip?: string; ip6?: string; alias?: string[]; link?: string[]; linkLocalIp?: string[]; driverOpt?: string[] },
): Promise<number> {
  const check = (value: string | undefined, flag: string, f: (v: string) => void): void => {
    if (value === undefined) return;
    try {
      f(value);
    } catch (err) {
      throw invalidArgument(value, flag, (err as Error).message);
    }
  };
  check(opts.ip, '--ip', checkIPv4);
  check(opts.ip6, '--ip6', checkIPv6);
  for (const l of opts.link ?? []) check(l, '--link', checkLink);
  for (const ip of opts.linkLocalIp ?? []) check(ip, '--link-local-ip', checkIP);
  const driverOpts: Record<string, string> = {};
  for (const o of opts.driverOpt ?? []) {
    const eq = o.indexOf('=');
    if (eq <= 0) throw invalidArgument(o, '--driver-opt', 'expected KEY=VALUE');
    driverOpts[o.slice(0, eq)] = o.slice(eq + 1);
  }
  await ctx.client.call('POST', `/networks/${seg(network)}/connect`, {
    body: {
      Container: container,
      EndpointConfig: {
        Aliases: opts.alias ?? [],
        IPAMConfig: {
          IPv4Address: opts.ip ?? '',
          IPv6Address: opts.ip6 ?? '',
          ...(opts.linkLocalIp?.length ? { LinkLocalIPs: opts.linkLocalIp } : {}),
        },
        ...(opts.link?.length ? { Links: opts.link } : {}),
        ...(Object.keys(driverOpts).length ? { DriverOpts: driverOpts } : {}),
      },
    },
  });
  return 0;
}
