/**
 * rtnetlink against the real kernel. Everything happens inside throwaway network namespaces
 * (`ip netns add tsnet-nl-test-<random>`) that each test deletes in t.teardown, even on
 * failure; the host's own interfaces are never touched. Sockets for a namespace are opened
 * with a tiny setns of the main thread (this file's own, not src/kernel/netns.ts).
 */
import test, { type ExecutionContext } from 'ava';
import koffi from 'koffi';
import * as fs from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Netlink, isErrno, type LinkInfo } from '../../src/kernel/netlink/index.js';
import { isTsnetError, type TsnetError } from '../../src/errors/index.js';
import { ifaceSysctlKey, readSysctl, writeSysctl } from '../../src/kernel/sysctl.js';
import { requireNeeds } from '../helpers/preconditions.js';
import { createSyncNetlinkOpener } from '../../src/kernel/netlink/sync-socket.js';

const serial = test.serial;
test.before(() => requireNeeds({ root: true }));
/** TSNET_TEST_NETLINK=sync: every socket over the synchronous transport (kernel-netlink-sync.test.ts). */
const SYNC = process.env.TSNET_TEST_NETLINK === 'sync' ? createSyncNetlinkOpener() : undefined;
const openNetlink = (): Netlink => (SYNC ? Netlink.openSync(SYNC) : Netlink.open());

const CLONE_NEWNET = 0x40000000;
const libc = koffi.load('libc.so.6');
const setns = libc.func('int setns(int fd, int nstype)') as (fd: number, nstype: number) => number;

/** Run fn synchronously with the main thread in the netns at `path`; always switch back. */
function inNetns<T>(path: string, fn: () => T): T {
  const self = fs.openSync('/proc/thread-self/ns/net', 'r');
  try {
    const target = fs.openSync(path, 'r');
    try {
      if (setns(target, CLONE_NEWNET) !== 0) throw new Error(`setns(${path}) failed: errno ${koffi.errno()}`);
    } finally {
      fs.closeSync(target);
    }
    try {
      return fn();
    } finally {
      if (setns(self, CLONE_NEWNET) !== 0) {
        // Never continue in the wrong namespace.
        process.stderr.write(`FATAL: setns back failed: errno ${koffi.errno()}\n`);
        process.exit(99);
      }
    }
  } finally {
    fs.closeSync(self);
  }
}

interface Ns {
  name: string;
  path: string;
  /** fd of the netns file (for IFLA_NET_NS_FD). */
  fd: number;
  nl: Netlink;
}

function makeNs(t: ExecutionContext): Ns {
  const name = `tsnet-nl-test-${randomBytes(4).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name]);
  const path = `/run/netns/${name}`;
  let fd = -1;
  let nl: Netlink | undefined;
  t.teardown(() => {
    nl?.close();
    if (fd >= 0) fs.closeSync(fd);
    spawnSync('ip', ['netns', 'del', name]);
  });
  fd = fs.openSync(path, 'r');
  nl = inNetns(path, () => openNetlink());
  return { name, path, fd, nl };
}

/** Run a command inside the netns (traffic and reads stay inside our namespaces). */
function nsExec(ns: Ns, cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('nsenter', [`--net=${ns.path}`, cmd, ...args], { encoding: 'utf8', timeout: 10_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function pingCmd(): string[] {
  for (const p of ['/usr/bin/ping', '/bin/ping', '/usr/sbin/ping']) if (fs.existsSync(p)) return [p];
  for (const p of ['/bin/busybox', '/usr/bin/busybox']) if (fs.existsSync(p)) return [p, 'ping'];
  return ['ping'];
}

function ping(ns: Ns, ip: string): { status: number | null; stdout: string; stderr: string } {
  const [cmd, ...pre] = pingCmd();
  return nsExec(ns, cmd!, [...pre, '-c1', '-W1', ip]);
}

function ipJson(ns: Ns, args: string[]): unknown {
  const r = nsExec(ns, 'ip', ['-j', ...args]);
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function bridgeJson(ns: Ns, args: string[]): unknown {
  const r = nsExec(ns, 'bridge', ['-j', ...args]);
  if (r.status !== 0) throw new Error(`bridge ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout || '[]');
}

async function must(nl: Netlink, name: string): Promise<LinkInfo> {
  const l = await nl.getLink(name);
  if (!l) throw new Error(`link ${name} missing`);
  return l;
}

async function netlinkFailure(p: Promise<unknown>): Promise<TsnetError> {
  try {
    await p;
  } catch (err) {
    if (isTsnetError(err)) return err;
    throw err;
  }
  throw new Error('expected a failure');
}

serial('bridge + veth with the peer created in another netns: addresses, master, routes, neighbour, ping', async (t) => {
  const host = makeNs(t);
  const ctr = makeNs(t);
  const a = host.nl;
  const b = ctr.nl;

  await a.addBridge('tsbr0', { mtu: 1500, mac: '02:42:0a:e7:00:01' });
  await a.addAddress('tsbr0', '10.231.0.1/24');
  await a.setUp('tsbr0');
  const br = await must(a, 'tsbr0');
  t.is(br.kind, 'bridge');
  t.is(br.mac, '02:42:0a:e7:00:01');
  t.true(br.up);

  await a.addVeth('tsv0', { name: 'eth0', netnsFd: ctr.fd, mac: '02:42:0a:e7:00:02', mtu: 1450 }, { mtu: 1450 });
  t.is(await a.getLink('eth0'), undefined, 'the peer is not created in the host netns');
  await a.setMaster('tsv0', 'tsbr0');
  await a.setUp('tsv0');
  const hostEnd = await must(a, 'tsv0');
  t.is(hostEnd.kind, 'veth');
  t.is(hostEnd.master, br.index);
  t.is(hostEnd.slaveKind, 'bridge');
  t.true(hostEnd.up);
  t.is(hostEnd.mtu, 1450);
  t.not(hostEnd.linkNetnsId, undefined, 'peer lives in another netns');

  const eth0 = await must(b, 'eth0');
  t.is(eth0.kind, 'veth');
  t.is(eth0.mac, '02:42:0a:e7:00:02');
  t.is(eth0.mtu, 1450);
  t.is(eth0.parentIndex, hostEnd.index, 'IFLA_LINK of the peer is the host end');

  await b.setUp('lo');
  await b.addAddress('eth0', '10.231.0.2/24');
  await b.setUp('eth0');
  await b.addRoute({ dst: 'default', gateway: '10.231.0.1', dev: 'eth0' });

  const addrs = await b.listAddresses('eth0');
  t.deepEqual(
    addrs.filter((x) => x.family === 4).map(({ link, cidr, family, scope }) => ({ link, cidr, family, scope })),
    [{ link: 'eth0', cidr: '10.231.0.2/24', family: 4, scope: 'universe' }],
  );
  const all = await b.listAddresses();
  t.true(all.some((x) => x.link === 'lo' && x.cidr === '127.0.0.1/8'));
  // cross-check with iproute2, including the broadcast address we set
  const ipAddr = ipJson(ctr, ['addr', 'show', 'dev', 'eth0']) as Array<{
    addr_info: Array<{ local: string; prefixlen: number; broadcast?: string }>;
  }>;
  const v4 = ipAddr[0]!.addr_info.find((x) => x.local === '10.231.0.2');
  t.is(v4?.prefixlen, 24);
  t.is(v4?.broadcast, '10.231.0.255');

  const routes = await b.listRoutes({ family: 4 });
  const def = routes.find((r) => r.dst === 'default');
  t.like(def, { family: 4, gateway: '10.231.0.1', dev: 'eth0', table: 254, scope: 'universe', type: 'unicast', protocol: 3 });
  const connected = routes.find((r) => r.dst === '10.231.0.0/24');
  t.like(connected, { dev: 'eth0', scope: 'link', protocol: 2 /* kernel */, src: '10.231.0.2' });

  await b.addNeighbour({ dev: 'eth0', ip: '10.231.0.1', mac: br.mac, permanent: true });
  const neighs = await b.listNeighbours({ dev: 'eth0' });
  t.like(
    neighs.find((n) => n.ip === '10.231.0.1'),
    { dev: 'eth0', mac: '02:42:0a:e7:00:01', permanent: true, family: 4 },
  );
  const dupNeigh = await netlinkFailure(b.addNeighbour({ dev: 'eth0', ip: '10.231.0.1', mac: br.mac }));
  t.is(dupNeigh.details?.errno, 'EEXIST');
  await b.addNeighbour({ dev: 'eth0', ip: '10.231.0.1', mac: br.mac, replace: true });

  const p = ping(ctr, '10.231.0.1');
  t.is(p.status, 0, `ping from the peer netns to the bridge ip: ${p.stdout}${p.stderr}`);

  // hairpin on the bridge port, read back through netlink and through iproute2
  await a.setBridgePortOptions('tsv0', { hairpin: true });
  t.deepEqual((await must(a, 'tsv0')).bridgePort, { hairpin: true, learning: true });
  const bl = bridgeJson(host, ['-d', 'link', 'show', 'dev', 'tsv0']) as Array<{ hairpin?: boolean }>;
  t.is(bl[0]?.hairpin, true);
  await a.setBridgePortOptions('tsv0', { hairpin: false });
  t.is((await must(a, 'tsv0')).bridgePort?.hairpin, false);

  // route / neighbour / address deletes are idempotent
  await b.delRoute({ dst: 'default', gateway: '10.231.0.1', dev: 'eth0' });
  t.false((await b.listRoutes({ family: 4 })).some((r) => r.dst === 'default'));
  await b.delRoute({ dst: 'default', gateway: '10.231.0.1', dev: 'eth0' });
  await b.delNeighbour({ dev: 'eth0', ip: '10.231.0.1' });
  await b.delNeighbour({ dev: 'eth0', ip: '10.231.0.1' });
  t.false((await b.listNeighbours({ dev: 'eth0' })).some((n) => n.ip === '10.231.0.1' && n.permanent));
  await b.delAddress('eth0', '10.231.0.2/24');
  await b.delAddress('eth0', '10.231.0.2/24');
  t.false((await b.listAddresses('eth0')).some((x) => x.cidr === '10.231.0.2/24'));

  // a deleted veth end takes its peer with it; delete is idempotent
  await a.deleteLink('tsv0');
  await a.deleteLink('tsv0');
  t.is(await a.getLink('tsv0'), undefined);
  t.is(await b.getLink('eth0'), undefined);
});

serial('link attributes: mtu, mac, down, rename, detach, move to netns, static routes with a table and metric', async (t) => {
  const host = makeNs(t);
  const other = makeNs(t);
  const a = host.nl;

  await a.addBridge('tsbr1');
  await a.addVeth('tsm0', { name: 'tsm0p' });
  await a.setMaster('tsm0', 'tsbr1');
  t.is((await must(a, 'tsm0')).master, (await must(a, 'tsbr1')).index);
  await a.setMaster('tsm0', null);
  t.is((await must(a, 'tsm0')).master, undefined);

  await a.setMtu('tsm0', 1400);
  await a.setMac('tsm0', '02:00:00:00:aa:01');
  await a.setUp('tsm0');
  let l = await must(a, 'tsm0');
  t.like(l, { mtu: 1400, mac: '02:00:00:00:aa:01', up: true });
  await a.setDown('tsm0');
  t.false((await must(a, 'tsm0')).up);
  await a.setUp(l.index); // by index
  t.true((await must(a, 'tsm0')).up);
  await a.setDown(l.index);

  await a.rename('tsm0', 'tsm0new');
  t.is(await a.getLink('tsm0'), undefined);
  l = await must(a, 'tsm0new');
  t.is((await a.getLink(l.index))?.name, 'tsm0new');

  await a.moveToNetns('tsm0p', other.fd);
  t.is(await a.getLink('tsm0p'), undefined);
  t.is((await must(other.nl, 'tsm0p')).kind, 'veth');

  const names = (await a.listLinks()).map((x) => x.name).sort();
  t.deepEqual(names, ['lo', 'tsbr1', 'tsm0new']);

  // routes: link-scope device route, gateway route in another table with a metric, replace
  await a.setUp('tsbr1');
  await a.addAddress('tsbr1', '10.233.0.1/24');
  await a.addRoute({ dst: '10.240.0.0/16', dev: 'tsbr1' });
  await a.addRoute({ dst: '10.241.0.0/16', gateway: '10.233.0.9', table: 100, metric: 50 });
  await a.addRoute({ dst: '10.242.0.0/16', gateway: '10.233.0.9', src: '10.233.0.1' });
  const main = await a.listRoutes({ family: 4 });
  t.like(
    main.find((r) => r.dst === '10.240.0.0/16'),
    { dev: 'tsbr1', scope: 'link' },
  );
  t.like(
    main.find((r) => r.dst === '10.242.0.0/16'),
    { gateway: '10.233.0.9', src: '10.233.0.1', dev: 'tsbr1' },
  );
  t.false(
    main.some((r) => r.dst === '10.241.0.0/16'),
    'table 100 route not in main',
  );
  const t100 = await a.listRoutes({ family: 4, table: 100 });
  t.like(
    t100.find((r) => r.dst === '10.241.0.0/16'),
    { gateway: '10.233.0.9', metric: 50, table: 100 },
  );
  const dupRoute = await netlinkFailure(a.addRoute({ dst: '10.240.0.0/16', dev: 'tsbr1' }));
  t.is(dupRoute.details?.errno, 'EEXIST');
  t.regex(dupRoute.message, /^add route 10\.240\.0\.0\/16 dev tsbr1: EEXIST$/);
  await a.replaceRoute({ dst: '10.240.0.0/16', gateway: '10.233.0.7' });
  t.like(
    (await a.listRoutes({ family: 4 })).find((r) => r.dst === '10.240.0.0/16'),
    { gateway: '10.233.0.7' },
  );
  await a.delRoute({ dst: '10.241.0.0/16', table: 100 });
  t.false((await a.listRoutes({ family: 4, table: 'all' })).some((r) => r.dst === '10.241.0.0/16'));
  // onlink: a gateway no address covers
  await a.addRoute({ dst: '10.243.0.0/16', gateway: '192.0.2.1', dev: 'tsbr1', onlink: true });
  t.like(
    (await a.listRoutes({ family: 4 })).find((r) => r.dst === '10.243.0.0/16'),
    { gateway: '192.0.2.1' },
  );
});

serial('errors carry the errno and the operation', async (t) => {
  const host = makeNs(t);
  const other = makeNs(t);
  const a = host.nl;
  await a.addBridge('tsbr2');

  const dup = await netlinkFailure(a.addBridge('tsbr2'));
  t.is(dup.code, 'TSNET_NETLINK');
  t.is(dup.message, 'add bridge tsbr2: EEXIST');
  t.deepEqual(dup.details, { op: 'add bridge tsbr2', errno: 'EEXIST' });
  t.true(isErrno(dup, 'EEXIST'));
  t.false(isErrno(dup, 'ENODEV'));

  // the peer name already exists in the target netns: nothing is left behind on either side
  await other.nl.addBridge('eth0');
  const peerDup = await netlinkFailure(a.addVeth('tsv9', { name: 'eth0', netnsFd: other.fd }));
  t.is(peerDup.message, 'add veth tsv9 (peer eth0): EEXIST');
  t.is(await a.getLink('tsv9'), undefined);

  const missing = await netlinkFailure(a.setUp('nosuch0'));
  t.is(missing.message, 'set link nosuch0 up: ENODEV');
  t.true(isErrno(missing, 'ENODEV'));
  const missingAddr = await netlinkFailure(a.addAddress('nosuch0', '10.0.0.1/24'));
  t.is(missingAddr.message, 'add address 10.0.0.1/24 to nosuch0: ENODEV');
  const missingMaster = await netlinkFailure(a.setMaster('tsbr2', 'nosuch1'));
  t.is(missingMaster.details?.errno, 'ENODEV');
  t.regex(missingMaster.message, /set master of tsbr2 to nosuch1/);

  // idempotent deletes of things that never existed
  await a.deleteLink('nosuch0');
  await a.delAddress('nosuch0', '10.0.0.1/24');
  await a.delAddress('tsbr2', '10.0.0.1/24');
  await a.delRoute({ dst: '10.99.0.0/16', dev: 'tsbr2' });
  await a.delNeighbour({ dev: 'tsbr2', ip: '10.0.0.9' });
  await a.delFdb({ dev: 'tsbr2', mac: '02:00:00:00:00:09' });

  // bad input is refused before any kernel call
  const bad = await netlinkFailure(a.addAddress('tsbr2', '10.0.0.300/24'));
  t.is(bad.code, 'TSNET_INVALID_ARGUMENT');
  const badMac = await netlinkFailure(a.setMac('tsbr2', 'zz:00:00:00:00:00'));
  t.is(badMac.code, 'TSNET_INVALID_ARGUMENT');

  // a closed socket fails cleanly
  const nl2 = inNetns(host.path, () => openNetlink());
  nl2.close();
  nl2.close();
  const closed = await netlinkFailure(nl2.getLink('lo'));
  t.is(closed.details?.errno, 'EBADF');
});

serial('IPv6: address with nodad, routes, ping6 across the veth', async (t) => {
  const host = makeNs(t);
  const ctr = makeNs(t);
  const a = host.nl;
  const b = ctr.nl;

  await a.addBridge('tsbr6');
  await a.setUp('tsbr6');
  await a.addAddress('tsbr6', 'fd00:231::1/64', { noDad: true });
  await a.addVeth('tsv6', { name: 'eth0', netnsFd: ctr.fd });
  await a.setMaster('tsv6', 'tsbr6');
  await a.setUp('tsv6');
  await b.setUp('lo');
  await b.addAddress('eth0', 'fd00:231::2/64', { noDad: true });
  await b.setUp('eth0');
  await b.addRoute({ dst: 'default', gateway: 'fd00:231::1', dev: 'eth0' });

  const addr = (await b.listAddresses('eth0', 6)).find((x) => x.cidr === 'fd00:231::2/64');
  t.like(addr, { family: 6, link: 'eth0', tentative: false, scope: 'universe' });
  const v6routes = await b.listRoutes({ family: 6 });
  t.like(
    v6routes.find((r) => r.dst === 'default'),
    { family: 6, gateway: 'fd00:231::1', dev: 'eth0' },
  );
  t.truthy(v6routes.find((r) => r.dst === 'fd00:231::/64'));

  await a.addRoute({ dst: 'fd00:232::/64', gateway: 'fd00:231::2', dev: 'tsbr6', metric: 10 });
  t.like(
    (await a.listRoutes({ family: 6 })).find((r) => r.dst === 'fd00:232::/64'),
    { gateway: 'fd00:231::2', metric: 10 },
  );
  await a.replaceRoute({ dst: 'fd00:232::/64', gateway: 'fd00:231::3', dev: 'tsbr6', metric: 10 });
  t.like(
    (await a.listRoutes({ family: 6 })).find((r) => r.dst === 'fd00:232::/64'),
    { gateway: 'fd00:231::3' },
  );
  await a.delRoute({ dst: 'fd00:232::/64', dev: 'tsbr6', metric: 10 });
  t.false((await a.listRoutes({ family: 6 })).some((r) => r.dst === 'fd00:232::/64'));

  await b.addNeighbour({ dev: 'eth0', ip: 'fd00:231::1', mac: (await must(a, 'tsbr6')).mac });
  t.like(
    (await b.listNeighbours({ dev: 'eth0', family: 6 })).find((n) => n.ip === 'fd00:231::1'),
    { permanent: true, family: 6 },
  );

  const p = ping(ctr, 'fd00:231::1');
  t.is(p.status, 0, `ping6 from the peer netns to the bridge: ${p.stdout}${p.stderr}`);

  await b.delAddress('eth0', 'fd00:231::2/64');
  t.false((await b.listAddresses('eth0', 6)).some((x) => x.cidr === 'fd00:231::2/64'));
});

serial('vxlan with learning off: read back, FDB append/list/delete, bridge port FDB', async (t) => {
  const host = makeNs(t);
  const a = host.nl;

  await a.addBridge('tsul0');
  await a.addAddress('tsul0', '10.232.0.1/24');
  await a.setUp('tsul0');
  const ul = await must(a, 'tsul0');
  await a.addVxlan('tsvx0', { vni: 42, port: 4789, local: '10.232.0.1', underlayIndex: ul.index, learning: false, mtu: 1450 });
  const vx = await must(a, 'tsvx0');
  t.is(vx.kind, 'vxlan');
  t.is(vx.mtu, 1450);
  t.like(vx.vxlan, { vni: 42, port: 4789, local: '10.232.0.1', underlayIndex: ul.index, learning: false });

  const shown = ipJson(host, ['-d', 'link', 'show', 'tsvx0']) as Array<{
    linkinfo: { info_kind: string; info_data: Record<string, unknown> };
  }>;
  t.is(shown[0]!.linkinfo.info_kind, 'vxlan');
  t.like(shown[0]!.linkinfo.info_data, { id: 42, local: '10.232.0.1', port: 4789, learning: false, link: 'tsul0' });

  // flood list: two appended remotes for the all-zero MAC
  const zero = '00:00:00:00:00:00';
  await a.addFdb({ dev: 'tsvx0', mac: zero, dst: '10.232.0.2', append: true, permanent: true });
  await a.addFdb({ dev: 'tsvx0', mac: zero, dst: '10.232.0.3', append: true, permanent: true });
  let fdb = await a.listFdb('tsvx0');
  t.deepEqual(
    fdb
      .filter((e) => e.mac === zero)
      .map((e) => e.dst)
      .sort(),
    ['10.232.0.2', '10.232.0.3'],
  );
  const bf = bridgeJson(host, ['fdb', 'show', 'dev', 'tsvx0']) as Array<{ mac: string; dst?: string }>;
  t.deepEqual(
    bf
      .filter((e) => e.mac === zero)
      .map((e) => e.dst)
      .sort(),
    ['10.232.0.2', '10.232.0.3'],
  );

  // unicast entry for a remote endpoint
  const mac = '02:42:0a:00:00:05';
  await a.addFdb({ dev: 'tsvx0', mac, dst: '10.232.0.2', self: true, permanent: true });
  fdb = await a.listFdb('tsvx0');
  t.like(
    fdb.find((e) => e.mac === mac),
    { dev: 'tsvx0', dst: '10.232.0.2', self: true, permanent: true },
  );
  const dupFdb = await netlinkFailure(a.addFdb({ dev: 'tsvx0', mac, dst: '10.232.0.2' }));
  t.is(dupFdb.details?.errno, 'EEXIST');
  await a.addFdb({ dev: 'tsvx0', mac, dst: '10.232.0.4', replace: true });
  t.is((await a.listFdb('tsvx0')).find((e) => e.mac === mac)?.dst, '10.232.0.4');
  await a.delFdb({ dev: 'tsvx0', mac, dst: '10.232.0.4' });
  await a.delFdb({ dev: 'tsvx0', mac, dst: '10.232.0.4' });
  t.false((await a.listFdb('tsvx0')).some((e) => e.mac === mac));

  // remove one remote of the flood list
  await a.delFdb({ dev: 'tsvx0', mac: zero, dst: '10.232.0.2' });
  t.deepEqual(
    (await a.listFdb('tsvx0')).filter((e) => e.mac === zero).map((e) => e.dst),
    ['10.232.0.3'],
  );

  // neighbour entry on the vxlan device (overlay ARP programming)
  await a.addNeighbour({ dev: 'tsvx0', ip: '10.0.9.5', mac, permanent: true });
  t.like(
    (await a.listNeighbours({ dev: 'tsvx0' })).find((n) => n.ip === '10.0.9.5'),
    { mac, permanent: true },
  );

  // vxlan as a bridge port; a static (not local) FDB entry in the bridge
  await a.addBridge('tsovbr0');
  await a.setMaster('tsvx0', 'tsovbr0');
  const portMac = '02:42:0a:00:00:06';
  await a.addFdb({ dev: 'tsvx0', mac: portMac, master: true, permanent: false });
  const entry = (await a.listFdb('tsvx0')).find((e) => e.mac === portMac);
  t.like(entry, { master: 'tsovbr0', static: true, permanent: false, self: false });
  await a.delFdb({ dev: 'tsvx0', mac: portMac, master: true });
  t.false((await a.listFdb('tsvx0')).some((e) => e.mac === portMac));

  await a.deleteLink('tsvx0');
  t.is(await a.getLink('tsvx0'), undefined);
});

serial('macvlan created directly in another netns', async (t) => {
  const host = makeNs(t);
  const ctr = makeNs(t);
  await host.nl.addVeth('tsmvp0', { name: 'tsmvp1' });
  const parent = await must(host.nl, 'tsmvp0');
  await host.nl.addMacvlan('tsmv0', { parentIndex: parent.index, mode: 'bridge', netnsFd: ctr.fd, mtu: 1400 });
  t.is(await host.nl.getLink('tsmv0'), undefined);
  const mv = await must(ctr.nl, 'tsmv0');
  t.like(mv, { kind: 'macvlan', mtu: 1400 });
  const shown = ipJson(ctr, ['-d', 'link', 'show', 'tsmv0']) as Array<{ linkinfo: { info_data: { mode: string } } }>;
  t.is(shown[0]!.linkinfo.info_data.mode, 'bridge');
});

serial('sysctl inside a netns (sync fs on the switched main thread), dotted interface names', async (t) => {
  const host = makeNs(t);
  const other = makeNs(t);
  await host.nl.addBridge('ts.br.1');
  const otherBefore = inNetns(other.path, () => readSysctl('net.ipv4.ip_forward'));

  inNetns(host.path, () => {
    writeSysctl('net.ipv4.ip_forward', 1);
    t.is(readSysctl('net.ipv4.ip_forward'), '1');
    const key = ifaceSysctlKey('ipv4', 'ts.br.1', 'forwarding');
    t.is(key, 'net/ipv4/conf/ts.br.1/forwarding');
    t.is(readSysctl(key), '1');
    writeSysctl(ifaceSysctlKey('ipv6', 'ts.br.1', 'disable_ipv6'), true);
    t.is(readSysctl('net/ipv6/conf/ts.br.1/disable_ipv6'), '1');
    const err = t.throws(() => readSysctl('net.ipv4.conf.nosuch0.forwarding'));
    t.true(isTsnetError(err, 'TSNET_SYSCTL'));
    t.is((err as TsnetError).details?.errno, 'ENOENT');
  });
  t.is(
    inNetns(other.path, () => readSysctl('net.ipv4.ip_forward')),
    otherBefore,
    'another netns is untouched',
  );
});

serial('concurrent calls on one socket: multi-part dumps and changes interleave safely', async (t) => {
  const host = makeNs(t);
  const a = host.nl;
  // enough links that one dump spans several datagrams
  for (let i = 0; i < 150; i++) await a.addBridge(`tsc${i}`);
  const results = await Promise.all([
    ...Array.from({ length: 5 }, () => a.listLinks()),
    ...Array.from({ length: 30 }, (_, i) => a.setUp(`tsc${i}`)),
    ...Array.from({ length: 5 }, () => a.listAddresses()),
  ]);
  for (const r of results.slice(0, 5)) t.is((r as LinkInfo[]).length, 151);
  t.is((await a.listLinks()).filter((l) => l.up).length, 30);
});

serial('timing: full veth setup (median of 20)', async (t) => {
  const host = makeNs(t);
  const a = host.nl;
  await a.addBridge('tsbrt');
  await a.addAddress('tsbrt', '10.250.0.1/16');
  await a.setUp('tsbrt');

  const N = 20;
  const WARM = 2;
  const ctrs: Ns[] = [];
  for (let i = 0; i < N + WARM; i++) ctrs.push(makeNs(t));

  const times: number[] = [];
  const withOpen: number[] = [];
  for (let i = 0; i < N + WARM; i++) {
    const c = ctrs[i]!;
    const hostName = `tst${i}`;
    const ip = `10.250.${1 + i}.2/16`;
    const t0 = process.hrtime.bigint();
    await a.addVeth(hostName, { name: 'eth0', netnsFd: c.fd });
    await a.setMaster(hostName, 'tsbrt');
    await a.setUp(hostName);
    await c.nl.addAddress('eth0', ip);
    await c.nl.setUp('eth0');
    await c.nl.addRoute({ dst: 'default', gateway: '10.250.0.1', dev: 'eth0' });
    const t1 = process.hrtime.bigint();
    if (i >= WARM) times.push(Number(t1 - t0) / 1e6);
  }
  // the same, but opening the container-side socket (setns + socket + setns back) each time
  const ctrs2: Ns[] = [];
  for (let i = 0; i < N + WARM; i++) ctrs2.push(makeNs(t));
  for (let i = 0; i < N + WARM; i++) {
    const c = ctrs2[i]!;
    const hostName = `tsu${i}`;
    const t0 = process.hrtime.bigint();
    const nl = inNetns(c.path, () => openNetlink());
    try {
      await a.addVeth(hostName, { name: 'eth0', netnsFd: c.fd });
      await a.setMaster(hostName, 'tsbrt');
      await a.setUp(hostName);
      await nl.addAddress('eth0', `10.250.${100 + i}.2/16`);
      await nl.setUp('eth0');
      await nl.addRoute({ dst: 'default', gateway: '10.250.0.1', dev: 'eth0' });
    } finally {
      nl.close();
    }
    const t1 = process.hrtime.bigint();
    if (i >= WARM) withOpen.push(Number(t1 - t0) / 1e6);
  }
  const median = (xs: number[]): number => {
    const s = [...xs].sort((x, y) => x - y);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const fmt = (xs: number[]): string =>
    `median ${median(xs).toFixed(2)} ms (min ${Math.min(...xs).toFixed(2)}, max ${Math.max(...xs).toFixed(2)})`;
  t.log(`veth setup, sockets pre-opened: ${fmt(times)}`);
  t.log(`veth setup, incl. opening the container netns socket: ${fmt(withOpen)}`);
  t.is(times.length, N);
  t.true(median(times) < 50, 'a veth setup stays far below the cost of exec-ing ip');
});
