/**
 * `docker logs --details` (`details=1`): dockerd puts each line's log attributes before it —
 * `key=value` pairs, sorted by key, query-escaped, joined by `,`, then a space (a line with no
 * attributes gets the space alone). The json-file driver's attributes are the container's labels
 * named by the log opts `labels` / `labels-regex` and its environment variables named by `env` /
 * `env-regex` (moby's `logger.Info.ExtraAttributes`); the `local` driver keeps none. They are
 * fixed for a container's life, so they are worked out when read, not stored per line. The
 * regex opts run on the linear matcher of name filters (name-pattern.ts). Pure.
 */
import type { LogConfig } from '../../runtime/container/log-config.js';
import { namePattern } from './name-pattern.js';

/** Go's url.QueryEscape: only `A-Za-z0-9-_.~` stay, a space is `+`. */
function queryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** The prefix of every line of `logs --details` for a container with this log config. */
export function logDetailsPrefix(
  cfg: LogConfig | undefined,
  labels: Record<string, string> | null | undefined,
  env: readonly string[] | null | undefined,
): string {
  const extra = new Map<string, string>();
  const opts = cfg?.Type === 'json-file' ? cfg.Config : {};
  const lab = labels ?? {};
  const pick = (list: string | undefined, from: Record<string, string>) => {
    for (const k of list ? list.split(',') : []) if (Object.hasOwn(from, k)) extra.set(k, from[k]!);
  };
  const pickRe = (re: string | undefined, from: Record<string, string>) => {
    if (!re) return;
    const p = namePattern(re);
    for (const [k, v] of Object.entries(from)) if (p.test(k)) extra.set(k, v);
  };
  pick(opts.labels, lab);
  pickRe(opts['labels-regex'], lab);
  const vars: Record<string, string> = {};
  for (const e of env ?? []) {
    const i = e.indexOf('=');
    if (i > 0) vars[e.slice(0, i)] = e.slice(i + 1);
  }
  pick(opts.env, vars);
  pickRe(opts['env-regex'], vars);
  const pairs = [...extra].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${pairs.map(([k, v]) => `${queryEscape(k)}=${queryEscape(v)}`).join(',')} `;
}
