/**
 * A hijacked connection's first bytes wait until the client has read the `101` head (at most
 * HEAD_WAIT_MS). Clients that read the head through a buffered reader and then switch to the raw
 * socket — Python's http.client under the Docker SDK (attach, exec start, logs) — lose whatever
 * arrived in the same read as the head: an attach with `logs=1&stream=0` came back empty, and an
 * exec's first frame header was swallowed (`104 is not a valid stream`: the reader started in
 * the payload). dockerd rarely hits this only because its first output comes later. Only writes
 * are held, and only until the head is read: a handler is never delayed, and output that comes
 * later (a container's, after its start) is not held at all.
 */
import type net from 'node:net';

const HEAD_WAIT_MS = 500;

export function holdUntilHeadRead(sock: net.Socket, unread: (fd: number) => number): void {
  const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return;
  const write = sock.write;
  const end = sock.end;
  const held: Array<() => void> = [];
  let open = false;
  const release = (): void => {
    if (open) return;
    open = true;
    sock.write = write;
    sock.end = end;
    for (const f of held.splice(0)) f();
  };
  sock.write = ((...args: unknown[]) => {
    if (open) return (write as (...a: unknown[]) => boolean).apply(sock, args);
    held.push(() => (write as (...a: unknown[]) => boolean).apply(sock, args));
    return true;
  }) as typeof sock.write;
  sock.end = ((...args: unknown[]) => {
    if (open) return (end as (...a: unknown[]) => net.Socket).apply(sock, args);
    held.push(() => (end as (...a: unknown[]) => net.Socket).apply(sock, args));
    return sock;
  }) as typeof sock.end;
  const deadline = Date.now() + HEAD_WAIT_MS;
  const poll = (): void => {
    if (sock.destroyed || unread(fd) <= 0 || Date.now() >= deadline) release();
    else setTimeout(poll, 1);
  };
  poll();
}
