/**
 * The daemon's event bus: publishers call publish(); `/events` subscribers get every later event
 * that passes their filter, and a bounded ring of recent events answers `since`. Delivery is
 * synchronous and never waits for a subscriber: each subscriber must queue (bounded) itself.
 * Sizes follow moby's daemon/events: 256 recent events kept.
 */
import type { EventActor, EventMessage, EventSink, EventType } from './types.js';

export const RECENT_EVENTS = 256;

export type Deliver = (ev: EventMessage) => void;

export interface Subscription {
  /** Recent events in [since, until] that pass the filter, oldest first (empty without since/until). */
  buffered: EventMessage[];
  close(): void;
}

export interface BusOptions {
  /** How many recent events to keep (default 256, as Docker). */
  keep?: number;
  /** The clock, in nanoseconds since the epoch (tests). */
  nowNs?: () => bigint;
}

export class EventBus implements EventSink {
  private readonly recent: EventMessage[] = [];
  private readonly subscribers = new Set<{ include: (ev: EventMessage) => boolean; deliver: Deliver }>();
  private readonly keep: number;
  private readonly nowNs: () => bigint;
  private lastNs = 0n;

  constructor(opts: BusOptions = {}) {
    this.keep = opts.keep ?? RECENT_EVENTS;
    const base = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
    this.nowNs = opts.nowNs ?? (() => base + process.hrtime.bigint());
  }

  publish(type: EventType, action: string, actor: EventActor): void {
    // Strictly increasing timestamps keep `since` replays and ordering exact.
    let ns = this.nowNs();
    if (ns <= this.lastNs) ns = this.lastNs + 1n;
    this.lastNs = ns;
    const ev: EventMessage = {
      Type: type,
      Action: action,
      Actor: { ID: actor.ID, Attributes: { ...actor.Attributes } },
      scope: 'local',
      time: Number(ns / 1_000_000_000n),
      timeNano: ns,
    };
    this.recent.push(ev);
    if (this.recent.length > this.keep) this.recent.shift();
    for (const s of [...this.subscribers]) {
      if (!s.include(ev)) continue;
      try {
        s.deliver(ev);
      } catch {
        // a subscriber's failure is its own: the publisher (a container start) never sees it
      }
    }
  }

  /**
   * Subscribe to events that pass `include`. With `sinceNs`/`untilNs` (nanoseconds; 0 = not given)
   * the recent events in that window are returned as `buffered`, like Docker.
   */
  subscribe(include: (ev: EventMessage) => boolean, deliver: Deliver, sinceNs = 0n, untilNs = 0n): Subscription {
    const buffered =
      sinceNs || untilNs
        ? this.recent.filter((e) => e.timeNano >= sinceNs && (!untilNs || e.timeNano <= untilNs) && include(e))
        : [];
    const sub = { include, deliver };
    this.subscribers.add(sub);
    return { buffered, close: () => this.subscribers.delete(sub) };
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }
}
