/** tsnet wait CONTAINER...: POST /containers/{id}/wait → print each StatusCode. */
import { parseJson, readBody, seg } from '../api-client.js';
import type { Context } from '../context.js';
import { CliError } from '../errors.js';
import type { WaitResult } from '../session.js';
import { eachTarget } from '../targets.js';

export default async function wait(ctx: Context, [containers]: [string[]]): Promise<number> {
  return eachTarget(ctx, containers, async (c) => {
    const res = await ctx.client.send('POST', `/containers/${seg(c)}/wait`);
    const result = parseJson<WaitResult>(await readBody(res), 'wait');
    if (result?.Error?.Message) throw new CliError(`${c}: ${result.Error.Message}`);
    return String(result?.StatusCode ?? '');
  });
}
