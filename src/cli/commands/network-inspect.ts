/** tsnet network inspect NETWORK...: GET /networks/{id} → JSON array. */
import type { Context } from '../context.js';
import { inspectObjects } from './inspect.js';

export default async function networkInspect(ctx: Context, [networks]: [string[]], opts: { format?: string }): Promise<number> {
  return inspectObjects(ctx, networks, ['network'], opts.format, (n) => `no such network: ${n}`);
}
