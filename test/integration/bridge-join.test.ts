/**
 * The bridge driver's join in few netlink requests (decision "attach in few round trips"): the
 * host end of the veth is born a port of the bridge and up, and gets its mark and hairpin in
 * the one request after; a leftover veth of the same endpoint (a crash) is replaced; a link of
 * that name tsnet did not make for the endpoint stays, and the join fails with one line and
 * leaves nothing in the sandbox. The driver alone, in a throwaway host netns (no daemon).
 */
import crypto from 'node:crypto';
import test from 'ava';
import { Netlink } from '../../src/kernel/netlink/index.js';
import { vethName } from '../../src/network/drivers/bridge/options.js';
import type { NetworkSpec } from '../../src/network/driver-api.js';
import { linkMark } from '../../src/network/mark.js';
import { bridgeDriverIn, createNsWorld, type NsWorld } from '../conformance/harness.js';

const randomId = () => crypto.randomBytes(32).toString('hex');

async function setup(t: import('ava').ExecutionContext, subnet: string) {
  const w: NsWorld = await createNsWorld('tsnet-bjoin-');
  t.teardown(() => w.teardown());
  const driver = bridgeDriverIn(w);
  const networkId = randomId();
  const spec: NetworkSpec = {
    id: networkId,
    name: `bj-${networkId.slice(0, 6)}`,
    options: {},
    labels: {},
    internal: false,
    enableIPv6: false,
    attachable: false,
    ipv4: [{ pool: `${subnet}.0/24`, gateway: `${subnet}.1/24` }],
    ipv6: [],
  };
  await driver.createNetwork(spec);
  const endpointId = randomId();
  await driver.createEndpoint({ networkId, endpointId, containerId: endpointId, address: `${subnet}.2/24`, options: {} });
  const sandbox = await w.sandbox(endpointId.slice(0, 8));
  const join = () =>
    driver.join({
      networkId,
      endpointId,
      containerId: endpointId,
      sandboxKey: sandbox,
      ifname: 'eth0',
      address: `${subnet}.2/24`,
      options: {},
    });
  const inNs = async <T>(fn: (nl: Netlink) => Promise<T>): Promise<T> => {
    const nl = w.netns.run(sandbox, () => Netlink.open());
    try {
      return await fn(nl);
    } finally {
      nl.close();
    }
  };
  const inside = () => inNs(async (nl) => (await nl.listLinks()).filter((l) => l.name !== 'lo'));
  return {
    w,
    driver,
    networkId,
    endpointId,
    veth: vethName(endpointId),
    join,
    inside,
    inNs,
    bridge: `br-${networkId.slice(0, 12)}`,
  };
}

test('a join: the host end is a port of the bridge, up, hairpin on, marked; eth0 inside has its address and is up', async (t) => {
  const s = await setup(t, '10.217.1');
  await s.join();
  const host = await s.w.hostNl.getLink(s.veth);
  const bridge = await s.w.hostNl.getLink(s.bridge);
  t.truthy(host && bridge);
  t.is(host!.master, bridge!.index, 'a port of the network bridge');
  t.true(host!.up);
  t.true(host!.bridgePort?.hairpin, 'hairpin on');
  t.is(host!.alias, linkMark(s.endpointId), 'marked for its endpoint');
  const eth0 = (await s.inside()).find((l) => l.name === 'eth0');
  t.truthy(eth0);
  t.true(eth0!.up);
  t.is(eth0!.parentIndex, host!.index, 'the peer of the host end');
  const addrs = await s.inNs((nl) => nl.listAddresses('eth0'));
  t.deepEqual(
    addrs.filter((a) => !a.cidr.startsWith('fe80:')).map((a) => a.cidr),
    ['10.217.1.2/24'],
  );
});

test('a leftover veth of the same endpoint (a crash) is replaced by the join', async (t) => {
  const s = await setup(t, '10.217.2');
  await s.w.hostNl.addVeth(s.veth, { name: 'oldpeer' }, { alias: linkMark(s.endpointId) });
  const old = await s.w.hostNl.getLink(s.veth);
  await s.join();
  const now = await s.w.hostNl.getLink(s.veth);
  t.not(now!.index, old!.index, 'a new link');
  t.true(now!.up);
  t.is(now!.alias, linkMark(s.endpointId));
  t.is(await s.w.hostNl.getLink('oldpeer'), undefined, 'the old pair is gone');
  t.deepEqual(
    (await s.inside()).map((l) => l.name),
    ['eth0'],
  );
});

test('a link of that name tsnet did not make for the endpoint stays: one line, nothing in the sandbox', async (t) => {
  const s = await setup(t, '10.217.3');
  await s.w.hostNl.addVeth(s.veth, { name: 'foreign0' }, { alias: 'not tsnet' });
  const before = await s.w.hostNl.getLink(s.veth);
  const err = await t.throwsAsync(s.join());
  t.regex(
    err!.message,
    new RegExp(`interface ${s.veth} exists but tsnet did not make it .*: remove it with ip link del ${s.veth}`),
  );
  t.notRegex(err!.message, /\n/);
  const after = await s.w.hostNl.getLink(s.veth);
  t.is(after?.index, before!.index, 'the foreign link is untouched');
  t.is(after?.alias, 'not tsnet');
  t.deepEqual(await s.inside(), [], 'nothing left in the sandbox');
});

test('a bridge re-made behind the driver (a new ifindex): the next join finds the new one', async (t) => {
  const s = await setup(t, '10.217.4');
  await s.join(); // the driver now knows the bridge's index
  await s.driver.leave(s.networkId, s.endpointId);
  const old = await s.w.hostNl.getLink(s.bridge);
  await s.w.hostNl.deleteLink(s.bridge);
  await s.w.hostNl.addBridge(s.bridge);
  const made = await s.w.hostNl.getLink(s.bridge);
  t.not(made!.index, old!.index);
  await s.join();
  t.is((await s.w.hostNl.getLink(s.veth))?.master, made!.index, 'a port of the bridge there is now');
});
