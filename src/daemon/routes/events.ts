/**
 * GET /events: Docker's event stream — one JSON message per line, recent events replayed for
 * `since`, the stream ended at `until`, `filters` as Docker's. A subscriber that reads slowly
 * gets a bounded queue and loses events past it; it never holds up the daemon.
 */
import type { EventBus } from '../../events/bus.js';
import { eventFilter } from '../../events/filter.js';
import { eventJson } from '../../events/json.js';
import { SubscriberQueue } from '../../events/subscriber-queue.js';
import { parseEventTime } from '../../events/time.js';
import { TsnetError } from '../../errors/index.js';
import type { Logger } from '../../lib/logger.js';
import type { Route } from '../http/router.js';
import { API_VERSION } from '../http/version.js';
import { EventsQuery } from '../schemas/index.js';
import { filters } from './params.js';

export interface EventRouteDeps {
  bus: EventBus;
  logger: Logger;
  /** Nanoseconds since the epoch (tests). */
  nowNs?: () => bigint;
}

export function eventRoutes(d: EventRouteDeps): Route[] {
  const nowNs = d.nowNs ?? (() => BigInt(Date.now()) * 1_000_000n);
  return [
    {
      method: 'GET',
      pattern: '/events',
      schema: { query: EventsQuery },
      handler: async ({ query, req, res }) => {
        const since = parseEventTime('since', query.get('since'));
        const until = parseEventTime('until', query.get('until'));
        if (until && until < since)
          throw new TsnetError(
            'TSNET_INVALID_ARGUMENT',
            `since (${query.get('since')}) cannot be after until (${query.get('until')})`,
          );
        const include = eventFilter(
          filters(query, [
            'config',
            'container',
            'daemon',
            'event',
            'image',
            'label',
            'network',
            'node',
            'plugin',
            'scope',
            'secret',
            'service',
            'type',
            'volume',
          ]),
        );
        if (!res) throw new TsnetError('TSNET_INTERNAL', 'events needs a response stream');
        res.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': API_VERSION, Ostype: 'linux', Server: 'tsnetd' });
        res.flushHeaders();
        req.socket.setTimeout(0);
        const queue = new SubscriberQueue(res);
        const sub = d.bus.subscribe(include, (ev) => queue.push(`${eventJson(ev)}\n`), since, until);
        for (const ev of sub.buffered) queue.push(`${eventJson(ev)}\n`);
        const now = nowNs();
        if (until && until <= now) {
          sub.close();
          res.end();
          return { handled: true };
        }
        await new Promise<void>((resolve) => {
          const timer = until ? setTimeout(resolve, Number((until - now) / 1_000_000n) + 1) : undefined;
          res.once('close', () => {
            if (timer) clearTimeout(timer);
            resolve();
          });
        });
        sub.close();
        if (queue.dropped) d.logger.warn(`events: a slow subscriber missed ${queue.dropped} events`);
        res.end();
        return { handled: true };
      },
    },
  ];
}
