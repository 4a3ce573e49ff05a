/**
 * A NetworkController over record stores in `root` (networks/, sandboxes/, endpoints/), for unit
 * tests with fake drivers: the stores, no address space to avoid, the default bridge's name, a
 * quiet logger; `extra` adds or replaces deps (a cluster, …).
 */
import path from 'node:path';
import { type ControllerDeps, type DriverSource, NetworkController } from '../../src/network/controller.js';
import type { NetworkRecord } from '../../src/network/network-record.js';
import type { EndpointRecord, SandboxRecord } from '../../src/network/sandbox-record.js';
import { RecordStore } from '../../src/store/record-store.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

export function controllerOver(root: string, drivers: DriverSource, extra: Partial<ControllerDeps> = {}): NetworkController {
  return new NetworkController({
    store: new RecordStore<NetworkRecord>(path.join(root, 'networks')),
    sandboxStore: new RecordStore<SandboxRecord>(path.join(root, 'sandboxes')),
    endpointStore: new RecordStore<EndpointRecord>(path.join(root, 'endpoints')),
    drivers,
    avoid: async () => [],
    defaultBridgeName: 'tsnet0',
    logger: quiet,
    ...extra,
  });
}
