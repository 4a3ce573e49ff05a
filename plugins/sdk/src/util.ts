/** Small helpers plugin authors keep rewriting: reading Docker's option maps. */
import { OPT_EXPOSED_PORTS, OPT_GENERIC, OPT_PORTMAP, type PortBinding, type TransportPort } from './types.js';

/** The user's `-o k=v` options of a CreateNetwork request (com.docker.network.generic). */
export function genericOptions(options: Record<string, unknown>): Record<string, string> {
  const g = options[OPT_GENERIC];
  const out: Record<string, string> = {};
  if (g === null || typeof g !== 'object' || Array.isArray(g)) return out;
  for (const [k, v] of Object.entries(g)) if (v !== null && v !== undefined) out[k] = typeof v === 'string' ? v : String(v);
  return out;
}

const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 132: 'sctp' };

export function protoName(proto: number): string {
  return PROTO_NAMES[proto] ?? String(proto);
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v ?? 0) || 0;
}

function s(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** Published ports (com.docker.network.portmap) from Join / ProgramExternalConnectivity / CreateEndpoint options. */
export function portMap(options: Record<string, unknown>): PortBinding[] {
  const v = options[OPT_PORTMAP];
  if (!Array.isArray(v)) return [];
  return v
    .filter((p): p is Record<string, unknown> => p !== null && typeof p === 'object')
    .map((p) => ({
      Proto: num(p.Proto),
      IP: s(p.IP),
      Port: num(p.Port),
      HostIP: s(p.HostIP),
      HostPort: num(p.HostPort),
      HostPortEnd: num(p.HostPortEnd),
    }));
}

/** Exposed ports (com.docker.network.endpoint.exposedports). */
export function exposedPorts(options: Record<string, unknown>): TransportPort[] {
  const v = options[OPT_EXPOSED_PORTS];
  if (!Array.isArray(v)) return [];
  return v
    .filter((p): p is Record<string, unknown> => p !== null && typeof p === 'object')
    .map((p) => ({ Proto: num(p.Proto), Port: num(p.Port) }));
}

/** A short, stable interface name from an id: prefix + first hex chars, at most 15 bytes (IFNAMSIZ). */
export function ifaceName(prefix: string, id: string): string {
  const room = 15 - prefix.length;
  if (room < 4) throw new Error(`interface prefix ${JSON.stringify(prefix)} is too long`);
  return prefix + id.replace(/[^0-9a-zA-Z]/g, '').slice(0, room);
}
