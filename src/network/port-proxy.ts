/**
 * The loopback proxy of IPv6 published ports. IPv6 has no `route_localnet`, so the kernel cannot
 * DNAT a connection to `[::1]:port` to a container (Docker needs docker-proxy for it). tsnet's
 * reservation socket of an IPv6 binding (`::` or `::1`) is that proxy: every other connection to
 * the port is DNATed before it reaches a socket, so only loopback traffic — or, for a container
 * without an IPv6 address on its gateway network, the IPv6 traffic the kernel cannot map to it —
 * arrives here, and is relayed to the container. In the daemon, no extra process.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { tryParseIp } from '../lib/cidr.js';

/** Where relayed traffic goes: the container's address and port, or undefined (connection dropped). */
export type ProxyTarget = () => { host: string; port: number } | undefined;

/** UDP "connections" idle this long are forgotten (Docker's docker-proxy: 90 s). */
export const UDP_IDLE_MS = 90_000;

/**
 * Connection handler of a TCP server (made with allowHalfOpen): each accepted connection is
 * piped to the target.
 * `closeAll` ends the relayed connections (the port is released).
 */
export function tcpRelay(target: ProxyTarget): { onConnection: (client: net.Socket) => void; closeAll: () => void } {
  const open = new Set<net.Socket>();
  const onConnection = (client: net.Socket) => {
    const to = target();
    if (!to) {
      client.destroy();
      return;
    }
    // half-open both ways: a client's FIN is passed on and the reply still comes back
    const upstream = net.connect({ host: to.host, port: to.port, allowHalfOpen: true });
    const abort = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('error', abort);
      s.on('close', () => open.delete(s));
    }
    client.pipe(upstream);
    upstream.pipe(client);
  };
  return {
    onConnection,
    closeAll: () => {
      for (const s of open) s.destroy();
      open.clear();
    },
  };
}

/**
 * Relay datagrams arriving on `server` to the target, one upstream socket per client address
 * (replies go back from `server`). Returns a function that closes every upstream socket.
 */
export function udpRelay(server: dgram.Socket, target: ProxyTarget, idleMs = UDP_IDLE_MS): () => void {
  const flows = new Map<string, { sock: dgram.Socket; timer: NodeJS.Timeout }>();
  const forget = (key: string) => {
    const f = flows.get(key);
    if (!f) return;
    flows.delete(key);
    clearTimeout(f.timer);
    f.sock.close();
  };
  server.on('message', (msg, rinfo) => {
    const to = target();
    if (!to) return;
    const key = `${rinfo.address}|${rinfo.port}`;
    let f = flows.get(key);
    if (!f) {
      const sock = dgram.createSocket(tryParseIp(to.host)?.family === 6 ? 'udp6' : 'udp4');
      sock.on('message', (reply) => {
        const flow = flows.get(key);
        if (flow) flow.timer.refresh();
        server.send(reply, rinfo.port, rinfo.address);
      });
      sock.on('error', () => forget(key));
      f = { sock, timer: setTimeout(() => forget(key), idleMs) };
      f.timer.unref();
      flows.set(key, f);
    } else {
      f.timer.refresh();
    }
    f.sock.send(msg, to.port, to.host);
  });
  return () => {
    for (const key of [...flows.keys()]) forget(key);
  };
}
