/** tsnet network create: POST /networks/create {Name, Driver, …, IPAM: {Driver, Options, Config}} → print the id. */
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { buildIpamConfig } from '../parse/ipam.js';
import { parseKeyValues, splitRequired } from '../parse/kv.js';

interface NetworkCreateOptions {
  driver: string;
  subnet?: string[];
  gateway?: string[];
  ipRange?: string[];
  auxAddress?: string[];
  ipv6?: boolean;
  internal?: boolean;
  attachable?: boolean;
  scope?: string;
  ingress?: boolean;
  opt?: string[];
  ipamDriver: string;
  ipamOpt?: string[];
  label?: string[];
}

function usage<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw new UsageError(`${what}: ${(err as Error).message}`);
  }
}

export function networkCreateBody(name: string, o: NetworkCreateOptions): Record<string, unknown> {
  const aux = usage('--aux-address', () => (o.auxAddress ?? []).map((a) => splitRequired(a, 'aux-address')));
  const Config = usage('invalid IPAM configuration', () =>
    buildIpamConfig(o.subnet ?? [], o.ipRange ?? [], o.gateway ?? [], aux),
  );
  return {
    Name: name,
    Driver: o.driver,
    Internal: o.internal === true,
    Attachable: o.attachable === true,
    ...(o.scope ? { Scope: o.scope } : {}),
    ...(o.ingress ? { Ingress: true } : {}),
    EnableIPv6: o.ipv6 === true,
    Options: usage('-o, --opt', () => parseKeyValues(o.opt ?? [])),
    Labels: usage('--label', () => parseKeyValues(o.label ?? [])),
    IPAM: {
      Driver: o.ipamDriver,
      Options: usage('--ipam-opt', () => parseKeyValues(o.ipamOpt ?? [])),
      Config,
    },
  };
}

export default async function networkCreate(ctx: Context, [name]: [string], opts: NetworkCreateOptions): Promise<number> {
  const created = await ctx.client.json<{ Id: string; Warning?: string }>('POST', '/networks/create', {
    body: networkCreateBody(name, opts),
  });
  if (created?.Warning) ctx.stderr.write(`WARNING: ${created.Warning}\n`);
  ctx.print(created.Id);
  return 0;
}
