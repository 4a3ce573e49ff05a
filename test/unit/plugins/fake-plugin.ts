/**
 * A raw HTTP plugin for client tests: records every request (method, headers, body) and answers
 * with whatever `reply` decides — including misbehaviour (hang, die mid-call, bad JSON).
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Seen {
  method: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export type Reply = (method: string, body: string, res: ServerResponse, req?: http.IncomingMessage) => void;

export interface FakePlugin {
  socket: string;
  seen: Seen[];
  count(method: string): number;
  close(): Promise<void>;
  /** Replace the reply function. */
  reply: Reply;
}

export function tmpDir(t: { teardown(fn: () => void): void }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-plug-unit-'));
  t.teardown(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(text);
}

/** Default: Activate → NetworkDriver, capabilities local, everything else {}. */
export const okReply: Reply = (method, _body, res) => {
  if (method === 'Plugin.Activate') return json(res, 200, { Implements: ['NetworkDriver', 'IpamDriver'] });
  if (method === 'NetworkDriver.GetCapabilities') return json(res, 200, { Scope: 'local' });
  json(res, 200, {});
};

export async function startFake(
  listenOn: string | { port: 0; host: string },
  reply: Reply = okReply,
): Promise<FakePlugin & { port?: number }> {
  const seen: Seen[] = [];
  const fake = {
    socket: typeof listenOn === 'string' ? listenOn : '',
    seen,
    reply,
    count: (m: string) => seen.filter((s) => s.method === m).length,
    close: async () => {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    },
  } as FakePlugin & { port?: number };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const method = (req.url ?? '').replace(/^\//, '');
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method, headers: req.headers, body });
      fake.reply(method, body, res, req);
    });
  });
  if (typeof listenOn === 'string') await new Promise<void>((r) => server.listen(listenOn, r));
  else {
    await new Promise<void>((r) => server.listen(0, listenOn.host, r));
    fake.port = (server.address() as AddressInfo).port;
  }
  return fake;
}

/** A socket file nobody listens on (a crashed plugin's): a child listens, then is SIGKILLed. */
export async function staleSocket(file: string): Promise<void> {
  const { spawn } = await import('node:child_process');
  const c = spawn(
    process.execPath,
    ['-e', `require('net').createServer().listen(${JSON.stringify(file)}, () => console.log('up'))`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise((r) => c.stdout!.once('data', r));
  c.kill('SIGKILL');
  await new Promise((r) => c.once('exit', r));
}
