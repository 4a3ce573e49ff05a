/**
 * A small method + path router for the Docker-style API. Paths may carry a `/v1.41` version
 * prefix, which is stripped. Patterns use `{name}` segments; `{name*}` matches the rest
 * (image names contain slashes).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export interface RequestContext {
  req: IncomingMessage;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The parsed JSON body (undefined when there is none). Not read for streaming routes. */
  body: unknown;
  /** Present for hijackable requests (`Upgrade: tcp`, or any request on a hijack route). */
  hijack?: () => Promise<Duplex>;
  res?: ServerResponse;
}

export interface Route {
  method: string;
  pattern: string;
  /** Do not read the body as JSON: the handler streams `req` itself (image import). */
  rawBody?: boolean;
  handler: (ctx: RequestContext) => Promise<Reply | void>;
}

/** What a handler returns: a JSON value with a status, or a stream it already wrote. */
export type Reply =
  | { status: number; json?: unknown; headers?: Record<string, string> }
  | { status: number; text: string; headers?: Record<string, string> }
  | { handled: true };

interface Compiled {
  route: Route;
  regex: RegExp;
  names: string[];
}

export class Router {
  private readonly compiled: Compiled[] = [];

  add(...routes: Route[]): void {
    for (const route of routes) {
      const names: string[] = [];
      const source = route.pattern.replace(/\{(\w+)(\*?)\}/g, (_m, name: string, star: string) => {
        names.push(name);
        return star ? '(.+)' : '([^/]+)';
      });
      this.compiled.push({ route, regex: new RegExp(`^${source}$`), names });
    }
  }

  match(method: string, rawPath: string): { route: Route; params: Record<string, string> } | 'method' | undefined {
    const p = rawPath.replace(/^\/v\d+(\.\d+)?(?=\/)/, '');
    let pathMatched = false;
    for (const c of this.compiled) {
      const m = c.regex.exec(p);
      if (!m) continue;
      pathMatched = true;
      if (c.route.method !== method && !(method === 'HEAD' && c.route.method === 'GET')) continue;
      const params: Record<string, string> = {};
      for (const [i, n] of c.names.entries()) params[n] = decodeURIComponent(m[i + 1] ?? '');
      return { route: c.route, params };
    }
    return pathMatched ? 'method' : undefined;
  }
}
