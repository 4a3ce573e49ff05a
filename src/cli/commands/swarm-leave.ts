/** tsnet swarm leave [-f]: POST /swarm/leave?force=… */
import type { Context } from '../context.js';

export default async function swarmLeave(ctx: Context, _args: [], o: { force?: boolean }): Promise<number> {
  await ctx.client.call('POST', '/swarm/leave', { query: { force: o.force ? 'true' : 'false' } });
  ctx.print('Node left the swarm.');
  return 0;
}
