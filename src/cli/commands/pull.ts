/**
 * tsnet pull NAME[:TAG|@DIGEST]: POST /images/create?fromImage=NAME&tag=TAG|DIGEST with the
 * stored credentials of the image's registry in X-Registry-Auth → the JSON progress stream,
 * shown as progress lines → the full reference, as `docker pull` prints it.
 */
import type { Readable } from 'node:stream';
import type { Context } from '../context.js';
import { loadCredentials, registryAuthHeader, registryOf } from '../credentials.js';
import { CliError, UsageError } from '../errors.js';
import type { JsonMessage } from '../json-messages.js';
import { PullDisplay } from '../pull-display.js';

/** `NAME[:TAG][@DIGEST]` → the query docker sends (fromImage without tag; tag = tag or digest). */
export function pullQuery(reference: string): { fromImage: string; tag: string } {
  if (reference === '' || /\s/.test(reference)) throw new UsageError(`invalid reference format: ${JSON.stringify(reference)}`);
  const at = reference.indexOf('@');
  if (at !== -1) return { fromImage: reference.slice(0, at).replace(/:[^/:]+$/, ''), tag: reference.slice(at + 1) };
  const colon = reference.lastIndexOf(':');
  if (colon > reference.lastIndexOf('/')) return { fromImage: reference.slice(0, colon), tag: reference.slice(colon + 1) };
  return { fromImage: reference, tag: 'latest' };
}

/** Docker's fully qualified form: `busybox` → `docker.io/library/busybox:latest`. */
export function fullReference(fromImage: string, tag: string): string {
  let name = fromImage;
  if (registryOf(name) === 'docker.io') {
    name = name.replace(/^(docker\.io|index\.docker\.io)\//, '');
    if (!name.includes('/')) name = `library/${name}`;
    name = `docker.io/${name}`;
  }
  return tag.startsWith('sha256:') ? `${name}@${tag}` : `${name}:${tag}`;
}

/** Read a JSON message stream line by line; the last error message, if any, is thrown. */
export async function followMessages(res: Readable, each: (m: JsonMessage) => void): Promise<void> {
  let pending = '';
  let failure: string | undefined;
  const handle = (line: string): void => {
    const text = line.trim();
    if (text === '') return;
    let m: JsonMessage;
    try {
      m = JSON.parse(text) as JsonMessage;
    } catch {
      throw new CliError(`the daemon sent an invalid progress message: ${text.slice(0, 200)}`);
    }
    const error = m.errorDetail?.message ?? m.error;
    if (error) failure = error;
    else each(m);
  };
  for await (const chunk of res as AsyncIterable<Buffer>) {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const l of lines) handle(l);
  }
  handle(pending);
  // A connection closed early fails the iteration above (the client's premature-close error).
  if (failure !== undefined) throw new CliError(failure);
}

/** Pull `reference`, showing progress on `out` (nothing when undefined); returns the full reference. */
export async function pullImage(
  ctx: Context,
  reference: string,
  out: NodeJS.WriteStream | undefined,
  platform?: string,
): Promise<string> {
  const { fromImage, tag } = pullQuery(reference);
  const creds = loadCredentials(ctx.env, registryOf(fromImage));
  const res = await ctx.client.send('POST', '/images/create', {
    query: { fromImage, tag, platform },
    headers: { 'X-Registry-Auth': registryAuthHeader(creds) },
  });
  const display = out ? new PullDisplay(out, out.isTTY === true) : undefined;
  await followMessages(res, (m) => display?.show(m));
  return fullReference(fromImage, tag);
}

export default async function pull(
  ctx: Context,
  [reference]: [string],
  opts: { quiet?: boolean; platform?: string },
): Promise<number> {
  ctx.print(await pullImage(ctx, reference, opts.quiet ? undefined : ctx.stdout, opts.platform));
  return 0;
}
