/**
 * The CLI socket: `<API socket>.cli` (/run/tsnet/tsnet.sock.cli by default), where the tsnet
 * launcher sends a command line for the daemon to run with the CLI's own code (src/cli/serve/),
 * so a command costs no Node start-up. Same owner, group and mode as the API socket; it grants
 * nothing that socket does not: the command talks to the API like any client.
 *
 * The peer must be a process of the daemon's uid in the daemon's mount namespace and root
 * (SO_PEERCRED, /proc/<pid>/ns/mnt): a command line names the client's files (relative paths,
 * --env-file, the credentials under $HOME), which must be the same files to the daemon. Any other
 * peer gets `fallback` and runs the command with node. The CLI code is loaded on the first
 * connection or by warm(), never on the daemon's start path.
 */
import type net from 'node:net';
import netModule from 'node:net';
import fs from 'node:fs';
import type { CliHost } from '../cli/serve/host.js';
import type { PeerCredReader } from '../kernel/peer-cred.js';
import { sharesFilesystemView } from '../kernel/peer-cred.js';
import type { Logger } from '../lib/logger.js';
import { listenUnix } from './http/socket.js';

/** `fallback`: a frame of type 'f' and no payload (src/cli/serve/frames.ts). */
const FALLBACK = Buffer.from([0, 0, 0, 0, 0x66]);

/** The naming rule the launcher follows too (src/cli/launcher/tsnet.c). */
export function cliSocketPath(apiSocket: string): string {
  return `${apiSocket}.cli`;
}

export interface CliSocket {
  /** Load the CLI code now (after the daemon is ready), so the first command does not wait for it. */
  warm(): void;
  close(): void;
  host(): Promise<CliHost>;
}

export async function startCliSocket(opts: {
  apiSocket: string;
  mode: number;
  gid: number;
  logger: Logger;
  peerCred: PeerCredReader;
}): Promise<CliSocket> {
  const path = cliSocketPath(opts.apiSocket);
  const uid = process.geteuid?.() ?? 0;
  let loading: Promise<CliHost> | undefined;
  const host = (): Promise<CliHost> => {
    loading ??= import('../cli/serve/host.js').then((m) =>
      m.createCliHost({
        apiSocket: opts.apiSocket,
        warn: (line) => opts.logger.warn(line),
        debug: (line) => opts.logger.debug(line),
      }),
    );
    return loading;
  };

  const accept = (socket: net.Socket): void => {
    socket.on('error', () => {
      // the client went away: nothing to tell it
    });
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    const peer = typeof fd === 'number' && fd >= 0 ? opts.peerCred(fd) : undefined;
    if (!peer || peer.uid !== uid || !sharesFilesystemView(peer.pid)) {
      socket.end(FALLBACK);
      return;
    }
    host().then(
      (h) => h.serve(socket),
      (err: unknown) => {
        opts.logger.warn(`cli socket: cannot load the CLI (${(err as Error).message}): clients run node`);
        socket.end(FALLBACK);
      },
    );
  };

  const server = netModule.createServer(accept);
  server.on('error', (err) => opts.logger.warn(`cli socket ${path}: ${err.message}`));
  await listenUnix(server, { socketPath: path, mode: opts.mode, gid: opts.gid });
  return {
    warm: () => {
      void host()
        .then((h) => h.warm())
        .catch(() => undefined);
    },
    close: () => {
      server.close();
      fs.rmSync(path, { force: true });
    },
    host,
  };
}
