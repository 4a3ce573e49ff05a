/** Public entry of the cluster store (etcd): see cluster-store.ts and docs/overlay.md. */
export {
  ClusterStore,
  type ClusterStoreOptions,
  type ClusterListener,
  type ClusterStatus,
  type EndpointInput,
} from './cluster-store.js';
export type { ClusterEvent, ChangeType } from './mirror.js';
export type { NodeRecord, GlobalNetworkRecord, GlobalPoolRef, EndpointRecord } from './records.js';
export { KeyLayout, DEFAULT_PREFIX, poolKeyOf } from './keys.js';
export { parseClusterStoreUrl, parseAdvertiseAddr, type ClusterStoreUrl } from './url.js';
export { VXLANID_OPTION, VNI_DYNAMIC_MIN, VNI_MAX, requestedVni } from './vni.js';
export type { EtcdKv } from './etcd.js';
