/** tsnet volume inspect VOLUME...: GET /volumes/{name} → JSON array. */
import type { Context } from '../context.js';
import { inspectObjects } from './inspect.js';

export default async function volumeInspect(ctx: Context, [volumes]: [string[]], opts: { format?: string }): Promise<number> {
  return inspectObjects(ctx, volumes, ['volume'], opts.format, (n) => `no such volume: ${n}`);
}
