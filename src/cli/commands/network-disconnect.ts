/** tsnet network disconnect [-f] NETWORK CONTAINER: POST /networks/{id}/disconnect {Container, Force}. */
import { seg } from '../api-client.js';
import type { Context } from '../context.js';

export default async function networkDisconnect(
  ctx: Context,
  [network, container]: [string, string],
  opts: { force?: boolean },
): Promise<number> {
  await ctx.client.call('POST', `/networks/${seg(network)}/disconnect`, {
    body: { Container: container, Force: opts.force === true },
  });
  return 0;
}
