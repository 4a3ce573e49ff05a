/** tsnet image inspect IMAGE...: GET /images/{name}/json → JSON array. */
import type { Context } from '../context.js';
import { inspectObjects } from './inspect.js';

export default async function imageInspect(ctx: Context, [images]: [string[]], opts: { format?: string }): Promise<number> {
  return inspectObjects(ctx, images, ['image'], opts.format, (n) => `no such image: ${n}`);
}
