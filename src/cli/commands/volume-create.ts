/** tsnet volume create [-d local] [-o k=v]… [--label k=v]… [NAME]: POST /volumes/create; prints the name. */
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { parseKeyValues } from '../parse/kv.js';

export default async function volumeCreate(
  ctx: Context,
  [name]: [string | undefined],
  opts: { driver?: string; opt?: string[]; label?: string[] },
): Promise<number> {
  let DriverOpts: Record<string, string>;
  let Labels: Record<string, string>;
  try {
    DriverOpts = parseKeyValues(opts.opt ?? []);
    Labels = parseKeyValues(opts.label ?? []);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = await ctx.client.json<{ Name: string }>('POST', '/volumes/create', {
    body: { Name: name ?? '', Driver: opts.driver ?? 'local', DriverOpts, Labels },
  });
  ctx.print(v.Name);
  return 0;
}
