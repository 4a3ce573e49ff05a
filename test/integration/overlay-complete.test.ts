/**
 * Overlay networks completed (issue 13.4 and IPv6 on overlay): two hosts as namespaces on an
 * underlay, etcd in its own namespace, one tsnetd per host with a short node lease and grace
 * period (--cluster-lease-ttl 3 --cluster-reclaim-after 8). Real packets between containers on
 * different hosts; the store is read with an etcd client from the helper's client namespace.
 */
import test from 'ava';
import { Etcd3 } from 'etcd3';
import path from 'node:path';
import { createMultiHost, hostIp, hostOk, hostWorld, type MultiHost } from '../helpers/multihost.js';
import { requireNeeds } from '../helpers/preconditions.js';
import { eventually, run, type World } from '../helpers/world.js';

const serial = test.serial;
const LEASE_TTL = 3;
const GRACE = 10;
const DAEMON_ARGS = ['--cluster-lease-ttl', String(LEASE_TTL), '--cluster-reclaim-after', String(GRACE)];

let mh: MultiHost | undefined;
let leave: (() => void) | undefined;
let etcd: Etcd3 | undefined;

test.before(async () => {
  requireNeeds({ root: true, commands: [['/usr/bin/etcd', 'etcd-server']] });
  mh = await createMultiHost({ hosts: 2 });
  await mh.startDaemons(DAEMON_ARGS);
  leave = mh.enterClientNetns();
  etcd = new Etcd3({ hosts: `http://${mh.etcd.ip}:2379` });
});

test.after.always(async () => {
  etcd?.close();
  leave?.();
  await mh?.teardown();
});

const w = (i: number): World => hostWorld(mh!, i);
const ok = (i: number, args: string[]): Promise<string> => hostOk(mh!, i, args);
const sleeper = (i: number, name: string, net: string, extra: string[] = []) =>
  ok(i, ['run', '-d', '--name', name, '--network', net, ...extra, 'busybox', 'sleep', '3600']);

async function netOf(i: number, container: string, network: string) {
  const [c] = JSON.parse(await ok(i, ['inspect', container]));
  const n = c.NetworkSettings.Networks[network];
  return { ip: String(n.IPAddress), ip6: String(n.GlobalIPv6Address), endpoint: String(n.EndpointID) };
}

/** The address records of the cluster IPAM (ip → owning node). */
async function addressOwners(): Promise<Map<string, string>> {
  const all = await etcd!.getAll().prefix('/tsnet/v1/ipam/addresses/').strings();
  return new Map(
    Object.values(all)
      .map((v) => JSON.parse(v) as { ip: string; node: string })
      .map((a) => [a.ip, a.node]),
  );
}

/** Remote FDB entries (mac → VTEP) of a network's VXLAN device on host i. */
async function fdbOn(i: number, network: string): Promise<Array<{ mac: string; dst?: string }>> {
  const [n] = JSON.parse(await ok(i, ['network', 'inspect', network]));
  const vni = String(n.Options['com.docker.network.driver.overlay.vxlanid_list']);
  const file = path.join(w(i).execRoot, 'netns', `ov-${vni}-${String(n.Id).slice(0, 12)}`);
  const r = await run('nsenter', [`--net=${file}`, 'bridge', '-j', 'fdb', 'show', 'dev', `tsvx-${vni}`]);
  if (r.exitCode !== 0) throw new Error(`bridge fdb on host ${i}: ${r.stderr} (install iproute2)`);
  return (JSON.parse(r.stdout || '[]') as Array<{ mac: string; dst?: string }>).filter((e) => e.dst !== undefined);
}

serial('a plain container cannot join an overlay network made without --attachable (Docker wording)', async (t) => {
  await ok(1, ['network', 'create', '-d', 'overlay', '--subnet', '10.70.0.0/24', 'closed']);
  await eventually(async () => (await w(2).cli(['network', 'inspect', 'closed'])).exitCode === 0, 5000);
  const want =
    /Could not attach to network closed: rpc error: code = PermissionDenied desc = network closed not manually attachable/;
  const r = await w(2).cli(['run', '--rm', '--network', 'closed', 'busybox', 'true']);
  t.not(r.exitCode, 0);
  t.regex(r.stderr, want);
  await sleeper(1, 'outsider', 'bridge');
  const c = await w(1).cli(['network', 'connect', 'closed', 'outsider']);
  t.not(c.exitCode, 0);
  t.regex(c.stderr, want);
  // nothing was left behind: no address taken in its subnet, and the network can be removed
  t.false(
    [...(await addressOwners()).keys()].some((ip) => ip.startsWith('10.70.0.')),
    'no address left in the pool',
  );
  await ok(2, ['network', 'rm', 'closed']);
  await ok(1, ['rm', '-f', 'outsider']);
});

serial(
  'several subnets and IPv6 on one overlay network: v4 and v6 packets across hosts, A/AAAA/PTR of remote names',
  async (t) => {
    await ok(1, [
      'network',
      'create',
      '-d',
      'overlay',
      '--attachable',
      '--ipv6',
      '--subnet',
      '10.71.0.0/24',
      '--ip-range',
      '10.71.0.128/30',
      '--subnet',
      '10.72.0.0/24',
      '--gateway',
      '10.72.0.254',
      '--subnet',
      'fd00:71::/64',
      'multi',
    ]);
    await eventually(async () => (await w(2).cli(['network', 'inspect', 'multi'])).exitCode === 0, 5000);
    const [n] = JSON.parse(await ok(2, ['network', 'inspect', 'multi']));
    t.deepEqual(
      n.IPAM.Config.map((c: { Subnet: string; Gateway: string; IPRange?: string }) => [c.Subnet, c.Gateway, c.IPRange ?? '']),
      [
        ['10.71.0.0/24', '10.71.0.1', '10.71.0.128/30'],
        ['10.72.0.0/24', '10.72.0.254', ''],
        ['fd00:71::/64', 'fd00:71::1', ''],
      ],
    );
    // the first subnet's --ip-range holds 4 addresses: fill it, and the next container gets an
    // address of the second subnet, as in Docker
    for (const c of ['m1', 'm2', 'm3', 'm4', 'm5']) await sleeper(1, c, 'multi');
    await sleeper(2, 'far', 'multi', ['--ip', '10.72.0.9']);
    const ips = await Promise.all(['m1', 'm2', 'm3', 'm4', 'm5'].map((c) => netOf(1, c, 'multi')));
    t.deepEqual(
      ips.map((x) => x.ip),
      ['10.71.0.128', '10.71.0.129', '10.71.0.130', '10.71.0.131', '10.72.0.1'],
    );
    const far = await netOf(2, 'far', 'multi');
    t.is(far.ip, '10.72.0.9');
    t.regex(far.ip6, /^fd00:71::/);
    // real packets between subnets and hosts, both families, by address and by name
    for (const [from, to] of [
      ['m1', far.ip],
      ['m1', far.ip6],
      ['m1', 'far'],
    ] as const) {
      const r = await w(1).cli(['exec', from, 'ping', '-c', '1', '-W', '2', to]);
      t.is(r.exitCode, 0, `${from} → ${to}: ${r.stdout}${r.stderr}`);
    }
    const back = await w(2).cli(['exec', 'far', 'ping', '-c', '1', '-W', '2', ips[0]!.ip6]);
    t.is(back.exitCode, 0, `far → m1 over IPv6: ${back.stdout}${back.stderr}`);
    // AAAA and PTR answers for a container of the other host
    const aaaa = await w(1).cli(['exec', 'm1', 'nslookup', '-type=aaaa', 'far', '127.0.0.11']);
    t.true(aaaa.stdout.includes(far.ip6), aaaa.stdout);
    for (const ip of [far.ip, far.ip6]) {
      const ptr = await w(1).cli(['exec', 'm1', 'nslookup', ip, '127.0.0.11']);
      t.regex(ptr.stdout, /far\.multi/, `PTR of ${ip}: ${ptr.stdout}${ptr.stderr}`);
    }
  },
);

serial('network inspect lists the endpoints of every host, with the host, and the peers', async (t) => {
  const far = await netOf(2, 'far', 'multi');
  const m1 = await netOf(1, 'm1', 'multi');
  const [n] = JSON.parse(await ok(1, ['network', 'inspect', 'multi']));
  const remote = n.Containers[`ep-${far.endpoint}`];
  t.like(remote, { Name: 'far', EndpointID: far.endpoint, IPv4Address: '10.72.0.9/24', Node: hostIp(2) });
  t.is(remote.IPv6Address.split('/')[0], far.ip6);
  const [m1Rec] = JSON.parse(await ok(1, ['inspect', 'm1']));
  t.like(n.Containers[m1Rec.Id], { Name: 'm1', EndpointID: m1.endpoint, Node: hostIp(1) });
  t.is(Object.keys(n.Containers).length, 6);
  t.deepEqual(n.Peers, [
    { Name: hostIp(1), IP: hostIp(1) },
    { Name: hostIp(2), IP: hostIp(2) },
  ]);
  // the same from the other host
  const [n2] = JSON.parse(await ok(2, ['network', 'inspect', 'multi']));
  t.is(Object.keys(n2.Containers).length, 6);
  t.like(n2.Containers[`ep-${m1.endpoint}`], { Name: 'm1', Node: hostIp(1) });
});

/** The lease host i's node record lives under. */
async function nodeLease(i: number): Promise<string | undefined> {
  const kv = await etcd!.get(`/tsnet/v1/state/nodes/${hostIp(i)}`).exec();
  const lease = kv.kvs[0]?.lease;
  return lease && String(lease) !== '0' ? String(lease) : undefined;
}
const graceRunning = async (i: number) => (await etcd!.get(`/tsnet/v1/ipam/grace/${hostIp(i)}`).string()) !== null;
const ownedBy = async (i: number) => [...(await addressOwners())].filter(([, node]) => node === hostIp(i)).map(([ip]) => ip);

serial('a host that is only slow (paused past its lease, back within the grace) keeps its addresses', async (t) => {
  const before = await ownedBy(2);
  t.true(before.includes('10.72.0.9'));
  const pid = w(2).daemon?.pid;
  if (!pid) throw new Error('host 2 has no daemon pid');
  // timers on etcd's clock (leases), as the grace period itself: half of it, and a bit more than all of it
  const timer = async (key: string, seconds: number) => etcd!.lease(seconds, { autoKeepAlive: false }).put(key).value('').exec();
  const expired = (key: string) => async () => (await etcd!.get(key).string()) === null;
  process.kill(pid, 'SIGSTOP');
  try {
    // its node lease expires: the other host starts the grace period; the host stays paused for half of it
    t.true(await eventually(() => graceRunning(2), 15_000, 100), 'the grace period started');
    await timer('/probe/half', GRACE / 2);
    await timer('/probe/full', GRACE + 2);
    t.true(await eventually(expired('/probe/half'), 20_000, 100));
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  t.true(await eventually(async () => (await nodeLease(2)) !== undefined && !(await graceRunning(2)), 15_000, 100));
  t.true(await eventually(expired('/probe/full'), 30_000, 200), 'the grace period is over');
  t.deepEqual((await ownedBy(2)).sort(), before.sort(), 'host 2 still owns its addresses after the grace period');
  const taken = await w(1).cli(['run', '--rm', '--network', 'multi', '--ip', '10.72.0.9', 'busybox', 'true']);
  t.regex(taken.stderr, /already in use/);
  const r = await w(1).cli(['exec', 'm1', 'ping', '-c', '1', '-W', '2', '10.72.0.9']);
  t.is(r.exitCode, 0, `far is reachable again: ${r.stdout}${r.stderr}`);
});

serial(
  'a host gone longer than the grace period: its peers go at once, its addresses after the grace; back, it takes back the free ones',
  async (t) => {
    const lost = await ownedBy(2);
    t.true(lost.length > 0);
    const far = await netOf(2, 'far', 'multi');
    const lease = await nodeLease(2);
    if (!lease) throw new Error('host 2 has no node lease');
    await w(2).killDaemon('SIGKILL');
    await etcd!.leaseClient.leaseRevoke({ ID: lease });
    // the peers go from host 1 at once; the addresses stay during the grace period
    t.true(await eventually(async () => (await fdbOn(1, 'multi')).length === 0, 10_000, 100), 'host 2 peers withdrawn');
    t.true(await eventually(() => graceRunning(2), 10_000, 100), 'grace period started');
    t.deepEqual((await ownedBy(2)).sort(), lost.sort(), 'addresses kept during the grace');
    // after it: freed, and host 1 can take them
    t.true(await eventually(async () => (await ownedBy(2)).length === 0, 30_000, 200), 'addresses reclaimed');
    await sleeper(1, 'heir', 'multi', ['--ip', '10.72.0.9']);
    t.is((await netOf(1, 'heir', 'multi')).ip, '10.72.0.9');
    // (m2 never talked to 10.72.0.9: m1's ARP cache still holds far's MAC until its timers expire)
    const r = await w(1).cli(['exec', 'm2', 'ping', '-c', '1', '-W', '2', '10.72.0.9']);
    t.is(r.exitCode, 0, `the new owner answers: ${r.stdout}${r.stderr}`);

    // host 2 comes back (its containers kept running): it takes back its address nobody took
    // (IPv6) and reports the one given away, whose new owner keeps it
    await w(2).startDaemon(['--cluster-store', mh!.clusterStore, '--advertise-addr', hostIp(2), ...DAEMON_ARGS]);
    t.true(await eventually(async () => (await addressOwners()).get(far.ip6) === hostIp(2), 15_000, 100), 'v6 taken back');
    t.is((await addressOwners()).get('10.72.0.9'), hostIp(1));
    const conflict =
      /address 10\.72\.0\.9 of endpoint \w+ \(container far\) was reclaimed while this host was away and another endpoint holds it now/;
    t.true(await eventually(async () => conflict.test(w(2).daemonLog()), 10_000, 100), 'the conflict is reported');
  },
);
