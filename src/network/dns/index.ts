/**
 * Embedded DNS: one resolver per container sandbox at 127.0.0.11 (see docs/dns.md).
 * The daemon calls startResolver() for a sandbox on a user-defined network, applies
 * sandboxRules(udpPort, tcpPort) inside its netns with one `iptables-restore --noflush`, and
 * closes the resolver when the sandbox goes away.
 */
export { startResolver, createHandler, type Resolver, type ResolverOptions } from './resolver-server.js';
export {
  sandboxRules,
  sandboxJumpsPresent,
  RESOLVER_IP,
  DNS_PORT,
  DNS_OUTPUT_CHAIN,
  DNS_POSTROUTING_CHAIN,
} from './sandbox-rules.js';
export {
  resolveLocal,
  ptrNameToIp,
  ipToPtrName,
  type AddressType,
  type LookupFn,
  type ReverseFn,
  type LocalSource,
  type LocalDecision,
} from './records.js';
export { createForwarder, parseUpstream, formatUpstream, literalLookup, type Forwarder, type Upstream } from './forwarder.js';
export { createTcpBinder, type TcpBinder } from '../../kernel/tcp-socket.js';
export * as dnsMessage from './message.js';
