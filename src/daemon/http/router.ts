/**
 * A small method + path router for the Docker-style API. Paths may carry a `/v1.44` version
 * prefix (Docker's `/v{version:[0-9.]+}`), checked against the versions tsnet serves and handed
 * to the handler. Patterns use `{name}` segments; `{name*}` matches the rest (image names
 * contain slashes). Every route carries a schema (schema.ts), compiled when it is added.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { TsnetError } from '../../errors/index.js';
import { compileSchema, type CompiledSchema, type RouteSchema } from './schema.js';
import { API_VERSION, MIN_API_VERSION, versionLess } from './version.js';

export interface RequestContext {
  req: IncomingMessage;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The parsed JSON body (undefined when there is none), already checked against the route's schema. */
  body: unknown;
  /** The API version of the request (its `/vX.Y` prefix, else the newest tsnet serves). */
  apiVersion: string;
  /**
   * Present for hijackable requests (`Upgrade: tcp`, or any request on a hijack route).
   * `multiplexed`: the session's output is framed (Docker names it in the 101's Content-Type).
   * `websocketKey`: answer a websocket handshake; the session is then the frames' payloads.
   */
  hijack?: (opts?: { multiplexed?: boolean; websocketKey?: string }) => Promise<Duplex>;
  res?: ServerResponse;
}

export interface Route {
  /** An HTTP method, or `*` for every method (Docker's swarm endpoints). */
  method: string;
  pattern: string;
  /** What path params, query and body may hold; checked before the handler runs. */
  schema: RouteSchema;
  /** Do not read the body as JSON: the handler streams `req` itself (image import). */
  rawBody?: boolean;
  /**
   * Other methods on this path are 404, not 405: for routes standing in for one of Docker's
   * catch-all paths (`DELETE /containers/{name:.*}`), which do not make the path exist.
   */
  only?: boolean;
  handler: (ctx: RequestContext) => Promise<Reply | void>;
}

/** What a handler returns: a JSON value with a status, or a stream it already wrote. */
export type Reply =
  | { status: number; json?: unknown; headers?: Record<string, string> }
  | { status: number; text: string; headers?: Record<string, string> }
  /** JSON already serialized (routes that keep serialized parts between requests: GET /containers/json). */
  | { status: number; jsonBytes: Buffer; headers?: Record<string, string> }
  | { handled: true };

export interface Matched {
  route: Route;
  params: Record<string, string>;
  schema: CompiledSchema;
  apiVersion: string;
}

interface Compiled {
  route: Route;
  regex: RegExp;
  names: string[];
  schema: CompiledSchema;
}

export class Router {
  private readonly compiled: Compiled[] = [];
  /**
   * The routes a path can match, by its first segment: those whose pattern starts with that
   * literal segment and those that start with a param, in the order added (a request tries a
   * handful of patterns instead of every one). Built at the first match after an add.
   */
  private byFirst: Map<string, Compiled[]> | undefined;
  private anyFirst: Compiled[] = [];
  /** API versions already found served (checkVersion's answer does not change). */
  private readonly served = new Set<string>();

  add(...routes: Route[]): void {
    for (const route of routes) {
      const names: string[] = [];
      const source = route.pattern.replace(/\{(\w+)(\*?)\}/g, (_m, name: string, star: string) => {
        names.push(name);
        return star ? '(.+)' : '([^/]+)';
      });
      this.compiled.push({ route, regex: new RegExp(`^${source}$`), names, schema: compileSchema(route.schema) });
    }
    this.byFirst = undefined;
  }

  /** The routes, for tests and docs. */
  routes(): Route[] {
    return this.compiled.map((c) => c.route);
  }

  /**
   * The route for `method` and the raw (still percent-encoded) path: `undefined` when no
   * route has that path (404), `'method'` when some route has it with another method (405).
   * Throws 400 for a bad `%` escape or an API version tsnet does not serve.
   */
  match(method: string, rawPath: string): Matched | 'method' | undefined {
    let p = rawPath;
    let apiVersion = API_VERSION;
    const v = /^\/v([0-9.]+)(?=\/|$)/.exec(rawPath);
    if (v) {
      apiVersion = v[1]!;
      p = rawPath.slice(v[0].length) || '/';
    }
    let pathMatched = false;
    for (const c of this.candidates(p)) {
      const m = c.regex.exec(p);
      if (!m) continue;
      if (c.route.method !== '*' && c.route.method !== method && !(method === 'HEAD' && c.route.method === 'GET')) {
        if (!c.route.only) pathMatched = true;
        continue;
      }
      pathMatched = true;
      if (v && !this.served.has(apiVersion)) {
        checkVersion(apiVersion);
        this.served.add(apiVersion);
      }
      const params: Record<string, string> = {};
      for (const [i, n] of c.names.entries()) params[n] = decodeSegment(m[i + 1] ?? '');
      return { route: c.route, params, schema: c.schema, apiVersion };
    }
    return pathMatched ? 'method' : undefined;
  }

  /** The routes that can match path `p` (see byFirst), in the order added. */
  private candidates(p: string): Compiled[] {
    if (!this.byFirst) {
      const byFirst = new Map<string, Compiled[]>();
      const any: Compiled[] = [];
      for (const c of this.compiled) {
        const first = firstSegment(c.route.pattern);
        if (first.includes('{')) {
          any.push(c);
          for (const list of byFirst.values()) list.push(c);
        } else {
          if (!byFirst.has(first)) byFirst.set(first, [...any]);
          byFirst.get(first)!.push(c);
        }
      }
      this.byFirst = byFirst;
      this.anyFirst = any;
    }
    return this.byFirst.get(firstSegment(p)) ?? this.anyFirst;
  }
}

/** `/containers/x/json` → `containers`; `/_ping` → `_ping`; `/` → ``. */
function firstSegment(p: string): string {
  const end = p.indexOf('/', 1);
  return end < 0 ? p.slice(1) : p.slice(1, end);
}

/** Docker's answer to a version it does not serve (400, its words). */
function checkVersion(v: string): void {
  if (!/^[0-9]+(\.[0-9]+)*$/.test(v))
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid API version ${v}: use /vMAJOR.MINOR (e.g. /v${API_VERSION})`);
  if (versionLess(v, MIN_API_VERSION)) {
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `client version ${v} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
    );
  }
  if (versionLess(API_VERSION, v)) {
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `client version ${v} is too new. Maximum supported API version is ${API_VERSION}`,
    );
  }
}

export function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid escape in the request path: ${JSON.stringify(s.slice(0, 80))}`);
  }
}
