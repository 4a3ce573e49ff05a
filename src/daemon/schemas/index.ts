/**
 * The request schemas, one per route: see docs/architecture.md ("Request schemas") for how a
 * new route gets one.
 */
export * from './common.js';
export * from './containers.js';
export * from './images.js';
export * from './networks.js';
export * from './system.js';
export * from './container-ops.js';
export * from './volumes.js';
export * from './swarm.js';
