/** Cluster-wide IPAM over etcd (global-scope networks). */
export { ClusterIpam, type ClusterIpamBackend, type ClusterIpamOptions, type ClusterAddressRecord } from './cluster-ipam.js';
export { GLOBAL_ADDRESS_SPACE, subnetOfPoolId } from './pool-math.js';
