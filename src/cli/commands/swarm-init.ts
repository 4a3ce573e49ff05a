/** tsnet swarm init: POST /swarm/init → the node id; prints what Docker prints, minus the join hint. */
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';

interface SwarmInitOptions {
  advertiseAddr?: string;
  listenAddr: string;
  dataPathAddr?: string;
  dataPathPort?: string;
  defaultAddrPool?: string[];
  defaultAddrPoolMaskLength?: string;
}

function int(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[0-9]{1,5}$/.test(v)) throw new UsageError(`invalid ${flag} ${JSON.stringify(v)}: a whole number`);
  return Number(v);
}

export default async function swarmInit(ctx: Context, _args: [], o: SwarmInitOptions): Promise<number> {
  const body = {
    ListenAddr: o.listenAddr,
    AdvertiseAddr: o.advertiseAddr ?? '',
    DataPathAddr: o.dataPathAddr ?? '',
    DataPathPort: int('--data-path-port', o.dataPathPort) ?? 0,
    DefaultAddrPool: o.defaultAddrPool ?? [],
    SubnetSize: int('--default-addr-pool-mask-length', o.defaultAddrPoolMaskLength) ?? 0,
  };
  let nodeId: string;
  try {
    nodeId = await ctx.client.json<string>('POST', '/swarm/init', { body });
  } catch (err) {
    // as the docker CLI: the daemon could not pick an address by itself
    const e = err as Error;
    if (/could not (find the system's IP address|choose an IP address to advertise)/.test(e.message))
      e.message += ' - specify one with --advertise-addr';
    throw e;
  }
  ctx.print(`Swarm initialized: current node (${nodeId}) is now a manager.`);
  ctx.print('');
  ctx.print('tsnet runs single-node swarms: no other node can join. Overlay networks across hosts: docs/overlay.md.');
  return 0;
}
