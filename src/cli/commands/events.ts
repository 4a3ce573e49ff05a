/**
 * tsnet events: GET /events?since&until&filters, printed as the docker CLI prints them
 * (`TIME TYPE ACTION ID (k=v, …)`), or one line per event through --format (json or a template).
 * Without --until it follows until Ctrl-C.
 */
import type { Context } from '../context.js';
import { invalidArgument, UsageError } from '../errors.js';
import { compileTemplate, TemplateError } from '../format/template.js';
import { parseFilters } from '../parse/kv.js';
import { parseTimestamp } from '../parse/time.js';

interface EventsOptions {
  since?: string;
  until?: string;
  filter?: string[];
  format?: string;
}

interface ApiEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> };
  time: number;
  timeNano: number;
}

/** `2024-05-01T10:20:30.123456789+02:00` in the local zone, from the raw timeNano digits. */
export function eventTime(timeNanoDigits: string): string {
  const ns = BigInt(timeNanoDigits);
  const ms = Number(ns / 1_000_000n);
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const local = new Date(ms + off * 60_000);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  const zone = off === 0 ? 'Z' : `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${local.toISOString().slice(0, 19)}.${frac}${zone}`;
}

export function eventLine(raw: string, ev: ApiEvent): string {
  const digits = /"timeNano":(\d+)/.exec(raw)?.[1] ?? String(ev.time * 1e9);
  const attrs = Object.entries(ev.Actor.Attributes ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return `${eventTime(digits)} ${ev.Type} ${ev.Action} ${ev.Actor.ID}${attrs ? ` (${attrs})` : ''}`;
}

function timestamp(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  try {
    return parseTimestamp(value);
  } catch (err) {
    throw invalidArgument(value, flag, (err as Error).message);
  }
}

export default async function events(ctx: Context, _args: [], opts: EventsOptions): Promise<number> {
  let filters: string | undefined;
  try {
    filters = parseFilters(opts.filter ?? []);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  let render: (raw: string, ev: ApiEvent) => string = eventLine;
  if (opts.format === 'json') render = (raw) => raw;
  else if (opts.format) {
    try {
      const t = compileTemplate(opts.format);
      render = (_raw, ev) => t.execute(ev);
    } catch (err) {
      if (err instanceof TemplateError) throw new UsageError(`invalid --format ${JSON.stringify(opts.format)}: ${err.message}`);
      throw err;
    }
  }
  const res = await ctx.client.send('GET', '/events', {
    query: { since: timestamp(opts.since, '--since'), until: timestamp(opts.until, '--until'), filters },
  });
  const unhook = ctx.onSignal(['SIGINT'], () => {
    unhook();
    res.destroy();
  });
  let buf = '';
  res.setEncoding('utf8');
  try {
    for await (const chunk of res as AsyncIterable<string>) {
      buf += chunk;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (line) ctx.print(render(line, JSON.parse(line) as ApiEvent));
      }
    }
  } finally {
    unhook();
  }
  return 0;
}
