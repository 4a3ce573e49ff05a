/**
 * Global network records and VNI reservations: one etcd transaction each (see docs/overlay.md,
 * "What is atomic"). Pure of the store's state: the caller passes the client, the key layout
 * and its availability guard, and applies the returned revisions to its mirror.
 */
import { TsnetError } from '../../errors/index.js';
import {
  cmpAbsent,
  cmpModRev,
  cmpPrefixEmpty,
  cmpValue,
  opDelete,
  opGet,
  opGetPrefix,
  opPut,
  rangeOf,
  type EtcdKv,
} from './etcd.js';
import { checkSegment, type KeyLayout } from './keys.js';
import { decodeEndpoint, decodeNetwork, encodeRecord, type GlobalNetworkRecord } from './records.js';
import { VNI_MAX, VXLANID_OPTION, checkVni, pickVni } from './vni.js';

export interface TxnContext {
  kv: EtcdKv;
  keys: KeyLayout;
  /** "etcd://…", for messages. */
  url: string;
  /** Run an etcd call; an unreachable etcd is reported to the session and rethrown. */
  guard<T>(what: string, fn: () => Promise<T>): Promise<T>;
}

/** Create the record and its name, only if neither exists and the VNI (if any) is this network's. */
export async function createNetworkTxn(c: TxnContext, record: GlobalNetworkRecord): Promise<{ text: string; revision: string }> {
  checkSegment('network id', record.id);
  checkSegment('network name', record.name);
  if (record.vni !== undefined) checkVni(record.vni);
  const netKey = c.keys.network(record.id);
  const nameKey = c.keys.networkName(record.name);
  const vniKey = record.vni !== undefined ? c.keys.vni(record.vni) : undefined;
  const compare = [cmpAbsent(netKey), cmpAbsent(nameKey), ...(vniKey ? [cmpValue(vniKey, record.id)] : [])];
  const text = encodeRecord(record);
  const res = await c.guard('create network', () =>
    c.kv.txn(
      `create network ${record.name}`,
      compare,
      [opPut(netKey, text), opPut(nameKey, record.id)],
      [opGet(netKey), opGet(nameKey), ...(vniKey ? [opGet(vniKey)] : [])],
    ),
  );
  if (!res.succeeded) {
    const [byId, byName, vni] = [rangeOf(res, 0)[0], rangeOf(res, 1)[0], vniKey ? rangeOf(res, 2)[0] : undefined];
    if (byName)
      throw new TsnetError('TSNET_NETWORK_EXISTS', `network with name ${record.name} already exists in the cluster`, {
        details: { id: byName.value },
      });
    if (byId) throw new TsnetError('TSNET_NETWORK_EXISTS', `network ${record.id} already exists in the cluster`);
    throw new TsnetError(
      'TSNET_VNI_IN_USE',
      vni
        ? `VXLAN id ${record.vni} belongs to network ${vni.value}`
        : `VXLAN id ${record.vni} is not reserved for network ${record.name}: call allocateVni first`,
    );
  }
  return { text, revision: String(res.header.revision) };
}

/**
 * Delete the record (with its name and VNI) only if no host has an endpoint on it and the record
 * did not change since it was read. Returns the revision of the delete, or undefined when there
 * was nothing to delete.
 */
export async function deleteNetworkTxn(
  c: TxnContext,
  networkId: string,
  known?: GlobalNetworkRecord,
): Promise<string | undefined> {
  const netKey = c.keys.network(networkId);
  const epPrefix = c.keys.endpoints(networkId);
  for (let attempt = 0; attempt < 5; attempt++) {
    const cur = await c.guard('delete network', () => c.kv.get(`read network ${networkId}`, netKey));
    if (!cur) return undefined;
    const decoded = decodeNetwork(cur.value);
    const rec = decoded.ok ? decoded.value : known;
    const success = [opDelete(netKey)];
    if (rec) {
      const nameKey = c.keys.networkName(rec.name);
      success.push({ request_txn: { compare: [cmpValue(nameKey, networkId)], success: [opDelete(nameKey)], failure: [] } });
      if (rec.vni !== undefined) {
        const vniKey = c.keys.vni(rec.vni);
        success.push({ request_txn: { compare: [cmpValue(vniKey, networkId)], success: [opDelete(vniKey)], failure: [] } });
      }
    }
    const res = await c.guard('delete network', () =>
      c.kv.txn(`delete network ${networkId}`, [cmpPrefixEmpty(epPrefix), cmpModRev(netKey, cur.modRevision)], success, [
        opGetPrefix(epPrefix),
      ]),
    );
    if (res.succeeded) return String(res.header.revision);
    const eps = rangeOf(res, 0);
    if (eps.length > 0) {
      const perNode = new Map<string, number>();
      for (const kv of eps) {
        const d = decodeEndpoint(kv.value);
        const node = d.ok ? d.value.node : '?';
        perNode.set(node, (perNode.get(node) ?? 0) + 1);
      }
      const hosts = [...perNode].map(([n, k]) => `${n} (${k})`).join(', ');
      throw new TsnetError(
        'TSNET_NETWORK_IN_USE',
        `network ${rec?.name ?? networkId} has active endpoints on ${perNode.size} host(s): ${hosts}`,
        {
          details: { endpoints: eps.length, hosts: [...perNode.keys()] },
        },
      );
    }
    // the record changed under us: read it again
  }
  throw new TsnetError('TSNET_CLUSTER_UNAVAILABLE', `cluster store ${c.url}: network ${networkId} keeps changing; try again`);
}

/** Reserve a VNI (the requested one, or the lowest free from 4096 up). Idempotent per network. */
export async function allocateVniTxn(c: TxnContext, networkId: string, requested?: number): Promise<number> {
  checkSegment('network id', networkId);
  if (requested !== undefined) checkVni(requested);
  const prefix = c.keys.vnis();
  for (let attempt = 0; attempt < 50; attempt++) {
    const list = await c.guard('allocate a VXLAN id', () => c.kv.getPrefix('list VXLAN ids', prefix));
    const used = new Set<number>();
    for (const kv of list.kvs) {
      const vni = Number(kv.key.slice(prefix.length));
      if (kv.value === networkId) return vni;
      used.add(vni);
    }
    const candidate = requested ?? pickVni(used);
    if (candidate === undefined)
      throw new TsnetError('TSNET_POOL_EXHAUSTED', `no free VXLAN id left (4096 … ${VNI_MAX} are all in use)`);
    const key = c.keys.vni(candidate);
    const res = await c.guard('allocate a VXLAN id', () =>
      c.kv.txn(`reserve VXLAN id ${candidate}`, [cmpAbsent(key)], [opPut(key, networkId)], [opGet(key)]),
    );
    if (res.succeeded) return candidate;
    const holder = rangeOf(res, 0)[0]?.value;
    if (holder === networkId) return candidate;
    if (requested !== undefined) {
      throw new TsnetError(
        'TSNET_VNI_IN_USE',
        `VXLAN id ${requested} is already used by network ${holder ?? '?'}: choose another -o ${VXLANID_OPTION}`,
      );
    }
  }
  throw new TsnetError(
    'TSNET_CLUSTER_UNAVAILABLE',
    `cluster store ${c.url}: could not reserve a VXLAN id (too much contention); try again`,
  );
}

/** Give back the VNI(s) reserved for a network. Idempotent. */
export async function releaseVniTxn(c: TxnContext, networkId: string): Promise<void> {
  const list = await c.guard('release a VXLAN id', () => c.kv.getPrefix('list VXLAN ids', c.keys.vnis()));
  for (const kv of list.kvs) {
    if (kv.value !== networkId) continue;
    await c.guard('release a VXLAN id', () => c.kv.txn(`release ${kv.key}`, [cmpValue(kv.key, networkId)], [opDelete(kv.key)]));
  }
}
