/**
 * A stand-in daemon for the snapshot's warm-up (warm-up.ts): a unix socket that answers the few
 * requests the warm-up's command lines send, with small Docker-shaped bodies. Every answer closes
 * its connection (the CLI leaves idle ones open for the process exit to close, and node refuses
 * to snapshot an open handle); an attach is upgraded, sends one line of output and ends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ID = 'f'.repeat(64);

const VERSION = {
  Version: '0.0.0',
  ApiVersion: '1.45',
  MinAPIVersion: '1.24',
  GitCommit: 'tsnet',
  GoVersion: 'node',
  Os: 'linux',
  Arch: 'amd64',
  KernelVersion: '6',
  BuildTime: '2000-01-01T00:00:00.000Z',
};

const CONTAINER = {
  Id: ID,
  Names: ['/warm'],
  Image: 'busybox',
  ImageID: `sha256:${ID}`,
  Command: 'true',
  Created: 0,
  Ports: [{ PrivatePort: 80, PublicPort: 8080, Type: 'tcp', IP: '127.0.0.1' }],
  Labels: {},
  State: 'exited',
  Status: 'Exited (0) 1 second ago',
};

const NETWORK = { Name: 'warm', Id: ID, Created: '2000-01-01T00:00:00Z', Scope: 'local', Driver: 'bridge', Labels: {} };

interface Answer {
  status: number;
  body?: unknown;
  upgrade?: boolean;
}

/** What the daemon would answer to `method path` (query dropped). */
function answer(method: string, url: string): Answer {
  const p = url.replace(/\?.*$/, '');
  const key = `${method} ${p.replace(/^\/v[0-9.]+\//, '/').replace(/\/[0-9a-f]{64}\b|\/warm\b/, '/X')}`;
  switch (key) {
    case 'GET /version':
      return { status: 200, body: VERSION };
    case 'GET /containers/json':
      return { status: 200, body: [CONTAINER] };
    case 'POST /containers/create':
      return { status: 201, body: { Id: ID, Warnings: [] } };
    case 'POST /containers/X/attach':
      return { status: 101, upgrade: true };
    case 'POST /containers/X/wait':
      return { status: 200, body: { StatusCode: 0, Error: null } };
    case 'POST /containers/X/start':
    case 'POST /containers/X/stop':
    case 'DELETE /containers/X':
    case 'DELETE /networks/X':
      return { status: 204 };
    case 'GET /networks':
      return { status: 200, body: [NETWORK] };
    case 'POST /networks/create':
      return { status: 201, body: { Id: ID, Warning: '' } };
    case 'GET /images/json':
      return { status: 200, body: [] };
    default:
      return { status: 404, body: { message: `warm-up: nothing at ${method} ${p}` } };
  }
}

function reply(sock: net.Socket, a: Answer): void {
  if (a.upgrade) {
    sock.write(
      'HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n',
    );
    const line = Buffer.from('warm\n');
    const frame = Buffer.alloc(8);
    frame[0] = 1;
    frame.writeUInt32BE(line.length, 4);
    sock.end(Buffer.concat([frame, line]));
    return;
  }
  const body = a.body === undefined ? '' : JSON.stringify(a.body);
  const head = `HTTP/1.1 ${a.status} X\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
  sock.end(a.status === 204 ? 'HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n' : head + body);
}

/** Serve one connection: requests one after another (heads, then Content-Length bodies). */
function serve(sock: net.Socket): void {
  let buf = Buffer.alloc(0);
  sock.on('error', () => {});
  sock.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = buf.toString('latin1', 0, end).split('\r\n');
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(`\r\n${lines.slice(1).join('\r\n')}`)?.[1] ?? 0);
      if (buf.length < end + 4 + length) return;
      buf = buf.subarray(end + 4 + length);
      const [method = '', url = ''] = (lines[0] ?? '').split(' ');
      const a = answer(method, url);
      reply(sock, a);
      return;
    }
  });
}

export interface FakeDaemon {
  host: string;
  close(): Promise<void>;
}

export function startFakeDaemon(): Promise<FakeDaemon> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsnet-snapshot-'));
  const socket = path.join(dir, 'tsnet.sock');
  const conns = new Set<net.Socket>();
  const server = net.createServer((s) => {
    conns.add(s);
    s.on('close', () => conns.delete(s));
    serve(s);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () =>
      resolve({
        host: `unix://${socket}`,
        close: () =>
          new Promise<void>((done) => {
            for (const s of conns) s.destroy();
            server.close(() => {
              rmSync(dir, { recursive: true, force: true });
              done();
            });
          }),
      }),
    );
  });
}
