/** tsnet version: the client's version, then the daemon's (GET /version). */
import type { Context } from '../context.js';
import { DaemonUnreachableError } from '../errors.js';
import { formatObjects } from '../format/list.js';
import { API_VERSION, clientVersion } from '../version.js';

interface ApiVersion {
  Version?: string;
  ApiVersion?: string;
  MinAPIVersion?: string;
  GitCommit?: string;
  GoVersion?: string;
  Os?: string;
  Arch?: string;
  KernelVersion?: string;
  BuildTime?: string;
  Components?: Array<{ Name: string; Version: string; Details?: Record<string, string> }> | null;
  [key: string]: unknown;
}

function block(title: string, rows: Array<[string, string | undefined]>): string[] {
  const shown = rows.filter(([, v]) => v !== undefined && v !== '');
  const width = Math.max(...shown.map(([k]) => k.length)) + 2;
  return [title, ...shown.map(([k, v]) => ` ${`${k}:`.padEnd(width)}${v}`)];
}

export default async function version(ctx: Context, _args: [], opts: { format?: string }): Promise<number> {
  const client = {
    Version: clientVersion(),
    ApiVersion: API_VERSION,
    NodeVersion: process.version,
    Os: process.platform,
    Arch: process.arch,
  };
  const clientLines = block('Client:', [
    ['Version', client.Version],
    ['API version', client.ApiVersion],
    ['Node.js version', client.NodeVersion],
    ['OS/Arch', `${client.Os}/${client.Arch}`],
  ]);
  let server: ApiVersion | undefined;
  let failure: unknown;
  try {
    server = await ctx.client.json<ApiVersion>('GET', '/version');
  } catch (err) {
    failure = err;
  }
  if (opts.format !== undefined) {
    const data = { Client: client, Server: server ?? null };
    ctx.stdout.write(opts.format === 'json' ? `${JSON.stringify(data)}\n` : formatObjects([data], opts.format));
  } else {
    for (const l of clientLines) ctx.print(l);
    if (server) {
      ctx.print('');
      const api = server.ApiVersion
        ? `${server.ApiVersion}${server.MinAPIVersion ? ` (minimum version ${server.MinAPIVersion})` : ''}`
        : undefined;
      const lines = block('Server:', [
        ['Version', server.Version],
        ['API version', api],
        ['Go version', server.GoVersion],
        ['Git commit', server.GitCommit],
        ['Built', server.BuildTime],
        ['OS/Arch', server.Os && server.Arch ? `${server.Os}/${server.Arch}` : undefined],
        ['Kernel version', server.KernelVersion],
      ]);
      for (const l of lines) ctx.print(l);
      for (const c of server.Components ?? []) {
        if (c.Name === 'Engine') continue;
        ctx.print(` ${c.Name}:`);
        ctx.print(`  Version: ${c.Version}`);
      }
    }
  }
  if (failure !== undefined) {
    if (failure instanceof DaemonUnreachableError || failure instanceof Error) throw failure;
    throw new Error(String(failure));
  }
  return 0;
}
