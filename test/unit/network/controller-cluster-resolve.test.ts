/**
 * A global network another host has just made is usable here at once: a name this host does not
 * know yet is read from the cluster store before "not found" (NetworkController.resolve), not
 * left to the watch, which a loaded machine delays (CI once saw `run --network other` on a third
 * host fail right after `network create` on the first). No kernel: a fake cluster whose watch
 * never delivers, a fake overlay driver, records in a temp dir.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { controllerOver } from '../../helpers/controller.js';
import type { ControllerCluster, DriverSource } from '../../../src/network/controller.js';
import type { NetworkDriver } from '../../../src/network/driver-api.js';
import type { ClusterEvent, GlobalNetworkRecord } from '../../../src/store/cluster/index.js';
import { overlayNetworkRecord } from '../../helpers/cluster-records.js';

function globalNetwork(name: string): GlobalNetworkRecord {
  return overlayNetworkRecord({
    id: crypto.randomBytes(32).toString('hex'),
    name,
    vni: 4097,
    ipv4: [{ pool: '10.88.0.0/24', gateway: '10.88.0.1/24' }],
    pools: [{ poolId: 'p1', subnet: '10.88.0.0/24', gateway: '10.88.0.1', v6: false }],
    node: '10.99.0.11',
  } as Partial<GlobalNetworkRecord> & Pick<GlobalNetworkRecord, 'id' | 'name'>);
}

/** etcd holds `inEtcd`; the mirror (what the watch brought) holds nothing until a pull. */
function fakeCluster(inEtcd: GlobalNetworkRecord[], available = true) {
  const mirror: GlobalNetworkRecord[] = [];
  const listeners = new Set<(e: ClusterEvent) => void>();
  let pulls = 0;
  const cluster: ControllerCluster = {
    nodeId: '10.99.0.13',
    available,
    networks: () => [...mirror],
    network: (ref) => mirror.find((n) => n.id === ref || n.name === ref),
    createNetwork: async (rec) => rec,
    deleteNetwork: async () => undefined,
    subscribe: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    pullNetworks: async () => {
      pulls++;
      for (const g of inEtcd) {
        if (mirror.some((n) => n.id === g.id)) continue;
        mirror.push(g);
        for (const l of listeners) l({ kind: 'network', type: 'added', network: g });
      }
    },
    endpoints: () => [],
    nodes: () => [],
  };
  return { cluster, pulls: () => pulls };
}

async function controllerWith(t: { teardown(fn: () => void): void }, cluster: ControllerCluster) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-ctrl-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const made: string[] = [];
  const overlay = {
    createNetwork: async (spec: { id: string }) => {
      made.push(spec.id);
    },
  } as unknown as NetworkDriver;
  const drivers: DriverSource = {
    network: async (name) => {
      if (name !== 'overlay') throw new Error(`no driver ${name}`);
      return overlay;
    },
    ipam: async () => {
      throw new Error('no ipam');
    },
    builtinNames: () => [],
    modeDriver: () => undefined,
  };
  const c = controllerOver(root, drivers, { cluster });
  await c.load();
  c.followCluster();
  return { c, made, root };
}

test('a global network the watch has not brought yet is read from the cluster store, made here, and found', async (t) => {
  const g = globalNetwork('other');
  const { cluster, pulls } = fakeCluster([g]);
  const { c, made, root } = await controllerWith(t, cluster);
  t.throws(() => c.get('other'), { message: 'network other not found' }, 'the watch has not brought it');

  const n = await c.resolve('other');
  t.is(n.id, g.id);
  t.is(n.scope, 'global');
  t.deepEqual(made, [g.id], 'the driver made it on this host');
  t.is(fs.readdirSync(path.join(root, 'networks')).length, 1, 'and saved its local record');
  t.is(pulls(), 1);
  // known now: no second read
  t.is((await c.resolve(g.id.slice(0, 12))).id, g.id);
  t.is(pulls(), 1);
});

test('a name the cluster store does not have either is "not found", after one read', async (t) => {
  const { cluster, pulls } = fakeCluster([globalNetwork('other')]);
  const { c } = await controllerWith(t, cluster);
  await t.throwsAsync(c.resolve('nosuch'), { message: 'network nosuch not found' });
  t.is(pulls(), 1);
});

test('with etcd away a miss is "not found" at once, without a read', async (t) => {
  const { cluster, pulls } = fakeCluster([globalNetwork('other')], false);
  const { c } = await controllerWith(t, cluster);
  await t.throwsAsync(c.resolve('other'), { message: 'network other not found' });
  t.is(pulls(), 0);
});
