/**
 * The controller owns the sandbox and endpoint records (issue 9, deliverable 1): it is their only
 * writer, indexes endpoints by network from them, and a new controller over the same directory
 * finds the same state; the embedded DNS answers from them. No kernel: fake drivers, records in a temp dir.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { controllerOver } from '../../helpers/controller.js';
import type { NetworkController, DriverSource } from '../../../src/network/controller.js';
import type { NetworkDriver } from '../../../src/network/driver-api.js';
import { createHostDriver } from '../../../src/network/drivers/host/index.js';
import { createNullDriver } from '../../../src/network/drivers/none/index.js';
import { EmbeddedDns } from '../../../src/network/embedded-dns.js';
import type { NetworkRecord } from '../../../src/network/network-record.js';
import type { EndpointRecord, SandboxRecord } from '../../../src/network/sandbox-record.js';
import { RecordStore } from '../../../src/store/record-store.js';

const id = () => crypto.randomBytes(32).toString('hex');
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function controllerAt(root: string): NetworkController {
  const modes = new Map<string, NetworkDriver & ReturnType<typeof createHostDriver>>([
    ['host', createHostDriver()],
    ['null', createNullDriver()],
  ]);
  const drivers: DriverSource = {
    network: async (name) => {
      const d = modes.get(name);
      if (!d) throw new Error(`no driver ${name}`);
      return d;
    },
    ipam: async () => {
      throw new Error('no ipam');
    },
    builtinNames: () => [...modes.keys()],
    modeDriver: (name) => modes.get(name),
  };
  return controllerOver(root, drivers);
}

function network(name: string): NetworkRecord {
  return {
    id: id(),
    name,
    driver: 'fake',
    scope: 'local',
    created: new Date().toISOString(),
    internal: false,
    attachable: false,
    enableIPv6: false,
    options: {},
    labels: {},
    ipam: { driver: 'default', options: {}, config: [] },
    pools: [],
  };
}

function sandbox(containerName: string): SandboxRecord {
  return { id: id(), containerId: id(), containerName, mode: 'networks', options: { hostname: 'h' }, ports: [] };
}

function endpoint(sb: SandboxRecord, n: NetworkRecord, seq: number): EndpointRecord {
  const eid = id();
  return {
    id: eid,
    endpointId: eid,
    networkId: n.id,
    networkName: n.name,
    aliases: [],
    ipv4: `10.9.0.${seq + 2}/24`,
    sandboxId: sb.id,
    containerId: sb.containerId,
    containerName: sb.containerName,
    state: 'active',
    seq,
  };
}

async function world(t: { teardown(fn: () => void): void }) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-ctrl-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const a = network('a');
  const b = network('b');
  await new RecordStore<NetworkRecord>(path.join(root, 'networks')).save(a);
  await new RecordStore<NetworkRecord>(path.join(root, 'networks')).save(b);
  const c = controllerAt(root);
  await c.load();
  return { root, a, b, c };
}

test('endpoint records are the source of the by-network index, also after a reload', async (t) => {
  const { root, a, b, c } = await world(t);
  const s1 = sandbox('web');
  const s2 = sandbox('db');
  await c.saveSandbox(s1);
  await c.saveSandbox(s2);
  const e1 = endpoint(s1, a, 0);
  const e2 = endpoint(s1, b, 1);
  const e3 = endpoint(s2, a, 0);
  for (const e of [e2, e1, e3]) await c.saveEndpoint(e);

  t.deepEqual(
    c.endpointsOf(s1.id).map((e) => e.networkName),
    ['a', 'b'],
    'in the order they were made',
  );
  t.deepEqual(
    c
      .endpointsOn(a.id)
      .map((e) => e.containerName)
      .sort(),
    ['db', 'web'],
  );
  t.deepEqual(c.endpointUsers(b.id), ['web']);
  t.is(fs.readdirSync(path.join(root, 'endpoints')).length, 3);

  // a fresh controller over the same records sees the same index; in-use networks stay
  const again = controllerAt(root);
  await again.load();
  t.deepEqual(
    again
      .endpointsOn(a.id)
      .map((e) => e.containerName)
      .sort(),
    ['db', 'web'],
  );
  await t.throwsAsync(again.remove(a.id), { message: /has active endpoints/ });
  t.deepEqual(
    again
      .sandboxList()
      .map((s) => s.containerName)
      .sort(),
    ['db', 'web'],
  );

  // removing a sandbox takes its endpoint records (and their index entries) with it
  await again.removeSandbox(s1.id);
  t.deepEqual(again.endpointUsers(b.id), []);
  t.deepEqual(
    again.endpointsOn(a.id).map((e) => e.containerName),
    ['db'],
  );
  t.is(fs.readdirSync(path.join(root, 'endpoints')).length, 1);
  t.is(fs.readdirSync(path.join(root, 'sandboxes')).length, 1);
});

test('at load, a pending-delete endpoint and an endpoint of no sandbox are dropped', async (t) => {
  const { root, a, b, c } = await world(t);
  const s = sandbox('app');
  await c.saveSandbox(s);
  const keep = endpoint(s, a, 0);
  const going = endpoint(s, b, 1);
  await c.saveEndpoint(keep);
  await c.saveEndpoint(going);
  // a disconnect saved its intent, then the daemon died
  await c.setEndpointState(going, 'pending-delete');
  // an endpoint whose sandbox record never got saved
  const orphan = endpoint(sandbox('ghost'), a, 0);
  await new RecordStore<EndpointRecord>(path.join(root, 'endpoints')).save(orphan);

  const again = controllerAt(root);
  await again.load();
  t.deepEqual(
    again.endpointsOf(s.id).map((e) => e.networkName),
    ['a'],
  );
  t.deepEqual(again.endpointUsers(b.id), []);
  t.deepEqual(
    again.endpointsOn(a.id).map((e) => e.id),
    [keep.id],
  );
  t.deepEqual(fs.readdirSync(path.join(root, 'endpoints')), [`${keep.id}.json`]);
});

test('endpoint state changes go through setEndpointState and are saved', async (t) => {
  const { root, a, c } = await world(t);
  const s = sandbox('x');
  await c.saveSandbox(s);
  const e = endpoint(s, a, 0);
  await c.saveEndpoint(e);
  await c.setEndpointState(e, 'pending-delete');
  const onDisk = JSON.parse(fs.readFileSync(path.join(root, 'endpoints', `${e.id}.json`), 'utf8'));
  t.is(onDisk.state, 'pending-delete');
  await c.setEndpointState(e, 'active');
  t.is(JSON.parse(fs.readFileSync(path.join(root, 'endpoints', `${e.id}.json`), 'utf8')).state, 'active');
  // an unknown state is refused
  await t.throwsAsync(c.setEndpointState(e, 'gone' as never), { message: /cannot go from active to gone/ });
});

test('the predefined host and none networks come from the network mode drivers', async (t) => {
  const { c } = await world(t);
  t.is(c.get('host').driver, 'host');
  t.is(c.get('none').driver, 'null');
  t.truthy(c.modeDriverOf(c.get('host')));
  t.falsy(c.modeDriverOf(c.get('a')));
});

test('a pending delete is its endpoint record in state pending-delete: out of its sandbox, reserved, kept across a reload, gone when done', async (t) => {
  const { root, a, c } = await world(t);
  const s = sandbox('gone');
  await c.saveSandbox(s);
  const e = endpoint(s, a, 0);
  await c.saveEndpoint(e);
  // rm could not reach the plugin: the teardown is kept on the endpoint's record, the sandbox goes
  await c.savePending({
    id: e.id,
    networkId: a.id,
    containerId: s.containerId,
    containerName: s.containerName,
    steps: ['deleteEndpoint', 'releaseAddress'],
    addresses: [{ poolId: 'p', address: '10.9.0.2/24' }],
    since: new Date().toISOString(),
    lastError: 'plugin down',
    attempts: 1,
  });
  await c.removeSandbox(s.id);
  const onDisk = JSON.parse(fs.readFileSync(path.join(root, 'endpoints', `${e.id}.json`), 'utf8'));
  t.is(onDisk.state, 'pending-delete');
  t.deepEqual(onDisk.teardown.steps, ['deleteEndpoint', 'releaseAddress']);
  t.deepEqual(c.endpointsOn(a.id), [], 'not an endpoint of a container any more');

  const again = controllerAt(root);
  await again.load();
  t.deepEqual(
    again.pendingList().map((p) => [p.id, p.steps, p.lastError]),
    [[e.id, ['deleteEndpoint', 'releaseAddress'], 'plugin down']],
  );
  t.deepEqual(again.endpointUsers(a.id), ['gone (pending delete)'], 'the network still counts it');
  await t.throwsAsync(again.remove(a.id), { message: /has active endpoints/ });
  await again.removePending(e.id);
  t.deepEqual(again.pendingList(), []);
  t.deepEqual(again.endpointUsers(a.id), []);
  t.deepEqual(fs.readdirSync(path.join(root, 'endpoints')), []);
});

/** The embedded DNS over this controller's records (no resolver, no kernel: lookup and reverse only). */
function dnsOver(c: NetworkController): EmbeddedDns {
  return new EmbeddedDns({
    netns: {} as never,
    firewall: {} as never,
    records: c,
    userDefined: () => true,
    isInternal: () => false,
    upstreams: () => [],
    logger: quiet,
  });
}

test('DNS answers follow rename, stop, removal and a new container of the old name, with 1000 on the network', async (t) => {
  const { a, c } = await world(t);
  const sbs: SandboxRecord[] = [];
  for (let i = 0; i < 1000; i++) {
    const sb = sandbox(`c${i}`);
    await c.saveSandbox(sb);
    await c.saveEndpoint({ ...endpoint(sb, a, 0), ipv4: `10.9.${i >> 8}.${i & 255}/16`, aliases: [`al${i}`] });
    c.setActive(sb.id, true);
    sbs.push(sb);
  }
  const dns = dnsOver(c);
  const asker = sbs[0]!.id;
  t.deepEqual(dns.lookup(asker, 'c500', 'A'), ['10.9.1.244']);
  t.deepEqual(dns.lookup(asker, 'AL500.a', 'A'), ['10.9.1.244'], 'an alias, qualified with the network, any case');
  t.deepEqual(dns.lookup(asker, sbs[500]!.containerId.slice(0, 12), 'A'), ['10.9.1.244'], 'the short id');

  await c.renameSandbox(sbs[500]!.id, 'renamed');
  t.deepEqual(dns.lookup(asker, 'c500', 'A'), [], 'the old name is gone');
  t.deepEqual(dns.lookup(asker, 'renamed', 'A'), ['10.9.1.244']);

  c.setActive(sbs[501]!.id, false);
  t.deepEqual(dns.lookup(asker, 'c501', 'A'), [], 'a stopped container has no answer');
  c.setActive(sbs[501]!.id, true);
  t.deepEqual(dns.lookup(asker, 'c501', 'A'), ['10.9.1.245']);

  await c.removeSandbox(sbs[502]!.id);
  t.deepEqual(dns.lookup(asker, 'c502', 'A'), [], 'a removed container has no answer');
  t.is((dns as unknown as { reverse(self: string, ip: string): unknown }).reverse(asker, '10.9.1.246'), undefined);

  const again = sandbox('c502');
  await c.saveSandbox(again);
  await c.saveEndpoint({ ...endpoint(again, a, 0), ipv4: '10.9.9.9/16' });
  c.setActive(again.id, true);
  t.deepEqual(dns.lookup(asker, 'c502', 'A'), ['10.9.9.9'], 'a new container of the old name');
  t.is((dns as unknown as { reverse(self: string, ip: string): unknown }).reverse(asker, '10.9.9.9'), 'c502.a');
});
