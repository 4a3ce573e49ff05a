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
import { eventually, run } from '../helpers/world.js';

const randomId = () => crypto.randomBytes(32).toString('hex');

/** `subnet6` (e.g. 'fd00:217:5::'): an IPv6 network, the endpoint gets `${subnet6}2/64`. */
async function setup(t: import('ava').ExecutionContext, subnet: string, subnet6?: string, options: Record<string, string> = {}) {
  const w: NsWorld = await createNsWorld('tsnet-bjoin-');
  t.teardown(() => w.teardown());
  const driver = bridgeDriverIn(w);
  const networkId = randomId();
  const spec: NetworkSpec = {
    id: networkId,
    name: `bj-${networkId.slice(0, 6)}`,
    options,
    labels: {},
    internal: false,
    enableIPv6: subnet6 !== undefined,
    attachable: false,
    ipv4: [{ pool: `${subnet}.0/24`, gateway: `${subnet}.1/24` }],
    ipv6: subnet6 ? [{ pool: `${subnet6}/64`, gateway: `${subnet6}1/64` }] : [],
  };
  await driver.createNetwork(spec);
  const endpointId = randomId();
  await driver.createEndpoint({
    networkId,
    endpointId,
    containerId: endpointId,
    address: `${subnet}.2/24`,
    ...(subnet6 ? { addressV6: `${subnet6}2/64` } : {}),
    options: {},
  });
  const sandbox = await w.sandbox(endpointId.slice(0, 8));
  const join = () =>
    driver.join({
      networkId,
      endpointId,
      containerId: endpointId,
      sandboxKey: sandbox,
      ifname: 'eth0',
      address: `${subnet}.2/24`,
      ...(subnet6 ? { addressV6: `${subnet6}2/64` } : {}),
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
    sandbox,
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

/** `ip -d link show` of a link in the host netns or the sandbox: its IPv6 address generation mode, and its inet6 addresses. */
async function ipv6Of(netns: string, link: string): Promise<{ mode: string; inet6: string[] }> {
  const d = await run('nsenter', [`--net=${netns}`, 'ip', '-d', 'link', 'show', link]);
  const a = await run('nsenter', [`--net=${netns}`, 'ip', '-6', '-o', 'addr', 'show', 'dev', link]);
  if (d.exitCode !== 0 || a.exitCode !== 0) throw new Error(`ip (iproute2) in ${netns}: ${d.stderr}${a.stderr}`);
  return {
    mode: /addrgenmode (\S+)/.exec(d.stdout)?.[1] ?? `none shown in: ${d.stdout}`,
    inet6: [...a.stdout.matchAll(/inet6 (\S+)/g)].map((m) => m[1]!),
  };
}

test('an IPv4-only join: neither end gets an IPv6 link-local address (nothing for the bridge to flood)', async (t) => {
  const s = await setup(t, '10.217.5');
  await s.join();
  // both ends have carrier (the kernel would have made link-local addresses by now)
  t.true(
    await eventually(async () => (await s.w.hostNl.getLink(s.veth))?.running && (await s.inside())[0]?.running, 5_000),
    'both ends up, with carrier',
  );
  for (const [where, netns, link] of [
    ['container', s.sandbox, 'eth0'],
    ['host end', s.w.hostNs, s.veth],
  ] as const) {
    const v6 = await ipv6Of(netns, link);
    t.is(v6.mode, 'none', `${where}: IPv6 address generation off`);
    t.deepEqual(v6.inet6, [], `${where}: no inet6 address`);
  }
});

/** A link's queues: allocated (`ip -d link`: numtxqueues/numrxqueues) and real (its sysfs dir, seen from its netns). */
async function queuesOf(netns: string, link: string): Promise<{ allocated: string; real: string[] }> {
  const d = await run('nsenter', [`--net=${netns}`, 'ip', '-d', 'link', 'show', link]);
  // a sysfs mounted in a mount namespace of its own shows the links of the netns it was mounted in
  const q = await run('nsenter', [
    `--net=${netns}`,
    'unshare',
    '-m',
    'sh',
    '-c',
    `mount -t sysfs sysfs /sys && ls /sys/class/net/${link}/queues`,
  ]);
  if (d.exitCode !== 0 || q.exitCode !== 0) throw new Error(`ip/sysfs in ${netns}: ${d.stderr}${q.stderr}`);
  return {
    allocated: /numtxqueues \d+ numrxqueues \d+/.exec(d.stdout)?.[0] ?? `none shown in: ${d.stdout}`,
    real: q.stdout.split(/\s+/).filter(Boolean).sort(),
  };
}

test("a join's veth: each end is born with one tx and one rx queue (no queue cut, no RCU wait in its create)", async (t) => {
  const s = await setup(t, '10.217.7');
  await s.join();
  for (const [where, netns, link] of [
    ['container', s.sandbox, 'eth0'],
    ['host end', s.w.hostNs, s.veth],
  ] as const) {
    const q = await queuesOf(netns, link);
    // without them in the request the kernel allocates one per possible CPU and cuts the real
    // tx count to one under RTNL (an expedited RCU grace period per end)
    t.is(q.allocated, 'numtxqueues 1 numrxqueues 1', `${where}: allocated queues`);
    t.deepEqual(q.real, ['rx-0', 'tx-0'], `${where}: real queues as the kernel's default`);
  }
});

test('an IPv6 join: eth0 keeps its link-local address next to its IPv6 address', async (t) => {
  const s = await setup(t, '10.217.6', 'fd00:217:6::');
  await s.join();
  const v6 = await eventually(async () => {
    const r = await ipv6Of(s.sandbox, 'eth0');
    return r.inet6.some((a) => a.startsWith('fe80:')) ? r : undefined;
  }, 5_000);
  t.truthy(v6, 'eth0 gets a link-local address');
  t.not(v6?.mode, 'none');
  t.true(v6?.inet6.includes('fd00:217:6::2/64'), v6?.inet6.join(' '));
});

test('an IPv4-only join with an MTU under IPv6 minimum (1000): the links have no IPv6, the join works', async (t) => {
  const s = await setup(t, '10.217.7', undefined, { 'com.docker.network.driver.mtu': '1000' });
  await s.join();
  const eth0 = (await s.inside()).find((l) => l.name === 'eth0');
  t.is(eth0?.mtu, 1000);
  t.true(eth0?.up);
  t.is((await s.w.hostNl.getLink(s.veth))?.alias, linkMark(s.endpointId));
});
