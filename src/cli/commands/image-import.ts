/**
 * tsnet image import FILE|- [REPOSITORY[:TAG]]: POST /images/create?fromSrc=-&repo=&tag=
 * with the tarball streamed as the body (application/x-tar) → JSON messages → the id.
 */
import { readBody } from '../api-client.js';
import type { Context } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { answerMessages } from '../json-messages.js';
import { repoTagArg } from '../parse/ref.js';
import { uploadSource } from '../upload-source.js';

export default async function imageImport(
  ctx: Context,
  [file, reference]: [string, string | undefined],
  opts: { tag?: string; change?: string[]; message?: string },
): Promise<number> {
  if (opts.tag !== undefined && reference !== undefined) {
    throw new UsageError('give the image name once: either --tag or the REPOSITORY[:TAG] argument');
  }
  const { repo, tag } = repoTagArg(opts.tag ?? reference);
  const { source, contentLength } = uploadSource(ctx, file);
  const res = await ctx.client.upload('POST', '/images/create', source, {
    query: { fromSrc: '-', repo, tag, changes: opts.change, message: opts.message },
    contentType: 'application/x-tar',
    contentLength,
  });
  const messages = answerMessages((await readBody(res)).toString('utf8'), 'import');
  let id: string | undefined;
  for (const m of messages) {
    if (typeof m.id === 'string' && m.id.startsWith('sha256:')) id = m.id;
    else if (typeof m.status === 'string' && /^sha256:[0-9a-f]{64}$/.test(m.status.trim())) id = m.status.trim();
  }
  if (id === undefined) throw new CliError('the daemon did not report the id of the imported image');
  ctx.print(id);
  return 0;
}
