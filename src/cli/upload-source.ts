/**
 * The body of an upload (image import, load): a regular file with its length, or stdin
 * (`-` or no file), which the connection then sends chunked. A file that cannot be opened is
 * one line.
 */
import { createReadStream, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Context } from './context.js';
import { CliError } from './errors.js';

export function uploadSource(ctx: Context, file: string | undefined): { source: Readable; contentLength?: number } {
  if (file === undefined || file === '-') return { source: ctx.stdin };
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new CliError(`${file}: not a regular file`);
    return { source: createReadStream(file), contentLength: st.size };
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`cannot open ${file}: ${code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
  }
}
