/**
 * Serving a plugin where daemons look for it:
 * - a unix socket `<socketDir>/<name>.sock` (tsnet: /run/tsnet/plugins, Docker: /run/docker/plugins);
 * - or TCP, plus a spec file `<specDir>/<name>.spec` containing `tcp://host:port`
 *   (tsnet: /etc/tsnet/plugins, Docker: /etc/docker/plugins), removed again on close;
 * - or TCP with TLS (`tcp.tls`), plus `<specDir>/<name>.json` {"Name", "Addr": "https://host:port",
 *   "TLSConfig": {"CAFile", "InsecureSkipVerify": false}} — the form Docker reads for TLS plugins.
 * A stale socket file left by a crashed instance is replaced; a live one is an error.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { createPluginHandler, type HandlerOptions } from './handler.js';
import type { IpamDriverHandlers, NetworkDriverHandlers } from './types.js';

export const TSNET_SOCKET_DIR = '/run/tsnet/plugins';
export const TSNET_SPEC_DIR = '/etc/tsnet/plugins';
export const DOCKER_SOCKET_DIR = '/run/docker/plugins';
export const DOCKER_SPEC_DIR = '/etc/docker/plugins';

export interface ServeOptions {
  /** The plugin's name: daemons find it by it (`network create -d <name>`). */
  name: string;
  /** Directory for `<name>.sock` (default /run/tsnet/plugins). */
  socketDir?: string;
  /** Exact socket path (overrides socketDir). */
  socketPath?: string;
  /**
   * Listen on TCP instead and write `<specDir>/<name>.spec` (or `<name>.json` with `tls`).
   * port 0 = any free port.
   */
  tcp?: { host: string; port: number; specDir: string; tls?: TlsOptions };
  /** Group owning the socket (mode 0660); default: the process's group. */
  socketGroup?: number;
  /** One line per request and per error (default: silent). */
  log?: (line: string) => void;
}

/** TLS for a TCP plugin: PEM files. */
export interface TlsOptions {
  /** The plugin's certificate and key. */
  certFile: string;
  keyFile: string;
  /** The CA that signed certFile: written to the spec as TLSConfig.CAFile so daemons verify the plugin. */
  caFile?: string;
  /** Require daemons to present a client certificate signed by this CA. */
  clientCaFile?: string;
}

export interface PluginServer {
  name: string;
  /** unix:///path/x.sock, tcp://host:port or https://host:port */
  address: string;
  socketPath?: string;
  specFile?: string;
  /** Stop serving; removes the socket or spec file. Idempotent. */
  close(): Promise<void>;
}

function validateName(name: string): void {
  if (typeof name !== 'string' || name === '' || name === '.' || name === '..' || /[/\0]/.test(name)) {
    throw new Error(`invalid plugin name ${JSON.stringify(name)}`);
  }
}

function canConnect(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(socketPath);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

async function clearStaleSocket(socketPath: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(socketPath);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${socketPath} exists and is not a socket: refusing to replace it`);
  if (await canConnect(socketPath)) throw new Error(`${socketPath}: another plugin is already serving this socket`);
  fs.rmSync(socketPath, { force: true });
}

function listen(server: http.Server, ...args: unknown[]): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    (server.listen as (...a: unknown[]) => void)(...args, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Serve network and/or IPAM handlers. Resolves once the socket (or spec file) is in place. */
export async function servePlugin(opts: ServeOptions & Omit<HandlerOptions, 'log'>): Promise<PluginServer> {
  validateName(opts.name);
  const handler = createPluginHandler({
    ...(opts.network ? { network: opts.network } : {}),
    ...(opts.ipam ? { ipam: opts.ipam } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  });
  const tls = opts.tcp?.tls;
  const server = tls
    ? https.createServer(
        {
          cert: fs.readFileSync(tls.certFile),
          key: fs.readFileSync(tls.keyFile),
          ...(tls.clientCaFile ? { ca: fs.readFileSync(tls.clientCaFile), requestCert: true, rejectUnauthorized: true } : {}),
        },
        handler,
      )
    : http.createServer(handler);
  let closed = false;
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });

  if (opts.tcp) {
    const { host, port, specDir } = opts.tcp;
    await listen(server, port, host);
    const bound = server.address() as net.AddressInfo;
    const hostPart = net.isIPv6(host) ? `[${host}]` : host;
    const address = `${tls ? 'https' : 'tcp'}://${hostPart}:${bound.port}`;
    fs.mkdirSync(specDir, { recursive: true });
    const specFile = path.join(specDir, `${opts.name}.${tls ? 'json' : 'spec'}`);
    const tmp = `${specFile}.${process.pid}.tmp`;
    const text = tls
      ? `${JSON.stringify({
          Name: opts.name,
          Addr: address,
          TLSConfig: { InsecureSkipVerify: false, ...(tls.caFile ? { CAFile: path.resolve(tls.caFile) } : {}) },
        })}\n`
      : `${address}\n`;
    fs.writeFileSync(tmp, text, { mode: 0o644 });
    fs.renameSync(tmp, specFile);
    return {
      name: opts.name,
      address,
      specFile,
      async close() {
        if (closed) return;
        closed = true;
        try {
          if (fs.readFileSync(specFile, 'utf8') === text) fs.rmSync(specFile, { force: true });
        } catch {
          /* already gone */
        }
        await stop();
      },
    };
  }

  const socketPath = path.resolve(opts.socketPath ?? path.join(opts.socketDir ?? TSNET_SOCKET_DIR, `${opts.name}.sock`));
  fs.mkdirSync(path.dirname(socketPath), { recursive: true });
  await clearStaleSocket(socketPath);
  // Made with its final mode (umask around the bind, which listen() does at once), not chmodded
  // after it appears: a chmod changes the socket's ctime, and tsnet takes a socket whose identity
  // changed for a restarted plugin (it activates it once more). Bound at its own path, so
  // /proc/net/unix and `ss -x` name it (the conformance tool finds the plugin's netns that way).
  const oldUmask = process.umask(0o117);
  let listening: Promise<void>;
  try {
    listening = listen(server, socketPath);
  } finally {
    process.umask(oldUmask);
  }
  await listening;
  if (opts.socketGroup !== undefined) fs.chownSync(socketPath, process.getuid?.() ?? 0, opts.socketGroup);
  const ino = fs.statSync(socketPath).ino;
  return {
    name: opts.name,
    address: `unix://${socketPath}`,
    socketPath,
    async close() {
      if (closed) return;
      closed = true;
      await stop();
      try {
        // Remove the socket only if it is still ours (a new instance may have replaced it).
        if (fs.lstatSync(socketPath).ino === ino) fs.rmSync(socketPath, { force: true });
      } catch {
        /* already gone */
      }
    },
  };
}

/** Serve a network driver plugin. */
export function serveNetworkPlugin(opts: ServeOptions & { handlers: NetworkDriverHandlers }): Promise<PluginServer> {
  const { handlers, ...rest } = opts;
  return servePlugin({ ...rest, network: handlers });
}

/** Serve an IPAM driver plugin. */
export function serveIpamPlugin(opts: ServeOptions & { handlers: IpamDriverHandlers }): Promise<PluginServer> {
  const { handlers, ...rest } = opts;
  return servePlugin({ ...rest, ipam: handlers });
}

/** Close the server (removing its socket/spec file) on SIGINT/SIGTERM, then exit. */
export function closeOnSignals(
  server: PluginServer,
  signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'],
  onClose?: () => Promise<void> | void,
): void {
  let closing = false;
  for (const s of signals) {
    process.on(s, () => {
      if (closing) return;
      closing = true;
      void (async () => {
        try {
          await server.close();
          await onClose?.();
        } finally {
          process.exit(0);
        }
      })();
    });
  }
}
