/** Public entry of the IPAM module. */
export * from '../lib/cidr.js';
export * from './pools.js';
export type * from './ipam-api.js';
export type * from './store-api.js';
export { Allocator, LOCAL_ADDRESS_SPACE, type AllocatorOptions, type Allocation, type Release } from './allocator.js';
export { planPool, pickSubnet, edgeReservations, type PlanContext } from './pool-planner.js';
export { DefaultIpam, type DefaultIpamOptions } from './default-ipam.js';
export { MemoryStore } from './stores/memory-store.js';
export { FileStore, poolKey, type FileStoreOptions } from './stores/file-store.js';
