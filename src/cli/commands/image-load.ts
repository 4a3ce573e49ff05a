/**
 * tsnet load / image load [-i FILE] [-q]: POST /images/load with a `docker save` or OCI-layout
 * tarball streamed as the body (from FILE, or stdin) → dockerd's JSON stream → "Loaded image:
 * NAME" per image, as docker prints it; a refused archive is the stream's errorDetail, one line.
 * As docker, it refuses to read the archive from a terminal.
 */
import { readBody } from '../api-client.js';
import type { Context } from '../context.js';
import { CliError } from '../errors.js';
import { answerMessages } from '../json-messages.js';
import { uploadSource } from '../upload-source.js';

export default async function imageLoad(ctx: Context, _args: [], opts: { input?: string; quiet?: boolean }): Promise<number> {
  if ((opts.input === undefined || opts.input === '-') && ctx.stdin.isTTY)
    throw new CliError('requested load from stdin, but stdin is a terminal: use -i FILE or redirect a tarball');
  const { source, contentLength } = uploadSource(ctx, opts.input);
  const res = await ctx.client.upload('POST', '/images/load', source, {
    query: { quiet: opts.quiet ? '1' : undefined },
    contentType: 'application/x-tar',
    contentLength,
  });
  const messages = answerMessages((await readBody(res)).toString('utf8'), 'load');
  for (const m of messages) {
    const line = typeof m.stream === 'string' ? m.stream.replace(/\n$/, '') : '';
    if (line) ctx.print(line);
  }
  return 0;
}
