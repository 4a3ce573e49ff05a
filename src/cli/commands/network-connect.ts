/** tsnet network connect [--ip] [--ip6] [--alias]... NETWORK CONTAINER: POST /networks/{id}/connect. */
import { seg } from '../api-client.js';
import type { Context } from '../context.js';
import { invalidArgument } from '../errors.js';
import { checkIPv4, checkIPv6 } from '../parse/network.js';

export default async function networkConnect(
  ctx: Context,
  [network, container]: [string, string],
  opts: { ip?: string; ip6?: string; alias?: string[] },
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
  await ctx.client.call('POST', `/networks/${seg(network)}/connect`, {
    body: {
      Container: container,
      EndpointConfig: {
        Aliases: opts.alias ?? [],
        IPAMConfig: { IPv4Address: opts.ip ?? '', IPv6Address: opts.ip6 ?? '' },
      },
    },
  });
  return 0;
}
