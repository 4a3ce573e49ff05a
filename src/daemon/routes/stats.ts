/**
 * GET /containers/{id}/stats: Docker's stats JSON. stream=true (default) sends a sample a second
 * until the client goes or the container stops; stream=false waits for a second sample so
 * precpu_stats is filled (CPU % computable); one-shot=true answers the first sample at once.
 */
import { TsnetError } from '../../errors/index.js';
import type { ContainerManager } from '../../runtime/container/container-manager.js';
import type { StatsCollector } from '../../runtime/stats/collector.js';
import { statsJson } from '../../runtime/stats/docker-json.js';
import type { Route } from '../http/router.js';
import { API_VERSION } from '../http/version.js';
import { RefParams, StatsQuery } from '../schemas/index.js';
import { bool } from './params.js';

export interface StatsRouteDeps {
  containers: ContainerManager;
  stats: StatsCollector;
  /** Time between samples (ms); 1000 as Docker. */
  intervalMs?: number;
}

export function statsRoutes(d: StatsRouteDeps): Route[] {
  const interval = d.intervalMs ?? 1000;
  return [
    {
      method: 'GET',
      pattern: '/containers/{id}/stats',
      schema: { params: RefParams, query: StatsQuery },
      handler: async ({ params, query, req, res }) => {
        const rec = d.containers.get(params.id!);
        const stream = bool(query, 'stream', true);
        const oneShot = bool(query, 'one-shot');
        if (stream && oneShot)
          throw new TsnetError('TSNET_INVALID_ARGUMENT', 'one-shot=true needs stream=false (a single sample is not a stream)');
        const running = () => d.containers.find(rec.id)?.state.Status === 'running';
        if (!running()) return { status: 200, json: statsJson(rec, undefined, undefined) };
        if (!stream) {
          const first = await d.stats.sample(rec);
          if (oneShot) return { status: 200, json: statsJson(rec, first, undefined) };
          await sleep(interval);
          return { status: 200, json: statsJson(rec, await d.stats.sample(rec), first) };
        }
        if (!res) throw new TsnetError('TSNET_INTERNAL', 'stats needs a response stream');
        res.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': API_VERSION, Ostype: 'linux', Server: 'tsnetd' });
        res.flushHeaders();
        req.socket.setTimeout(0);
        let closed = false;
        res.once('close', () => {
          closed = true;
        });
        let prev: Awaited<ReturnType<StatsCollector['sample']>> | undefined;
        while (!closed && running()) {
          const cur = await d.stats.sample(rec);
          // a client that does not read gets no backlog: skip the sample while the socket is full
          if (!res.writableNeedDrain) res.write(`${JSON.stringify(statsJson(rec, cur, prev))}\n`);
          prev = cur;
          await sleep(interval);
        }
        res.end();
        return { handled: true };
      },
    },
  ];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
