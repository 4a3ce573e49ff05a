/**
 * A fake tsnetd for CLI tests: a node:http server on a unix socket in a temp dir that
 * records every request (method, path, query, headers, body) and answers from routes
 * the test sets, including `Upgrade: tcp` requests (attach, exec start), which it
 * answers with `101 UPGRADED` and hands the raw socket to the test.
 * Also: `tsnet(...)`, which runs the CLI (src/cli/main.ts via tsx) against a socket.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const MAIN = join(ROOT, 'src/cli/main.ts');
const FIXED_CLOCK = join(ROOT, 'test/unit/cli/helpers/fixed-clock.ts');

export interface Recorded {
  method: string;
  /** Path without the query. */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** The body parsed as JSON when it is JSON. */
  json: unknown;
}

type Handler = (req: Recorded, res: ServerResponse) => void | Promise<void>;
type UpgradeHandler = (req: Recorded, socket: Socket) => void | Promise<void>;

interface Route {
  method: string;
  path: string | RegExp;
  handler: Handler;
  /** For reply(): the fixed answer, also given to upgrade requests no upgrade route takes. */
  fixed?: { status: number; body?: unknown };
}

/** The last registered route that matches wins, so a test can override an earlier one. */
function lastMatch<T extends { method: string; path: string | RegExp }>(
  list: T[],
  method: string,
  path: string,
  where: (r: T) => boolean = () => true,
): T | undefined {
  for (let i = list.length - 1; i >= 0; i--) {
    const r = list[i]!;
    if (where(r) && matches(r, method, path)) return r;
  }
  return undefined;
}

function matches(route: { method: string; path: string | RegExp }, method: string, path: string): boolean {
  if (route.method !== method) return false;
  return typeof route.path === 'string' ? route.path === path : route.path.test(path);
}

function record(req: IncomingMessage, body: Buffer): Recorded {
  const url = new URL(req.url ?? '/', 'http://tsnet');
  let json: unknown;
  if ((req.headers['content-type'] ?? '').includes('json') && body.length > 0) json = JSON.parse(body.toString('utf8'));
  return { method: req.method ?? '', path: url.pathname, query: url.searchParams, headers: req.headers, body, json };
}

export class FakeDaemon {
  readonly requests: Recorded[] = [];
  private readonly routes: Route[] = [];
  private readonly upgrades: Array<{ method: string; path: string | RegExp; handler: UpgradeHandler }> = [];
  private readonly sockets = new Set<Socket>();
  private constructor(
    readonly dir: string,
    readonly socketPath: string,
    private readonly server: http.Server,
  ) {}

  static async start(): Promise<FakeDaemon> {
    const dir = await mkdtemp(join(tmpdir(), 'tsnet-cli-'));
    const socketPath = join(dir, 'tsnetd.sock');
    const server = http.createServer();
    const daemon = new FakeDaemon(dir, socketPath, server);
    server.on('connection', (s: Socket) => {
      daemon.sockets.add(s);
      s.on('close', () => daemon.sockets.delete(s));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const rec = record(req, Buffer.concat(chunks));
        daemon.requests.push(rec);
        const route = lastMatch(daemon.routes, rec.method, rec.path);
        if (!route) {
          res.writeHead(404, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ message: `fake daemon: no route for ${rec.method} ${rec.path}` }));
          return;
        }
        Promise.resolve(route.handler(rec, res)).catch((err: unknown) => {
          res.writeHead(500);
          res.end(String(err));
        });
      });
    });
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      daemon.sockets.add(socket);
      const len = Number(req.headers['content-length'] ?? 0);
      const finish = (body: Buffer, rest: Buffer): void => {
        if (rest.length > 0) socket.unshift(rest);
        const rec = record(req, body);
        daemon.requests.push(rec);
        const route = lastMatch(daemon.upgrades, rec.method, rec.path);
        if (!route) {
          const fixed = lastMatch(daemon.routes, rec.method, rec.path, (r) => r.fixed !== undefined)?.fixed;
          const status = fixed?.status ?? 404;
          const body = fixed ? JSON.stringify(fixed.body ?? '') : '{"message":"no upgrade route"}';
          socket.end(
            `HTTP/1.1 ${status} X\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
          );
          return;
        }
        socket.write(
          'HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n',
        );
        void route.handler(rec, socket);
      };
      if (head.length >= len) {
        finish(head.subarray(0, len), head.subarray(len));
        return;
      }
      let buf = head;
      const onData = (d: Buffer): void => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= len) {
          socket.removeListener('data', onData);
          socket.pause();
          finish(buf.subarray(0, len), buf.subarray(len));
        }
      };
      socket.on('data', onData);
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    return daemon;
  }

  get host(): string {
    return `unix://${this.socketPath}`;
  }

  on(method: string, path: string | RegExp, handler: Handler): this {
    this.routes.push({ method, path, handler });
    return this;
  }

  /** Answer with a status and a JSON body (or no body for undefined). */
  reply(method: string, path: string | RegExp, status: number, body?: unknown): this {
    this.routes.push({ method, path, handler: (_req, res) => this.answer(res, status, body), fixed: { status, body } });
    return this;
  }

  private answer(res: ServerResponse, status: number, body: unknown): void {
    if (body === undefined) {
      res.writeHead(status);
      res.end();
      return;
    }
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  onUpgrade(method: string, path: string | RegExp, handler: UpgradeHandler): this {
    this.upgrades.push({ method, path, handler });
    return this;
  }

  /** `METHOD /path` of every request so far. */
  get calls(): string[] {
    return this.requests.map((r) => `${r.method} ${r.path}`);
  }

  find(method: string, path: string | RegExp): Recorded | undefined {
    return this.requests.find((r) => matches({ method, path }, r.method, r.path));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.dir, { recursive: true, force: true });
  }
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  host?: string;
  env?: Record<string, string>;
  input?: string | Buffer;
  cwd?: string;
  /** Called once the process runs (to send it signals). */
  onSpawn?: (child: import('node:child_process').ChildProcess) => void;
  /** Run an already built entry (dist/cli/main.js) instead of the sources. */
  entry?: string;
  /** Freeze the CLI's clock: `Date.now()` answers this (ms since the epoch); TZ is UTC. */
  now?: number;
  /** Run this executable (the launcher, dist/cli-bundle/tsnet) instead of node. */
  exec?: string;
}

/** Run the CLI with `-H host` (when given) and collect its output. */
export function tsnet(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const hostArgs = opts.host === undefined ? [] : ['-H', opts.host];
  const clockArgs = opts.now === undefined ? [] : ['--import', FIXED_CLOCK];
  // tsx loads the sources and the (TypeScript) clock; a built entry needs it only for the clock
  const tsxArgs = opts.entry && opts.now === undefined ? [] : ['--import', 'tsx'];
  const entryArgs = [...tsxArgs, ...clockArgs, opts.entry ?? MAIN];
  const env: Record<string, string> = { ...(process.env as Record<string, string>), ...opts.env };
  if (opts.now !== undefined) Object.assign(env, { TSNET_TEST_NOW: String(opts.now), TZ: 'UTC' });
  delete env.TSNET_HOST;
  if (opts.env?.TSNET_HOST !== undefined) env.TSNET_HOST = opts.env.TSNET_HOST;
  const [cmd, cmdArgs] = opts.exec
    ? [opts.exec, [...hostArgs, ...args]]
    : [process.execPath, [...entryArgs, ...hostArgs, ...args]];
  const child = spawn(cmd, cmdArgs, {
    cwd: opts.cwd ?? ROOT,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  opts.onSpawn?.(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  if (opts.input !== undefined) child.stdin.end(opts.input);
  else child.stdin.end();
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
