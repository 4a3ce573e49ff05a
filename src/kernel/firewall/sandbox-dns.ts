/** Validation of SandboxDns input, shared by the backends. Pure. */
import { TsnetError } from '../../errors/index.js';
import { parseIp } from './addr.js';
import type { SandboxDns } from './firewall-api.js';

export function checkSandboxDns(s: SandboxDns): void {
  const bad = (m: string) => new TsnetError('TSNET_INVALID_ARGUMENT', `firewall: sandbox DNS: ${m}`);
  if (s === null || typeof s !== 'object') throw bad('spec must be an object');
  if (typeof s.netns !== 'string' || !s.netns.startsWith('/') || /[\s"\\]/.test(s.netns))
    throw bad(`bad netns ${JSON.stringify(s.netns)}`);
  if (parseIp(String(s.resolverIp))?.family !== 4) throw bad(`resolver IP must be IPv4, got ${JSON.stringify(s.resolverIp)}`);
  for (const [what, port] of [
    ['UDP', s.udpPort],
    ['TCP', s.tcpPort],
  ] as const) {
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw bad(`resolver ${what} port must be 1-65535, got ${String(port)}`);
  }
}
