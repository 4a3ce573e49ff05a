/** tsnet create: POST /containers/create?name=NAME → print the id. */
import { buildCreateBody, flagsFromOptions, type CreateBody } from '../container-config.js';
import type { Context } from '../context.js';

export interface ContainerOptions extends Record<string, unknown> {
  interactive?: boolean;
  tty?: boolean;
  rm?: boolean;
  name?: string;
}

/** Create the container, print the daemon's warnings, return the id. */
export async function createContainer(ctx: Context, name: string | undefined, body: CreateBody): Promise<string> {
  const created = await ctx.client.json<{ Id: string; Warnings?: string[] | null }>('POST', '/containers/create', {
    query: { name },
    body,
  });
  for (const w of created?.Warnings ?? []) ctx.stderr.write(`WARNING: ${w}\n`);
  return created.Id;
}

export default async function create(
  ctx: Context,
  [image, command]: [string, string[]],
  opts: ContainerOptions,
): Promise<number> {
  const body = buildCreateBody(image, command, flagsFromOptions(opts), 'create', ctx.env, ctx.cwd);
  ctx.print(await createContainer(ctx, opts.name, body));
  return 0;
}
