/**
 * tsnet export [-o FILE] CONTAINER: GET /containers/{id}/export, the container's files as a tar
 * stream, written to FILE or to stdout (not to a terminal, as docker refuses it).
 */
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { seg } from '../api-client.js';
import type { Context } from '../context.js';
import { CliError } from '../errors.js';

export default async function exportContainer(ctx: Context, [container]: [string], opts: { output?: string }): Promise<number> {
  if (opts.output === undefined && ctx.stdout.isTTY)
    throw new CliError('cowardly refusing to save to a terminal. Use the -o flag or redirect');
  const res = await ctx.client.send('GET', `/containers/${seg(container)}/export`);
  if (opts.output === undefined) {
    await pipeline(res, ctx.stdout);
    return 0;
  }
  // written beside the target and renamed: a failed export leaves no partial file under its name
  const tmp = `${opts.output}.tsnet-export-${process.pid}`;
  try {
    await pipeline(res, fs.createWriteStream(tmp, { mode: 0o644 }));
    fs.renameSync(tmp, opts.output);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new CliError(`cannot write ${opts.output}: ${(err as Error).message}`);
  }
  return 0;
}
