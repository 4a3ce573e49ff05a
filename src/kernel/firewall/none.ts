/**
 * The no-op firewall backend: for hosts where tsnet must not touch the firewall
 * (`tsnetd --firewall none`). Input is still validated, so a caller's mistakes show up the same
 * way with every backend.
 */
import type {
  FirewallBackend,
  FirewallExpected,
  FirewallNetwork,
  FirewallPorts,
  ReconcileResult,
  SandboxDns,
} from './firewall-api.js';
import { checkSandboxDns } from './sandbox-dns.js';
import { normalizeNetwork, normalizePorts } from './validate.js';

export function createNoneFirewall(): FirewallBackend {
  return {
    name: 'none',
    async init() {},
    async setupNetwork(n: FirewallNetwork) {
      normalizeNetwork(n);
    },
    async teardownNetwork(n: FirewallNetwork) {
      normalizeNetwork(n);
    },
    async addPorts(p: FirewallPorts) {
      normalizePorts(p);
    },
    async removePorts(p: FirewallPorts) {
      normalizePorts(p);
    },
    async reconcile(expected: FirewallExpected): Promise<ReconcileResult> {
      expected.networks.forEach(normalizeNetwork);
      expected.ports.forEach(normalizePorts);
      return { removed: 0, added: 0 };
    },
    async removeAll() {},
    async sandboxDns(s: SandboxDns) {
      checkSandboxDns(s);
    },
  };
}
