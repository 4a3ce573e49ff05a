/**
 * The IPAM contract the network controller talks to, in Docker's IpamDriver terms
 * (RequestPool / ReleasePool / RequestAddress / ReleaseAddress). The built-in DefaultIpam
 * implements it; the remote IPAM plugin proxy will implement it over /IpamDriver.* calls.
 *
 * Errors are TsnetErrors: TSNET_BAD_CIDR, TSNET_BAD_GATEWAY, TSNET_BAD_IP,
 * TSNET_SUBNET_OVERLAP, TSNET_POOL_EXHAUSTED, TSNET_ADDRESS_IN_USE, TSNET_INVALID_ARGUMENT.
 */

export interface PoolRequest {
  /** --subnet (canonical CIDR). Absent: the IPAM picks one from its default pools. */
  subnet?: string;
  /** --ip-range: restricts dynamic address allocation; must lie inside the subnet. */
  ipRange?: string;
  /** --gateway (plain IP). Absent: first usable address of the subnet. */
  gateway?: string;
  /** --aux-address name=ip: addresses reserved and never handed out. */
  auxAddresses?: Record<string, string>;
  /** Pick/validate an IPv6 pool. */
  v6: boolean;
  networkId: string;
  /** For messages ("overlaps with network \"frontend\""). */
  networkName: string;
  /**
   * CIDRs in use on the host (on-link routes, nameservers as /32 or /128; see
   * hostAvoidList) that a dynamically chosen subnet must not overlap. An explicit subnet
   * is not checked against them (as in Docker).
   */
  avoid: string[];
  /** --ipam-opt, passed through to remote drivers. */
  options?: Record<string, string>;
}

export interface PoolLease {
  /** Opaque id for the other calls; Docker's form `LocalDefault/10.42.0.0/24[/<ip-range>]`. */
  poolId: string;
  /** Canonical subnet, e.g. 10.42.0.0/24. */
  subnet: string;
  /** Gateway as a plain IP (10.42.0.1). */
  gateway: string;
  ipRange?: string;
  /** Extra driver data (Docker's RequestPool `Data`). */
  data?: Record<string, string>;
}

export interface AddressRequest {
  /** --ip / --ip6: a specific address (plain IP). Absent: the next free one. */
  ip?: string;
  mac?: string;
  /** Who holds the address: the endpoint id. */
  owner: string;
  /** Extra options (Docker's RequestAddress `Options`). */
  options?: Record<string, string>;
}

export interface AddressLease {
  /** The address with the subnet's prefix length, e.g. 10.42.0.2/24 (Docker returns CIDR form). */
  address: string;
  data?: Record<string, string>;
}

export interface IpamDriver {
  /** Driver name as users give it to --ipam-driver ("default" for the built-in one). */
  readonly name: string;
  requestPool(request: PoolRequest): Promise<PoolLease>;
  /** Frees the pool with every address in it. Unknown pool: no-op. */
  releasePool(poolId: string): Promise<void>;
  requestAddress(poolId: string, request: AddressRequest): Promise<AddressLease>;
  /** Frees an address (plain IP; a CIDR form is accepted). Unknown address: no-op. */
  releaseAddress(poolId: string, ip: string): Promise<void>;
}
