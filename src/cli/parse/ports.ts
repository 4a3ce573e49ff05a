/**
 * `-p/--publish`, `--expose` → Config.ExposedPorts and HostConfig.PortBindings, the way
 * the docker CLI does it (go-connections nat.ParsePortSpec):
 *
 *   [ip:][hostPort[-end]:]containerPort[-end][/proto]
 *
 *   80                   container port 80/tcp on a random host port, all addresses
 *   8080:80              host 8080 → container 80
 *   127.0.0.1:8080:80    bound to one address;  127.0.0.1::80  random host port
 *   [::1]:8080:80/udp    IPv6 in brackets (or bare: ::1:8080:80)
 *   8000-8001:80-81      ranges of the same length map one to one
 *   8000-8010:80         one container port, the host port picked from the range
 *   proto: tcp (default), udp, sctp
 */
import { isIP } from 'node:net';

export interface PortBinding {
  HostIp: string;
  HostPort: string;
}

export interface PortMapping {
  /** `80/tcp` */
  port: string;
  binding: PortBinding;
}

export interface PublishedPorts {
  ExposedPorts: Record<string, Record<string, never>>;
  PortBindings: Record<string, PortBinding[]>;
}

const PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);

/** Split `containerPort[/proto]`; the protocol defaults to tcp. */
function splitProto(raw: string): { port: string; proto: string } {
  const slash = raw.indexOf('/');
  if (slash === -1) return { port: raw, proto: 'tcp' };
  const proto = raw.slice(slash + 1).toLowerCase();
  return { port: raw.slice(0, slash), proto: proto === '' ? 'tcp' : proto };
}

function checkProto(proto: string): void {
  if (!PROTOCOLS.has(proto)) throw new Error(`invalid protocol ${JSON.stringify(proto)}: use tcp, udp or sctp`);
}

/** `80` or `80-90` → [start, end]; throws with `what` in the message. */
export function parsePortRange(raw: string, what: string, allowZero = false): [number, number] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(raw);
  if (!m) throw new Error(`invalid ${what} ${JSON.stringify(raw)}`);
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  const min = allowZero ? 0 : 1;
  if (start < min || start > 65535 || end < min || end > 65535) {
    throw new Error(`invalid ${what} ${JSON.stringify(raw)}: ports are ${min}-65535`);
  }
  if (end < start) throw new Error(`invalid ${what} ${JSON.stringify(raw)}: the range ends before it starts`);
  return [start, end];
}

/** Split on colons from the right: the IP (which may contain colons) is what is left. */
function splitParts(spec: string): { ip: string; host: string; container: string } {
  const parts = spec.split(':');
  const n = parts.length;
  const container = parts[n - 1]!;
  if (n === 1) return { ip: '', host: '', container };
  if (n === 2) return { ip: '', host: parts[0]!, container };
  return { ip: parts.slice(0, n - 2).join(':'), host: parts[n - 2]!, container };
}

/** One `-p` value → its mappings (several for a range). */
export function parsePortSpec(spec: string): PortMapping[] {
  if (spec.trim() === '') throw new Error('empty port specification');
  const parts = splitParts(spec);
  let ip = parts.ip;
  const { port: containerPart, proto } = splitProto(parts.container);
  if (ip.startsWith('[')) {
    if (!ip.endsWith(']')) throw new Error(`invalid IP address ${JSON.stringify(ip)}: missing ']'`);
    ip = ip.slice(1, -1);
  }
  if (ip !== '' && isIP(ip) === 0) throw new Error(`invalid IP address ${JSON.stringify(ip)}`);
  if (containerPart === '') throw new Error('no container port specified');
  const [start, end] = parsePortRange(containerPart, 'container port');
  let hostStart = 0;
  let hostEnd = 0;
  if (parts.host !== '') [hostStart, hostEnd] = parsePortRange(parts.host, 'host port', true);
  if (parts.host !== '' && end - start !== hostEnd - hostStart && end !== start) {
    throw new Error(`the container port range ${containerPart} and the host port range ${parts.host} have different lengths`);
  }
  checkProto(proto);
  const out: PortMapping[] = [];
  for (let i = 0; i <= end - start; i++) {
    let hostPort = '';
    if (parts.host !== '') {
      hostPort = start === end && hostStart !== hostEnd ? `${hostStart}-${hostEnd}` : String(hostStart + i);
    }
    out.push({ port: `${start + i}/${proto}`, binding: { HostIp: ip, HostPort: hostPort } });
  }
  return out;
}

/** `--expose 80`, `--expose 8000-8010/udp`: no host side allowed. */
export function parseExpose(spec: string): string[] {
  if (spec.includes(':')) throw new Error('a port to expose cannot have a host part (use -p to publish)');
  const { port, proto } = splitProto(spec);
  const [start, end] = parsePortRange(port, 'port');
  checkProto(proto);
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${proto}`);
  return out;
}

/**
 * All `-p` and `--expose` values → the two API maps. `onError(spec, flag, reason)` builds
 * the error to throw for a bad value.
 */
export function buildPorts(
  publish: string[],
  expose: string[],
  onError: (spec: string, flag: string, reason: string) => Error,
): PublishedPorts {
  const ExposedPorts: PublishedPorts['ExposedPorts'] = {};
  const PortBindings: PublishedPorts['PortBindings'] = {};
  for (const spec of publish) {
    let mappings: PortMapping[];
    try {
      mappings = parsePortSpec(spec);
    } catch (err) {
      throw onError(spec, '-p, --publish', (err as Error).message);
    }
    for (const m of mappings) {
      ExposedPorts[m.port] = {};
      const list = PortBindings[m.port] ?? [];
      list.push(m.binding);
      PortBindings[m.port] = list;
    }
  }
  for (const spec of expose) {
    let ports: string[];
    try {
      ports = parseExpose(spec);
    } catch (err) {
      throw onError(spec, '--expose', (err as Error).message);
    }
    for (const p of ports) ExposedPorts[p] = {};
  }
  return { ExposedPorts, PortBindings };
}
