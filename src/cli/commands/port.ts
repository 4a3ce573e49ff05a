/** tsnet port CONTAINER [PORT[/PROTO]]: the published ports from GET /containers/{id}/json. */
import { seg } from '../api-client.js';
import type { Context } from '../context.js';
import { CliError } from '../errors.js';
import { joinHostPort } from '../format/ports.js';

type PortMap = Record<string, Array<{ HostIp?: string; HostPort?: string }> | null>;

export default async function port(ctx: Context, [container, wanted]: [string, string | undefined]): Promise<number> {
  const info = await ctx.client.json<{ NetworkSettings?: { Ports?: PortMap | null } }>(
    'GET',
    `/containers/${seg(container)}/json`,
  );
  const ports = info?.NetworkSettings?.Ports ?? {};
  if (wanted !== undefined) {
    const key = wanted.includes('/') ? wanted.toLowerCase() : `${wanted}/tcp`;
    const bindings = ports[key];
    if (!bindings || bindings.length === 0) throw new CliError(`no public port '${key}' published for ${container}`, 1);
    for (const b of bindings) ctx.print(joinHostPort(b.HostIp ?? '', b.HostPort ?? ''));
    return 0;
  }
  const lines: string[] = [];
  for (const [key, bindings] of Object.entries(ports)) {
    for (const b of bindings ?? []) lines.push(`${key} -> ${joinHostPort(b.HostIp ?? '', b.HostPort ?? '')}`);
  }
  lines.sort();
  for (const l of lines) ctx.print(l);
  return 0;
}
