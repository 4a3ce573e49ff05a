/**
 * tsnet image import FILE|- [REPOSITORY[:TAG]]: POST /images/create?fromSrc=-&repo=&tag=
 * with the tarball streamed as the body (application/x-tar) → JSON messages → the id.
 */
import { createReadStream, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { readBody } from '../api-client.js';
import type { Context } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { splitJsonValues, type JsonMessage } from '../json-messages.js';
import { repoTagArg } from '../parse/ref.js';

export default async function imageImport(
  ctx: Context,
  [file, reference]: [string, string | undefined],
  opts: { tag?: string; change?: string[]; message?: string },
): Promise<number> {
  if (opts.tag !== undefined && reference !== undefined) {
    throw new UsageError('give the image name once: either --tag or the REPOSITORY[:TAG] argument');
  }
  const { repo, tag } = repoTagArg(opts.tag ?? reference);
  let source: Readable;
  let contentLength: number | undefined;
  if (file === '-') {
    source = ctx.stdin;
  } else {
    try {
      const st = statSync(file);
      if (!st.isFile()) throw new CliError(`${file}: not a regular file`);
      contentLength = st.size;
    } catch (err) {
      if (err instanceof CliError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      throw new CliError(`cannot open ${file}: ${code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
    }
    source = createReadStream(file);
  }
  const res = await ctx.client.upload('POST', '/images/create', source, {
    query: { fromSrc: '-', repo, tag, changes: opts.change, message: opts.message },
    contentType: 'application/x-tar',
    contentLength,
  });
  const text = (await readBody(res)).toString('utf8');
  let messages: JsonMessage[];
  try {
    messages = splitJsonValues(text) as JsonMessage[];
  } catch {
    throw new CliError(`the daemon sent an invalid answer to the import: ${text.slice(0, 200)}`);
  }
  let id: string | undefined;
  for (const m of messages) {
    const error = m.errorDetail?.message ?? m.error;
    if (error) throw new CliError(error);
    if (typeof m.id === 'string' && m.id.startsWith('sha256:')) id = m.id;
    else if (typeof m.status === 'string' && /^sha256:[0-9a-f]{64}$/.test(m.status.trim())) id = m.status.trim();
  }
  if (id === undefined) throw new CliError('the daemon did not report the id of the imported image');
  ctx.print(id);
  return 0;
}
