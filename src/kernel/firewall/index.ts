/**
 * Firewall backends behind one interface (style.md H4). The daemon picks one at start-up and
 * passes it down; nothing here is a module-level singleton.
 */
export type {
  FirewallBackend,
  FirewallExpected,
  FirewallNetwork,
  FirewallPorts,
  PortMapping,
  PortProto,
  ReconcileResult,
  RemoveAllOptions,
  SandboxDns,
} from './firewall-api.js';
export { createIptablesFirewall, type IptablesFirewallOptions } from './iptables/iptables-firewall.js';
export type { CommandInfo } from './iptables/restore.js';
export { createNoneFirewall } from './none.js';
export { createNftablesFirewall, type NftablesFirewallOptions } from './nftables/nftables-firewall.js';
export type { BatchInfo } from './nftables/runner.js';
export { createLowFdSlots, reserveLowFds, type LowFdSlots } from './nftables/low-fds.js';
