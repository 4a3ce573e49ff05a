/**
 * A cluster network record (what etcd holds for an overlay network) for tests that build one by
 * hand: every field a record needs, with plain defaults, and `over` on top.
 */
import type { GlobalNetworkRecord } from '../../src/store/cluster/index.js';

export function overlayNetworkRecord(
  over: Partial<GlobalNetworkRecord> & Pick<GlobalNetworkRecord, 'id' | 'name'>,
): GlobalNetworkRecord {
  return {
    driver: 'overlay',
    options: {},
    labels: {},
    internal: false,
    attachable: true,
    enableIPv6: false,
    ipamDriver: 'default',
    ipamOptions: {},
    ipv4: [],
    ipv6: [],
    created: new Date().toISOString(),
    ...over,
  };
}
