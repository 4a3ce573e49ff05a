/** The iptables text of the embedded resolver's sandbox rules now lives with the iptables backend. */
export {
  DNS_OUTPUT_CHAIN,
  DNS_PORT,
  DNS_POSTROUTING_CHAIN,
  RESOLVER_IP,
  sandboxJumpsPresent,
  sandboxRules,
} from '../../kernel/firewall/iptables/sandbox-rules.js';
