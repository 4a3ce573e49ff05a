/**
 * The NAT rules inside a container's netns that send 127.0.0.11:53 to the resolver's random
 * ports (as Docker does, in chains of tsnet's own), so processes in the container can still
 * bind port 53 themselves. Pure: returns `iptables-restore --noflush` input; the daemon runs it
 * inside the netns in one exec.
 *
 * Declaring a chain in --noflush input flushes it, so re-applying with new ports (a restarted
 * daemon starting a new resolver for a live container) replaces the DNAT/SNAT rules in place.
 * The jumps from OUTPUT/POSTROUTING are built-in chains and would be duplicated; pass
 * `{ jumps: false }` when they already exist (`sandboxJumpsPresent(iptables-save -t nat)`).
 */
import { TsnetError } from '../../../errors/index.js';

export const RESOLVER_IP = '127.0.0.11';
export const DNS_PORT = 53;
export const DNS_OUTPUT_CHAIN = 'TSNET-DNS-OUTPUT';
export const DNS_POSTROUTING_CHAIN = 'TSNET-DNS-POSTROUTING';

const JUMP_OUTPUT = `OUTPUT -d ${RESOLVER_IP}/32 -j ${DNS_OUTPUT_CHAIN}`;
const JUMP_POSTROUTING = `POSTROUTING -s ${RESOLVER_IP}/32 -j ${DNS_POSTROUTING_CHAIN}`;

function checkPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `resolver ${what} port must be 1-65535, got ${String(port)}`);
  }
}

export function sandboxRules(udpPort: number, tcpPort: number, opts: { jumps?: boolean } = {}): string {
  checkPort(udpPort, 'UDP');
  checkPort(tcpPort, 'TCP');
  const ip = `${RESOLVER_IP}/32`;
  const lines = ['*nat', `:${DNS_OUTPUT_CHAIN} - [0:0]`, `:${DNS_POSTROUTING_CHAIN} - [0:0]`];
  if (opts.jumps ?? true) lines.push(`-I ${JUMP_OUTPUT}`, `-I ${JUMP_POSTROUTING}`);
  for (const [proto, port] of [
    ['udp', udpPort],
    ['tcp', tcpPort],
  ] as const) {
    lines.push(
      `-A ${DNS_OUTPUT_CHAIN} -d ${ip} -p ${proto} -m ${proto} --dport ${DNS_PORT} -j DNAT --to-destination ${RESOLVER_IP}:${port}`,
    );
  }
  for (const [proto, port] of [
    ['udp', udpPort],
    ['tcp', tcpPort],
  ] as const) {
    lines.push(`-A ${DNS_POSTROUTING_CHAIN} -s ${ip} -p ${proto} -m ${proto} --sport ${port} -j SNAT --to-source :${DNS_PORT}`);
  }
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** Whether `iptables-save -t nat` output (from the container netns) already has both jumps. */
export function sandboxJumpsPresent(iptablesSave: string): boolean {
  const rules = new Set(iptablesSave.split('\n').map((l) => l.trim().replace(/\s+/g, ' ')));
  return rules.has(`-A ${JUMP_OUTPUT}`) && rules.has(`-A ${JUMP_POSTROUTING}`);
}
