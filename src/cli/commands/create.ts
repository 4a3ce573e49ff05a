/** tsnet create: POST /containers/create?name=NAME → print the id. */
import { buildCreateBody, flagsFromOptions, type CreateBody } from '../container-config.js';
import type { Context } from '../context.js';
import { ApiError } from '../errors.js';
import { pullImage } from './pull.js';

export interface ContainerOptions extends Record<string, unknown> {
  interactive?: boolean;
  tty?: boolean;
  rm?: boolean;
  name?: string;
  pull?: string;
}

/**
 * Create the container, print the daemon's warnings, return the id. As the docker CLI
 * does, a missing image is pulled first (`--pull missing`, progress on stderr), or always
 * (`--pull always`), or never.
 */
export async function createContainer(
  ctx: Context,
  name: string | undefined,
  body: CreateBody,
  pull: string = 'missing',
): Promise<string> {
  const image = String(body.Image ?? '');
  const named = image !== '' && !image.startsWith('sha256:');
  if (pull === 'always' && named) await pullImage(ctx, image, ctx.stderr);
  const send = () =>
    ctx.client.json<{ Id: string; Warnings?: string[] | null }>('POST', '/containers/create', { query: { name }, body });
  let created: Awaited<ReturnType<typeof send>>;
  try {
    created = await send();
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 'TSNET_IMAGE_NOT_FOUND' && pull === 'missing' && named)) throw err;
    ctx.stderr.write(`Unable to find image '${image}' locally\n`);
    await pullImage(ctx, image, ctx.stderr);
    created = await send();
  }
  for (const w of created?.Warnings ?? []) ctx.stderr.write(`WARNING: ${w}\n`);
  return created.Id;
}

export default async function create(
  ctx: Context,
  [image, command]: [string, string[]],
  opts: ContainerOptions,
): Promise<number> {
  const body = buildCreateBody(image, command, flagsFromOptions(opts), 'create', ctx.env, ctx.cwd);
  ctx.print(await createContainer(ctx, opts.name, body, opts.pull));
  return 0;
}
