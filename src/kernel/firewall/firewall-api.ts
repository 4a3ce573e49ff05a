/**
 * The firewall layer's one interface (style.md H4): plain values in (ids, bridge names, CIDRs,
 * ports), nothing about containers or networks as objects. Backends: iptables (via
 * iptables-restore), nftables (libnftables in-process, or `nft -f`) and none (no-op).
 *
 * Contract shared by every backend:
 * - Every call validates all its input before touching the kernel (DESIGN rule 1) and throws
 *   TsnetError('TSNET_INVALID_ARGUMENT', …) on bad input.
 * - A failed add leaves nothing of itself behind; deletes (teardownNetwork, removePorts) are
 *   idempotent and succeed when there is nothing to delete.
 * - Kernel failures are TsnetError('TSNET_FIREWALL', '<what>: <first stderr line>').
 * - Operations are queued in call order (the queue is entered before the first await), so a
 *   caller may start a removal without waiting for it: an add or teardown called later runs after.
 */

export type PortProto = 'tcp' | 'udp' | 'sctp';

export interface FirewallNetwork {
  /** Network id; its first 12 characters name the rules (comment `tsnet:<id12>`). */
  id: string;
  /** Bridge interface name (≤ 15 characters). */
  bridge: string;
  /** IPv4 and/or IPv6 subnets. Rules are programmed for each family that has a subnet. */
  subnets: string[];
  /** No traffic in or out of the bridge except between its own ports (and to/from the host). */
  internal: boolean;
  /** Inter-container communication on the same bridge. */
  icc: boolean;
  /** MASQUERADE (or SNAT, see hostBindingIpv4) of the IPv4 subnets leaving not via the bridge. */
  masquerade: boolean;
  /** Also masquerade the IPv6 subnets (NAT66). Off by default, as in Docker. */
  masqueradeIpv6?: boolean;
  /**
   * Host IPv4 address used as the source of outgoing traffic: `SNAT --to-source <ip>` instead of
   * MASQUERADE (Docker's `com.docker.network.host_ipv4`). '' or '0.0.0.0' = unset. The default
   * *binding* address of published ports is resolved by the caller into mappings[].hostIp.
   */
  hostBindingIpv4?: string;
  /**
   * The host's own addresses on the bridge (the gateways, no prefix). Given (an empty list too),
   * traffic between two addresses of one subnet on the bridge skips conntrack in the host netns
   * (`notrack`), unless it goes to one of these or to the subnet's network/broadcast address:
   * bridged container ↔ container traffic needs no NAT and no connection state (ICC is decided
   * by the interface alone), and its conntrack lookups cost ~2 % of an iperf3 stream's CPU.
   * Omitted: everything stays tracked.
   */
  hostAddresses?: string[];
}

export interface PortMapping {
  proto: PortProto;
  /** '' / '0.0.0.0' / '::' / undefined = every local address of the container IP's family. */
  hostIp?: string;
  hostPort: number;
  /** Inclusive end of a host port range. */
  hostPortEnd?: number;
  containerPort: number;
  /**
   * Inclusive end of a container port range; must span as many ports as the host range
   * (mapped one to one). A host range without it maps every host port to containerPort.
   */
  containerPortEnd?: number;
}

export interface FirewallPorts {
  networkId: string;
  endpointId: string;
  bridge: string;
  /** One address; its family selects iptables or ip6tables. Call once per family. */
  containerIp: string;
  mappings: PortMapping[];
}

export interface FirewallExpected {
  networks: FirewallNetwork[];
  ports: FirewallPorts[];
}

export interface ReconcileResult {
  /** Rules deleted (orphans and rules that differ from the expected state). */
  removed: number;
  /** Rules (re-)added. */
  added: number;
}

export interface RemoveAllOptions {
  /**
   * Also delete TSNET-USER (the admin's own chain) when it holds rules. Default false: a
   * non-empty TSNET-USER and its FORWARD jump are kept; an empty one is deleted.
   */
  includeUserChain?: boolean;
}

/**
 * The embedded resolver's NAT inside a container's network namespace: queries to
 * resolverIp:53 (udp and tcp) go to the resolver's own ports, and its answers leave from port 53,
 * so the container can still bind port 53 itself (as Docker does).
 */
export interface SandboxDns {
  /** The sandbox's netns file. */
  netns: string;
  /** 127.0.0.11 */
  resolverIp: string;
  udpPort: number;
  tcpPort: number;
  /** A sandbox that never had the rules (lets the iptables backend skip a save). */
  fresh?: boolean;
}

export interface FirewallBackend {
  /** Backend name, for logs: 'iptables', 'nftables', 'none'. */
  readonly name: string;
  /**
   * Idempotent: create tsnet's chains and the jumps into them from the built-in chains.
   * Never flushes TSNET-USER, never touches chains tsnet did not create.
   */
  init(): Promise<void>;
  /** Network-level rules for every family the network has a subnet of. */
  setupNetwork(n: FirewallNetwork): Promise<void>;
  /**
   * Idempotent. Removes the network-level rules; published ports must be removed first
   * (leftover port rules of a torn-down network are swept by reconcile()).
   */
  teardownNetwork(n: FirewallNetwork): Promise<void>;
  /**
   * Program the published ports of one endpoint for the family of containerIp, replacing any
   * earlier set for that endpoint and family. One kernel transaction per call.
   */
  addPorts(p: FirewallPorts): Promise<void>;
  /** Idempotent. Removes every published port of the endpoint for the family of containerIp. */
  removePorts(p: FirewallPorts): Promise<void>;
  /**
   * After a daemon restart: make the kernel match `expected` — re-add what is missing, delete
   * tsnet rules and chains that `expected` does not explain. TSNET-USER is left alone.
   */
  reconcile(expected: FirewallExpected): Promise<ReconcileResult>;
  /** Delete every tsnet chain and jump (tests, `tsnetd --cleanup`). */
  removeAll(options?: RemoveAllOptions): Promise<void>;
  /**
   * Program (or re-program, replacing earlier ports) the embedded resolver's port mapping in a
   * sandbox netns. One kernel transaction: a table `netdev tsnet-dns` on lo's ingress through
   * libnftables (both backends; ../nftables/sandbox-dns.ts), or, on the iptables backend
   * without libnftables, NAT rules by iptables-restore in the netns.
   */
  sandboxDns(s: SandboxDns): Promise<void>;
  /**
   * True when sandboxDns of a fresh sandbox programs exactly the nft batch of
   * nftables/sandbox-dns.ts (both backends while libnftables loads): a namespace made ahead for
   * a later create may then carry those rules already (src/kernel/netns-worker.ts). Absent: false.
   */
  sandboxDnsIsNftTable?(): boolean;
}
