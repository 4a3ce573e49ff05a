/**
 * A fake firewall for unit tests of other layers (style.md H4, like moby's firewaller stub):
 * records every call, keeps what is programmed, and — in strict mode, the default — fails on
 * unbalanced calls: tearing down a network that was never set up (or that still has published
 * ports), removing ports that were never added, setting up or publishing twice. Input is
 * validated exactly like the real backends. Faults can be injected with failNext().
 */
import { TsnetError } from '../../errors/index.js';
import type {
  FirewallBackend,
  FirewallExpected,
  FirewallNetwork,
  FirewallPorts,
  ReconcileResult,
  RemoveAllOptions,
  SandboxDns,
} from './firewall-api.js';
import { checkSandboxDns } from './sandbox-dns.js';
import { normalizeNetwork, normalizePorts } from './validate.js';

export type FirewallOp =
  | 'init'
  | 'setupNetwork'
  | 'teardownNetwork'
  | 'addPorts'
  | 'removePorts'
  | 'reconcile'
  | 'removeAll'
  | 'sandboxDns';

export type FirewallCall =
  | { op: 'init' }
  | { op: 'setupNetwork'; network: FirewallNetwork }
  | { op: 'teardownNetwork'; network: FirewallNetwork }
  | { op: 'addPorts'; ports: FirewallPorts }
  | { op: 'removePorts'; ports: FirewallPorts }
  | { op: 'reconcile'; expected: FirewallExpected }
  | { op: 'removeAll'; options: RemoveAllOptions }
  | { op: 'sandboxDns'; dns: SandboxDns };

export interface RecordingFirewallOptions {
  /** Fail on unbalanced calls (default true). */
  strict?: boolean;
}

function unbalanced(message: string): TsnetError {
  return new TsnetError('TSNET_INTERNAL', `recording firewall: ${message}`);
}

export class RecordingFirewall implements FirewallBackend {
  readonly name = 'recording';
  readonly calls: FirewallCall[] = [];
  private readonly strict: boolean;
  private readonly networks = new Map<string, FirewallNetwork>();
  /** Keyed by endpoint id and family of the container IP. */
  private readonly ports = new Map<string, FirewallPorts>();
  private readonly faults = new Map<FirewallOp, unknown[]>();

  constructor(options: RecordingFirewallOptions = {}) {
    this.strict = options.strict !== false;
  }

  /** Make the next call of `op` throw `error` (default: a TSNET_FIREWALL error) after recording it. */
  failNext(op: FirewallOp, error: unknown = new TsnetError('TSNET_FIREWALL', `${op}: injected failure`)): void {
    this.faults.set(op, [...(this.faults.get(op) ?? []), error]);
  }

  /** Networks currently set up. */
  activeNetworks(): FirewallNetwork[] {
    return [...this.networks.values()];
  }

  /** Port sets currently published. */
  activePorts(): FirewallPorts[] {
    return [...this.ports.values()];
  }

  /** Calls of one kind, in order. */
  callsOf<O extends FirewallOp>(op: O): Array<Extract<FirewallCall, { op: O }>> {
    return this.calls.filter((c): c is Extract<FirewallCall, { op: O }> => c.op === op);
  }

  /** Throws unless every setupNetwork/addPorts was undone. */
  assertBalanced(): void {
    const left = [...this.networks.keys()].map((id) => `network ${id}`).concat([...this.ports.keys()].map((k) => `ports ${k}`));
    if (left.length > 0) throw unbalanced(`still programmed: ${left.join(', ')}`);
  }

  private record(call: FirewallCall): void {
    this.calls.push(structuredClone(call));
    const queue = this.faults.get(call.op);
    if (queue && queue.length > 0) throw queue.shift();
  }

  private portsKey(p: FirewallPorts): string {
    return `${p.endpointId}/v${normalizePorts(p).family}`;
  }

  async init(): Promise<void> {
    this.record({ op: 'init' });
  }

  async setupNetwork(n: FirewallNetwork): Promise<void> {
    normalizeNetwork(n);
    this.record({ op: 'setupNetwork', network: n });
    if (this.strict && this.networks.has(n.id)) throw unbalanced(`setupNetwork(${n.id}) twice`);
    this.networks.set(n.id, structuredClone(n));
  }

  async teardownNetwork(n: FirewallNetwork): Promise<void> {
    normalizeNetwork(n);
    this.record({ op: 'teardownNetwork', network: n });
    if (this.strict) {
      if (!this.networks.has(n.id)) throw unbalanced(`teardownNetwork(${n.id}) without setupNetwork`);
      const published = [...this.ports.values()].filter((p) => p.networkId === n.id);
      if (published.length > 0) {
        throw unbalanced(
          `teardownNetwork(${n.id}) while endpoints still publish ports: ${published.map((p) => p.endpointId).join(', ')}`,
        );
      }
    }
    this.networks.delete(n.id);
  }

  async addPorts(p: FirewallPorts): Promise<void> {
    const key = this.portsKey(p);
    this.record({ op: 'addPorts', ports: p });
    if (this.strict && this.ports.has(key)) throw unbalanced(`addPorts(${key}) twice`);
    this.ports.set(key, structuredClone(p));
  }

  async removePorts(p: FirewallPorts): Promise<void> {
    const key = this.portsKey(p);
    this.record({ op: 'removePorts', ports: p });
    if (this.strict && !this.ports.has(key)) throw unbalanced(`removePorts(${key}) without addPorts`);
    this.ports.delete(key);
  }

  /** Replaces the recorded state with `expected`; counts objects (networks, port sets), not rules. */
  async reconcile(expected: FirewallExpected): Promise<ReconcileResult> {
    expected.networks.forEach(normalizeNetwork);
    expected.ports.forEach(normalizePorts);
    this.record({ op: 'reconcile', expected });
    const wantNets = new Map(expected.networks.map((n) => [n.id, n]));
    const wantPorts = new Map(expected.ports.map((p) => [this.portsKey(p), p]));
    let removed = 0;
    let added = 0;
    for (const id of this.networks.keys()) if (!wantNets.has(id)) removed++;
    for (const k of this.ports.keys()) if (!wantPorts.has(k)) removed++;
    for (const id of wantNets.keys()) if (!this.networks.has(id)) added++;
    for (const k of wantPorts.keys()) if (!this.ports.has(k)) added++;
    this.networks.clear();
    this.ports.clear();
    for (const [id, n] of wantNets) this.networks.set(id, structuredClone(n));
    for (const [k, p] of wantPorts) this.ports.set(k, structuredClone(p));
    return { removed, added };
  }

  async removeAll(options: RemoveAllOptions = {}): Promise<void> {
    this.record({ op: 'removeAll', options });
    this.networks.clear();
    this.ports.clear();
  }

  async sandboxDns(dns: SandboxDns): Promise<void> {
    checkSandboxDns(dns);
    this.record({ op: 'sandboxDns', dns });
  }
}

export function createRecordingFirewall(options?: RecordingFirewallOptions): RecordingFirewall {
  return new RecordingFirewall(options);
}
