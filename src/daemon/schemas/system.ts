/** Schemas of /events, /containers/{id}/stats and /system/df. */
import { Type } from '@sinclair/typebox';
import { QBool, QFilters, Query } from './common.js';

/** Unix seconds with an optional fraction (what the docker CLI sends), or an RFC 3339 time. */
const EventTime = Type.String({
  maxLength: 64,
  pattern: '^(|-?[0-9]{1,15}(\\.[0-9]{1,9})?|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2}))$',
  hint: 'a Unix timestamp (1700000000 or 1700000000.5) or an RFC 3339 time',
});

export const EventsQuery = Query({ since: EventTime, until: EventTime, filters: QFilters });
export const StatsQuery = Query({ stream: QBool, 'one-shot': QBool });
