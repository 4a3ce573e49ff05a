/** tsnet update [OPTIONS] CONTAINER...: POST /containers/{id}/update with the given limits and restart policy. */
import { seg } from '../api-client.js';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { eachTarget } from '../targets.js';

export interface UpdateOptions {
  blkioWeight?: number;
  cpuPeriod?: number;
  cpuQuota?: number;
  cpuShares?: number;
  cpus?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  memory?: number;
  memoryReservation?: number;
  memorySwap?: number;
  pidsLimit?: number;
  restart?: string;
}

/** `--restart no|always|unless-stopped|on-failure[:N]` → Docker's RestartPolicy. */
export function restartPolicy(text: string): { Name: string; MaximumRetryCount: number } {
  const m = /^(no|always|unless-stopped|on-failure)(?::(\d+))?$/.exec(text);
  if (!m || (m[2] !== undefined && m[1] !== 'on-failure'))
    throw new UsageError(`invalid restart policy "${text}": use no, always, unless-stopped or on-failure[:max-retries]`);
  return { Name: m[1]!, MaximumRetryCount: m[2] === undefined ? 0 : Number(m[2]) };
}

export default async function update(ctx: Context, [containers]: [string[]], o: UpdateOptions): Promise<number> {
  const body: Record<string, unknown> = {
    BlkioWeight: o.blkioWeight,
    CpuPeriod: o.cpuPeriod,
    CpuQuota: o.cpuQuota,
    CpuShares: o.cpuShares,
    NanoCpus: o.cpus,
    CpusetCpus: o.cpusetCpus,
    CpusetMems: o.cpusetMems,
    Memory: o.memory,
    MemoryReservation: o.memoryReservation,
    MemorySwap: o.memorySwap,
    PidsLimit: o.pidsLimit,
    ...(o.restart !== undefined ? { RestartPolicy: restartPolicy(o.restart) } : {}),
  };
  for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
  if (Object.keys(body).length === 0)
    throw new UsageError('you must provide one or more flags when using this command (see tsnet update --help)');
  return eachTarget(ctx, containers, async (c) => {
    const r = await ctx.client.json<{ Warnings?: string[] | null }>('POST', `/containers/${seg(c)}/update`, { body });
    for (const w of r?.Warnings ?? []) ctx.error(`WARNING: ${w}`);
  });
}
