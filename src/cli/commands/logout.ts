/** tsnet logout [SERVER]: forget the stored credentials of a registry. */
import type { Context } from '../context.js';
import { removeCredentials, serverKey } from '../credentials.js';

export default async function logout(ctx: Context, [server]: [string | undefined]): Promise<number> {
  const key = serverKey(server ?? 'docker.io');
  if (removeCredentials(ctx.env, key)) ctx.print(`Removing login credentials for ${key}`);
  else ctx.print(`Not logged in to ${key}`);
  return 0;
}
