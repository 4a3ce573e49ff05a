/**
 * An event as one line of Docker's `/events` stream. Container and image events carry the
 * deprecated `status`/`id`/`from` fields too (API < 1.52 has them; the docker CLI before v25
 * and compose read them). timeNano is written exactly (it does not fit a float64).
 */
import type { EventMessage } from './types.js';

export function eventJson(ev: EventMessage): string {
  const legacy =
    ev.Type === 'container'
      ? { status: ev.Action, id: ev.Actor.ID, from: ev.Actor.Attributes.image ?? '' }
      : ev.Type === 'image'
        ? { status: ev.Action, id: ev.Actor.ID }
        : {};
  const body = JSON.stringify({
    ...legacy,
    Type: ev.Type,
    Action: ev.Action,
    Actor: ev.Actor,
    scope: ev.scope,
    time: ev.time,
    timeNano: 0,
  });
  return `${body.slice(0, -'0}'.length)}${ev.timeNano}}`;
}
