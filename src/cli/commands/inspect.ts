/**
 * tsnet inspect NAME...: GET /containers/{name}/json, else /images/{name}/json, else
 * /networks/{name} (or only --type's) → one JSON array, or a template per object.
 */
import { seg } from '../api-client.js';
import type { Context } from '../context.js';
import { DaemonUnreachableError, errorMessage, isNotFound, UsageError } from '../errors.js';
import { formatObjects } from '../format/list.js';

const PATHS: Record<string, (name: string) => string> = {
  container: (n) => `/containers/${seg(n)}/json`,
  image: (n) => `/images/${seg(n)}/json`,
  network: (n) => `/networks/${seg(n)}`,
  volume: (n) => `/volumes/${seg(n)}`,
};

/** Fetch each object from the given kinds in order; print them; errors after. Exit 1 if any failed. */
export async function inspectObjects(
  ctx: Context,
  names: string[],
  kinds: string[],
  format: string | undefined,
  notFound: (name: string) => string,
): Promise<number> {
  const found: unknown[] = [];
  const errors: string[] = [];
  for (const name of names) {
    let done = false;
    for (const kind of kinds) {
      try {
        found.push(await ctx.client.json('GET', PATHS[kind]!(name)));
        done = true;
        break;
      } catch (err) {
        if (err instanceof DaemonUnreachableError) throw err;
        if (isNotFound(err)) continue;
        errors.push(errorMessage(err));
        done = true;
        break;
      }
    }
    if (!done) errors.push(notFound(name));
  }
  ctx.stdout.write(formatObjects(found, format));
  for (const e of errors) ctx.error(e);
  return errors.length > 0 ? 1 : 0;
}

export default async function inspect(
  ctx: Context,
  [names]: [string[]],
  opts: { format?: string; type?: string },
): Promise<number> {
  if (opts.type !== undefined && !Object.hasOwn(PATHS, opts.type)) {
    throw new UsageError(`invalid argument ${JSON.stringify(opts.type)} for "--type": use container, image, network or volume`);
  }
  const kinds = opts.type !== undefined ? [opts.type] : ['container', 'image', 'network', 'volume'];
  return inspectObjects(ctx, names, kinds, opts.format, (n) => `no such object: ${n}`);
}
