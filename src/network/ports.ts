/**
 * Published ports: Docker's PortBindings/ExposedPorts turned into concrete mappings, host ports
 * chosen from the ephemeral range when not given, and every host port reserved by binding it
 * (as Podman does), so neither tsnet nor any other process can take it twice.
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import { TsnetError } from '../errors/index.js';
import type { PortMapping } from './driver-api.js';
import { tryParseIp } from '../lib/cidr.js';
import { tcpRelay, udpRelay, type ProxyTarget } from './port-proxy.js';

/** The addresses of the endpoint that publishes the ports (its gateway endpoint), no prefix. */
export interface PortTarget {
  ipv4?: string;
  ipv6?: string;
  /**
   * Its network's default binding address for a request with no host IP
   * (`com.docker.network.bridge.host_binding_ipv4`); unset = `0.0.0.0`.
   */
  defaultHostIp?: string;
}

export interface PortRequest {
  proto: 'tcp' | 'udp' | 'sctp';
  hostIp: string;
  /** 0 = any free port; a range = any free port in it. */
  hostPortStart: number;
  hostPortEnd: number;
  containerPort: number;
}

/** HostConfig.PortBindings + PublishAllPorts → requests. Validates everything. */
export function portRequests(
  bindings: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null | undefined,
  publishAll: boolean,
  exposed: Record<string, object> | undefined,
): PortRequest[] {
  const out: PortRequest[] = [];
  const keyRe = /^(\d+)(?:\/(tcp|udp|sctp))?$/;
  const parsePort = (s: string, what: string): number => {
    const n = Number(s);
    if (!/^\d+$/.test(s) || n < 1 || n > 65535)
      throw new TsnetError('TSNET_BAD_PORT_SPEC', `invalid ${what} "${s}": use a number from 1 to 65535`);
    return n;
  };
  for (const [key, list] of Object.entries(bindings ?? {})) {
    const m = keyRe.exec(key);
    if (!m) throw new TsnetError('TSNET_BAD_PORT_SPEC', `invalid container port "${key}": use PORT[/tcp|udp|sctp]`);
    const containerPort = parsePort(m[1]!, 'container port');
    const proto = (m[2] ?? 'tcp') as PortRequest['proto'];
    for (const b of list ?? [{}]) {
      const hostIp = (b.HostIp ?? '').replace(/^\[|\]$/g, '');
      if (hostIp && !tryParseIp(hostIp))
        throw new TsnetError('TSNET_BAD_PORT_SPEC', `invalid host IP "${hostIp}" for port ${key}`);
      const hp = b.HostPort ?? '';
      let start = 0;
      let end = 0;
      if (hp) {
        const r = /^(\d+)(?:-(\d+))?$/.exec(hp);
        if (!r) throw new TsnetError('TSNET_BAD_PORT_SPEC', `invalid host port "${hp}" for port ${key}`);
        start = parsePort(r[1]!, 'host port');
        end = r[2] ? parsePort(r[2], 'host port') : start;
        if (end < start)
          throw new TsnetError('TSNET_BAD_PORT_SPEC', `invalid host port range "${hp}": the end is before the start`);
      }
      out.push({ proto, hostIp, hostPortStart: start, hostPortEnd: end, containerPort });
    }
  }
  if (publishAll) {
    for (const key of Object.keys(exposed ?? {})) {
      const m = keyRe.exec(key);
      if (!m) continue;
      const proto = (m[2] ?? 'tcp') as PortRequest['proto'];
      const containerPort = Number(m[1]);
      if (out.some((r) => r.containerPort === containerPort && r.proto === proto)) continue;
      out.push({ proto, hostIp: '', hostPortStart: 0, hostPortEnd: 0, containerPort });
    }
  }
  return out;
}

/**
 * The host addresses one request is bound on, as Docker with its userland proxy on (its
 * default): with no host IP, the network's default binding address; when that is `0.0.0.0`
 * (or unset), `0.0.0.0` and `::` with the same port, whether or not the target has an IPv6
 * address (an IPv4-only container is reached from IPv6 through the relay of the `::` socket) —
 * `::` only if the host can listen on IPv6 (`v6`).
 */
export function bindAddresses(r: PortRequest, target: PortTarget, v6: boolean): string[] {
  if (r.hostIp !== '') return [r.hostIp];
  const def = target.defaultHostIp ?? '';
  if (def !== '' && def !== '0.0.0.0') return [def];
  return v6 ? ['', '::'] : [''];
}

interface Held {
  owner: string;
  close: () => void;
}

/**
 * Host port reservations held by the daemon. One instance per daemon. Indexed by port and by
 * owner, so reserving or releasing one port costs the same however many are held.
 */
export class PortReservations {
  private readonly held = new Map<string, Held>(); // `${proto}/${hostIp}/${port}`
  private readonly byPort = new Map<string, Set<string>>(); // `${proto}/${port}` → host IPs
  private readonly byOwner = new Map<string, Set<string>>(); // owner → keys of `held`
  private cursor = 0;
  private v6?: Promise<boolean>;

  constructor(private readonly rangeFile = '/proc/sys/net/ipv4/ip_local_port_range') {}

  private ephemeralRange(): [number, number] {
    try {
      const [a, b] = fs.readFileSync(this.rangeFile, 'utf8').trim().split(/\s+/).map(Number);
      if (a && b && a <= b) return [a, b];
    } catch {
      /* default below */
    }
    return [32768, 60999];
  }

  private hold(proto: string, ip: string, port: number, h: Held): void {
    const k = `${proto}/${ip}/${port}`;
    this.held.set(k, h);
    const pk = `${proto}/${port}`;
    this.byPort.set(pk, (this.byPort.get(pk) ?? new Set()).add(ip));
    this.byOwner.set(h.owner, (this.byOwner.get(h.owner) ?? new Set()).add(k));
  }

  private conflicts(proto: string, hostIp: string, port: number): string | undefined {
    for (const ip of this.byPort.get(`${proto}/${port}`) ?? []) {
      if (!hostIp || !ip || ip === hostIp || ip === '0.0.0.0' || hostIp === '0.0.0.0' || ip === '::' || hostIp === '::')
        return this.held.get(`${proto}/${ip}/${port}`)?.owner;
    }
    return undefined;
  }

  /**
   * Whether this host can listen on IPv6 (moby's `IsV6Listenable`: a listen on `[::1]:0`), asked
   * once per daemon: a kernel booted with `ipv6.disable=1` gets no implicit `::` bindings.
   */
  private v6Listenable(): Promise<boolean> {
    this.v6 ??= new Promise((resolve) => {
      const probe = net.createServer();
      probe.once('error', () => resolve(false));
      probe.listen({ host: '::1', port: 0, ipv6Only: true }, () => probe.close(() => resolve(true)));
    });
    return this.v6;
  }

  /**
   * Reserve host ports for all requests of one owner; all or nothing. A request with no host IP
   * is bound on 0.0.0.0 and `::` with the same port (`bindAddresses`: two mappings, as Docker's
   * 0.0.0.0 + [::]). Sockets on IPv6 addresses relay what reaches them to the target
   * (port-proxy.ts).
   */
  async reserve(owner: string, requests: PortRequest[], target: PortTarget = {}): Promise<PortMapping[]> {
    const done: PortMapping[] = [];
    try {
      const v6 = requests.some((r) => r.hostIp === '') && (await this.v6Listenable());
      for (const r of requests) {
        done.push(...(await this.reserveOne(owner, r, bindAddresses(r, target, v6), target)));
      }
    } catch (err) {
      this.release(owner);
      throw err;
    }
    return done;
  }

  private async reserveOne(owner: string, r: PortRequest, hostIps: string[], target: PortTarget): Promise<PortMapping[]> {
    const candidates: number[] = [];
    if (r.hostPortStart) {
      for (let p = r.hostPortStart; p <= r.hostPortEnd; p++) candidates.push(p);
    } else {
      const [lo, hi] = this.ephemeralRange();
      const span = hi - lo + 1;
      const start = this.cursor % span;
      for (let i = 0; i < span && candidates.length < 200; i++) candidates.push(lo + ((start + i) % span));
    }
    let lastErr = '';
    // the address the last refusal was on: with 0.0.0.0 and `::`, either may be the taken one
    let lastIp = r.hostIp;
    for (const port of candidates) {
      const taken = hostIps.find((ip) => this.conflicts(r.proto, ip, port) !== undefined);
      if (taken !== undefined) {
        const other = this.conflicts(r.proto, taken, port);
        lastErr = `already allocated to ${other === owner ? 'this container' : 'another container'}`;
        lastIp = taken;
        continue;
      }
      let bound: Array<[string, () => void]>;
      try {
        bound = await bindAll(r.proto, r.containerPort, port, hostIps, target, (ip) => {
          lastIp = ip;
        });
      } catch (err) {
        lastErr =
          (err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'already in use by another process' : (err as Error).message;
        continue;
      }
      for (const [ip, close] of bound) this.hold(r.proto, ip, port, { owner, close });
      if (!r.hostPortStart) this.cursor = port - this.ephemeralRange()[0] + 1;
      return hostIps.map((ip) => ({ proto: r.proto, hostIp: ip, hostPort: port, containerPort: r.containerPort }));
    }
    const host = lastIp.includes(':') ? `[${lastIp}]` : lastIp || '0.0.0.0';
    const where = `${host}:${r.hostPortStart ? (r.hostPortStart === r.hostPortEnd ? r.hostPortStart : `${r.hostPortStart}-${r.hostPortEnd}`) : '(any)'}/${r.proto}`;
    throw new TsnetError(
      'TSNET_PORT_IN_USE',
      `cannot publish ${where} for container port ${r.containerPort}: ${lastErr || 'no free port'}; choose another host port`,
    );
  }

  /**
   * Take over ports published before a daemon restart (bind them again): a `0.0.0.0` + `::`
   * pair as `reserve` binds it, one dual-stack socket held as the `0.0.0.0` one.
   */
  async adopt(owner: string, mappings: PortMapping[], target: PortTarget = {}): Promise<void> {
    const v6 = new Set(mappings.filter((m) => m.hostIp === '::').map((m) => `${m.proto}/${m.hostPort}`));
    const paired = new Set<string>();
    for (const m of mappings) {
      const at = `${m.proto}/${m.hostPort}`;
      if (this.held.has(`${m.proto}/${m.hostIp}/${m.hostPort}`) || (m.hostIp === '::' && paired.has(at))) continue;
      try {
        const hostIps = m.hostIp === '' && v6.has(at) ? ['', '::'] : [m.hostIp];
        for (const [ip, close] of await bindAll(m.proto, m.containerPort, m.hostPort, hostIps, target)) {
          this.hold(m.proto, ip, m.hostPort, { owner, close });
          if (ip === '' && hostIps.length === 2) paired.add(at);
        }
      } catch {
        /* taken meanwhile by someone else: the DNAT rule still wins for traffic */
      }
    }
  }

  release(owner: string): void {
    for (const k of this.byOwner.get(owner) ?? []) {
      this.held.get(k)?.close();
      this.held.delete(k);
      const [proto, ip, port] = k.split('/') as [string, string, string];
      const ips = this.byPort.get(`${proto}/${port}`);
      ips?.delete(ip);
      if (ips?.size === 0) this.byPort.delete(`${proto}/${port}`);
    }
    this.byOwner.delete(owner);
  }
}

/**
 * What a socket bound on `hostIp` relays to: IPv6 bindings go to the target's IPv6 address (else
 * its IPv4 one, the 6-to-4 case Docker's proxy also serves); IPv4 bindings relay nothing (the
 * kernel DNATs all of their traffic, 127.0.0.1 included through route_localnet).
 */
function relayTarget(hostIp: string, target: PortTarget, containerPort: number): ProxyTarget | undefined {
  if (!hostIp.includes(':')) return undefined;
  return () => {
    const host = target.ipv6 ?? target.ipv4;
    return host ? { host, port: containerPort } : undefined;
  };
}

/**
 * Bind one port on every address of `hostIps`, all or none: the holds to keep, by host IP;
 * `trying` is told each address before its bind (the last one told is the one a failure was
 * on). `0.0.0.0` with `::` is one dual-stack socket on `::`, held as `0.0.0.0`'s (a port costs
 * one socket and one hold, as before IPv4-only containers got their `::` binding): the kernel
 * DNATs every IPv4 connection before it reaches a socket, so what it accepts is IPv6, relayed as
 * the `::` binding's. When that bind fails, the two are bound one at a time to find which one is
 * taken.
 */
async function bindAll(
  proto: PortRequest['proto'],
  containerPort: number,
  port: number,
  hostIps: string[],
  target: PortTarget,
  trying: (ip: string) => void = () => undefined,
): Promise<Array<[string, () => void]>> {
  if (hostIps.length === 2 && hostIps[0] === '' && hostIps[1] === '::') {
    try {
      trying('::');
      // held as the `0.0.0.0` one alone: a hold with no host IP conflicts with every address
      return [['', await bindPort(proto, '::', port, relayTarget('::', target, containerPort), true)]];
    } catch {
      /* one at a time below */
    }
  }
  const bound: Array<[string, () => void]> = [];
  try {
    for (const ip of hostIps) {
      trying(ip);
      bound.push([ip, await bindPort(proto, ip, port, relayTarget(ip, target, containerPort))]);
    }
  } catch (err) {
    for (const [, close] of bound) close();
    throw err;
  }
  return bound;
}

/**
 * Bind (and for TCP listen on) the port so nobody else can; with `relay`, what reaches the
 * socket is relayed there; `dualStack`: an IPv6 socket that takes IPv4 too. Returns how to let
 * it go.
 */
function bindPort(
  proto: 'tcp' | 'udp' | 'sctp',
  hostIp: string,
  port: number,
  relay?: ProxyTarget,
  dualStack = false,
): Promise<() => void> {
  const v6 = hostIp.includes(':');
  const address = hostIp || '0.0.0.0';
  const ipv6Only = v6 && !dualStack;
  if (proto === 'udp') {
    return new Promise((resolve, reject) => {
      const s = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only });
      s.once('error', reject);
      s.bind({ address, port, exclusive: true }, () => {
        s.removeListener('error', reject);
        s.on('error', () => undefined);
        const stopRelay = relay ? udpRelay(s, relay) : () => undefined;
        resolve(() => {
          stopRelay();
          s.close();
        });
      });
    });
  }
  // sctp is reserved like tcp (the kernel keeps separate port spaces; good enough to catch tsnet's own conflicts)
  return new Promise((resolve, reject) => {
    const tcp = relay && proto === 'tcp' ? tcpRelay(relay) : undefined;
    const srv = net.createServer({ allowHalfOpen: true }, tcp ? tcp.onConnection : (c) => c.destroy());
    srv.once('error', reject);
    srv.listen({ host: address, port, exclusive: true, ipv6Only }, () => {
      srv.removeListener('error', reject);
      srv.on('error', () => undefined);
      resolve(() => {
        tcp?.closeAll();
        srv.close();
      });
    });
  });
}
