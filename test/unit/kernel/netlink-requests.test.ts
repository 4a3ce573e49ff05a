/**
 * Request building without a kernel: a fake RtNetlinkSocket records what Netlink sends.
 */
import test from 'ava';
import { FlagsNew, ifla, rt, type RtNetlinkSocket } from 'netlink';
import { Netlink, isErrno } from '../../../src/kernel/netlink/index.js';
import { isTsnetError, type TsnetError } from '../../../src/errors/index.js';

interface Call {
  method: string;
  data: Record<string, unknown>;
  attrs: Record<string, unknown>;
  flags: number;
}

/** `fail`: per method, the errno its requests are rejected with (a function: only for the requests it names one for). */
type Fail = string | ((attrs: Record<string, unknown>) => string | undefined);

function fake(links: Record<string, number> = { eth0: 2, br0: 3 }, fail: Record<string, Fail> = {}) {
  const calls: Call[] = [];
  const handler =
    (method: string) =>
    async (data: Record<string, unknown> = {}, attrs: Record<string, unknown> = {}, options: { flags?: number } = {}) => {
      calls.push({ method, data, attrs, flags: options.flags ?? 0 });
      const f = fail[method];
      const errno = typeof f === 'function' ? f(attrs) : f;
      if (errno) throw new Error(`Request rejected: ${errno}`);
      if (method === 'getLink') {
        const name = attrs.ifname as string | undefined;
        const index = name !== undefined ? links[name] : (data.index as number);
        if (!index) throw new Error('Request rejected: ENODEV');
        return [{ kind: 'link', data: { index, flags: { up: true } }, attrs: { ifname: name ?? 'x', mtu: 1500 } }];
      }
      if (method === 'getLinks') {
        return Object.entries(links).map(([n, i]) => ({ kind: 'link', data: { index: i }, attrs: { ifname: n } }));
      }
      return [];
    };
  // indexOf asks for an index with a raw RTM_GETLINK (no counters) and reads it from the answer's
  // ifinfomsg; the join's requests go as bytes (src/kernel/netlink/wire.ts): read back into the
  // package's objects, recorded as the package's methods would have been
  const request = async (type: number, data: Uint8Array[], options: { flags?: number } = {}) => {
    const body = Buffer.concat(data);
    const raw = RAW_METHODS[type];
    if (raw) {
      const call = { method: raw, ...decodeRaw(type, body), flags: options.flags ?? 0 };
      return handler(raw)(call.data, call.attrs, { flags: call.flags }).then(() => [[], { port: 0, groups: 0 }]);
    }
    const attrs = rt.parseLinkMessage(body).attrs;
    calls.push({ method: 'getLink', data: {}, attrs: { ifname: attrs.ifname, extMask: attrs.extMask }, flags: type });
    if (fail.getLink) throw new Error(`Request rejected: ${fail.getLink}`);
    const index = links[attrs.ifname ?? ''];
    if (!index) throw Object.assign(new Error('Request rejected: ENODEV'), { code: 'ENODEV' });
    const answer = Buffer.alloc(16);
    answer.writeInt32LE(index, 4);
    return [[{ type: 16, flags: 0, seq: 0, port: 0, data: answer }], { port: 0, groups: 0 }];
  };
  const sock = new Proxy(
    { socket: { on() {}, close() {}, request } },
    { get: (target, prop) => (prop in target ? (target as Record<string | symbol, unknown>)[prop] : handler(String(prop))) },
  ) as unknown as RtNetlinkSocket;
  return { nl: new Netlink(sock), calls };
}

const RAW_METHODS: Record<number, string> = { 16: 'newLink', 19: 'setLink', 20: 'newAddress', 24: 'newRoute', 25: 'delRoute' };

/** A raw request body as the package's data/attrs objects (the fields tsnet sets; zero ones left out). */
function decodeRaw(type: number, body: Buffer): { data: Record<string, unknown>; attrs: Record<string, unknown> } {
  if (type === 16 || type === 19) {
    const data: Record<string, unknown> = {};
    const index = body.readInt32LE(4);
    if (index) data.index = index;
    const [flags, change] = [body.readUInt32LE(8), body.readUInt32LE(12)];
    if (flags || change) {
      data.flags = flags & 1 ? { up: true } : {};
      data.change = change & 1 ? { up: true } : {};
    }
    return { data, attrs: { ...ifla.parseLinkAttrs(body.subarray(16)) } };
  }
  if (type === 20) {
    const data: Record<string, unknown> = { family: body[0], prefixlen: body[1], index: body.readUInt32LE(4) };
    if (body[2]! & 2) data.flags = { nodad: true };
    return { data, attrs: { ...rt.parseAddressAttrs(body.subarray(8)) } };
  }
  const data: Record<string, unknown> = {
    family: body[0],
    dstLen: body[1],
    table: body[4],
    scope: body[6],
    protocol: body[5],
    type: body[7],
  };
  if (body.readUInt32LE(8)) data.flags = { __unknown: body.readUInt32LE(8) };
  return { data, attrs: { ...rt.parseRouteAttrs(body.subarray(12)) } };
}

test('addBridge: NEWLINK with CREATE|EXCL and linkinfo kind bridge', async (t) => {
  const { nl, calls } = fake();
  await nl.addBridge('br1', { mtu: 9000, mac: '02:00:00:00:00:01' });
  const c = calls[0]!;
  t.is(c.method, 'newLink');
  t.is(c.flags, FlagsNew.CREATE | FlagsNew.EXCL);
  t.is(c.attrs.ifname, 'br1');
  t.is(c.attrs.mtu, 9000);
  t.deepEqual(c.attrs.address, Buffer.from([2, 0, 0, 0, 0, 1]));
  t.is(ifla.parseInfo(c.attrs.linkinfo as Buffer).kind, 'bridge');
});

test('setUp by name sends ifname, by index sends index; one request', async (t) => {
  const { nl, calls } = fake();
  await nl.setUp('eth0');
  await nl.setDown(7);
  t.is(calls.length, 2);
  t.deepEqual(calls[0]!.data, { flags: { up: true }, change: { up: true } });
  t.deepEqual(calls[0]!.attrs, { ifname: 'eth0' });
  t.deepEqual(calls[1]!.data, { index: 7, flags: {}, change: { up: true } });
});

const NO_LINK_LOCAL = new Map([[10, Buffer.from([5, 0, 8, 0, 1, 0, 0, 0])]]); // AF_INET6 { ADDR_GEN_MODE: NONE }

test('setUp with noLinkLocal: IPv6 address generation off in the same request; a link without IPv6 gets it again without', async (t) => {
  const { nl, calls } = fake();
  await nl.setUp('eth0', { noLinkLocal: true });
  t.is(calls.length, 1);
  t.deepEqual(calls[0]!.data, { flags: { up: true }, change: { up: true } });
  t.deepEqual(calls[0]!.attrs, { ifname: 'eth0', afSpec: NO_LINK_LOCAL });
  const { nl: nl2, calls: calls2 } = fake(undefined, { setLink: (a) => (a.afSpec ? 'EAFNOSUPPORT' : undefined) });
  await nl2.setUp('eth0', { noLinkLocal: true });
  t.deepEqual(
    calls2.map((c) => c.attrs),
    [{ ifname: 'eth0', afSpec: NO_LINK_LOCAL }, { ifname: 'eth0' }],
  );
});

test('setNoLinkLocal: one request with the mode alone; a link without IPv6 is no error', async (t) => {
  const { nl, calls } = fake();
  await nl.setNoLinkLocal('mv0');
  t.is(calls.length, 1);
  t.is(calls[0]!.method, 'setLink');
  t.deepEqual(calls[0]!.data, {});
  t.deepEqual(calls[0]!.attrs, { ifname: 'mv0', afSpec: NO_LINK_LOCAL });
  const { nl: nl2, calls: calls2 } = fake(undefined, { setLink: 'EAFNOSUPPORT' });
  await t.notThrowsAsync(nl2.setNoLinkLocal('mv0'));
  t.is(calls2.length, 1);
  const { nl: nl3 } = fake(undefined, { setLink: 'ENODEV' });
  await t.throwsAsync(nl3.setNoLinkLocal('mv0'), { message: /ENODEV/ });
});

test('veth with noLinkLocal: the host end gets the mode with its alias and hairpin (the create cannot carry it)', async (t) => {
  const { nl, calls } = fake();
  await nl.addVeth(
    'tsabc',
    { name: 'eth0' },
    { master: 3, up: true, alias: 'm', bridgePort: { hairpin: true }, noLinkLocal: true },
  );
  t.is(calls.length, 2);
  t.is(calls[0]!.attrs.afSpec, undefined, 'not in the create');
  t.deepEqual(calls[1]!.attrs.afSpec, NO_LINK_LOCAL);
  t.is(calls[1]!.attrs.ifalias, 'm');
  const { nl: nl2, calls: calls2 } = fake(undefined, { newLink: (a) => (a.afSpec ? 'EAFNOSUPPORT' : undefined) });
  await nl2.addVeth('tsabc', { name: 'eth0' }, { master: 3, alias: 'm', bridgePort: { hairpin: true }, noLinkLocal: true });
  t.is(calls2.length, 3, 'create, with the mode, again without');
  t.is(calls2[2]!.attrs.ifalias, 'm');
  t.is(calls2[2]!.attrs.afSpec, undefined);
  t.false(
    calls2.some((c) => c.method === 'delLink'),
    'the pair stays',
  );
});

test('setMaster looks the bridge up; null detaches with master 0', async (t) => {
  const { nl, calls } = fake();
  await nl.setMaster('eth0', 'br0');
  t.is(calls[0]!.method, 'getLink');
  t.is(calls[0]!.attrs.ifname, 'br0');
  t.deepEqual(calls[0]!.attrs.extMask, Buffer.from([8, 0, 0, 0]), 'the lookup asks for no counters');
  t.like(calls[1]!, { method: 'setLink', attrs: { ifname: 'eth0', master: 3 } });
  await nl.setMaster('eth0', null);
  t.like(calls[2]!, { method: 'setLink', attrs: { ifname: 'eth0', master: 0 } });
});

test('addAddress v4 sets local, address and broadcast; v6 nodad', async (t) => {
  const { nl, calls } = fake();
  await nl.addAddress('eth0', '10.1.2.3/20');
  const c = calls[1]!;
  t.deepEqual(c.data, { family: 2, prefixlen: 20, index: 2 });
  t.deepEqual(c.attrs.local, Buffer.from([10, 1, 2, 3]));
  t.deepEqual(c.attrs.address, Buffer.from([10, 1, 2, 3]));
  t.deepEqual(c.attrs.broadcast, Buffer.from([10, 1, 15, 255]));
  await nl.addAddress('eth0', 'fd00::2/64', { noDad: true });
  const c6 = calls[3]!;
  t.deepEqual(c6.data, { family: 10, prefixlen: 64, index: 2, flags: { nodad: true } });
  t.is(c6.attrs.broadcast, undefined);
});

test('routes: defaults for device routes, gateway routes, tables > 255, delete matches any scope', async (t) => {
  const { nl, calls } = fake();
  await nl.addRoute({ dst: '10.0.0.0/8', dev: 'eth0' });
  t.like(calls[1]!, { method: 'newRoute', data: { family: 2, dstLen: 8, table: 254, scope: 253, protocol: 3, type: 1 } });
  t.is(calls[1]!.flags, FlagsNew.CREATE | FlagsNew.EXCL);
  t.is(calls[1]!.attrs.oif, 2);

  await nl.addRoute({ dst: 'default', gateway: '10.0.0.1', table: 1000, metric: 5 });
  const d = calls[2]!;
  t.like(d.data, { family: 2, dstLen: 0, table: 0, scope: 0 });
  t.is(d.attrs.table, 1000);
  t.is(d.attrs.priority, 5);
  t.is(d.attrs.dst, undefined);
  t.deepEqual(d.attrs.gateway, Buffer.from([10, 0, 0, 1]));

  await nl.replaceRoute({ dst: 'default', gateway: 'fd00::1' });
  t.like(calls[3]!, { data: { family: 10, dstLen: 0 } });
  t.is(calls[3]!.flags, FlagsNew.CREATE | FlagsNew.REPLACE);

  await nl.addRoute({ dst: 'default', family: 6, dev: 'eth0' });
  t.like(calls[5]!, { data: { family: 10, scope: 0 } });

  await nl.delRoute({ dst: '10.0.0.0/8' });
  t.like(calls[6]!, { method: 'delRoute', data: { scope: 255, protocol: 0, type: 0 } });

  await nl.addRoute({ dst: '10.9.0.0/16', gateway: '192.0.2.1', dev: 'eth0', onlink: true });
  t.deepEqual(calls[8]!.data.flags, { __unknown: 4 });

  const bad = await t.throwsAsync(nl.addRoute({ dst: '10.0.0.0/8', gateway: 'fd00::1' }));
  t.true(isTsnetError(bad, 'TSNET_INVALID_ARGUMENT'));
});

test('delRoute is idempotent on ESRCH; other errors surface with the op', async (t) => {
  const { nl } = fake(undefined, { delRoute: 'ESRCH' });
  await t.notThrowsAsync(nl.delRoute({ dst: '10.0.0.0/8' }));
  const { nl: nl2 } = fake(undefined, { delRoute: 'EPERM' });
  const err = (await t.throwsAsync(nl2.delRoute({ dst: '10.0.0.0/8', dev: 'eth0' }))) as TsnetError;
  t.is(err.message, 'delete route 10.0.0.0/8 dev eth0: EPERM');
});

test('FDB: self by default, permanent|noarp, APPEND; master static; vni/port encodings', async (t) => {
  const { nl, calls } = fake();
  await nl.addFdb({ dev: 'eth0', mac: '00:00:00:00:00:00', dst: '10.0.0.2', append: true, vni: 42, port: 4789 });
  const c = calls[1]!;
  t.is(c.method, 'newNeighbor');
  t.deepEqual(c.data, { family: 7, ifindex: 2, flags: { self: true }, state: { permanent: true, noarp: true } });
  t.is(c.flags, FlagsNew.CREATE | FlagsNew.APPEND);
  t.deepEqual(c.attrs.dst, Buffer.from([10, 0, 0, 2]));
  t.deepEqual(c.attrs.vni, Buffer.from([42, 0, 0, 0]));
  t.deepEqual(c.attrs.port, Buffer.from([0x12, 0xb5]));

  await nl.addFdb({ dev: 'eth0', mac: '02:00:00:00:00:01', master: true, permanent: false });
  t.deepEqual(calls[3]!.data, { family: 7, ifindex: 2, flags: { master: true }, state: { noarp: true, reachable: true } });
  t.is(calls[3]!.flags, FlagsNew.CREATE | FlagsNew.EXCL);

  await nl.delFdb({ dev: 'eth0', mac: '02:00:00:00:00:01', master: true });
  t.deepEqual(calls[5]!.data, { family: 7, ifindex: 2, flags: { master: true } });
});

test('neighbours: permanent by default, replace flag', async (t) => {
  const { nl, calls } = fake();
  await nl.addNeighbour({ dev: 'eth0', ip: '10.0.0.5', mac: '02:00:00:00:00:05' });
  t.deepEqual(calls[1]!.data, { family: 2, ifindex: 2, state: { permanent: true } });
  t.is(calls[1]!.flags, FlagsNew.CREATE | FlagsNew.EXCL);
  await nl.addNeighbour({ dev: 'eth0', ip: 'fd00::5', mac: '02:00:00:00:00:05', replace: true });
  t.like(calls[3]!.data, { family: 10 });
  t.is(calls[3]!.flags, FlagsNew.CREATE | FlagsNew.REPLACE);
});

test('a missing link: getLink → undefined, deleteLink → ok, other ops → ENODEV with the op', async (t) => {
  const { nl } = fake();
  t.is(await nl.getLink('nope'), undefined);
  const err = (await t.throwsAsync(nl.addAddress('nope', '10.0.0.1/24'))) as TsnetError;
  t.is(err.code, 'TSNET_NETLINK');
  t.is(err.message, 'add address 10.0.0.1/24 to nope: ENODEV');
  t.true(isErrno(err, 'ENODEV'));
  const { nl: nl2 } = fake(undefined, { delLink: 'ENODEV' });
  await t.notThrowsAsync(nl2.deleteLink('nope'));
});

test('veth: peer attributes travel inside linkinfo; error names the peer', async (t) => {
  const { nl, calls } = fake(undefined, {});
  await nl.addVeth('tsabc', { name: 'eth0', netnsFd: 12, mac: '02:00:00:00:00:02' }, { mtu: 1450 });
  const li = ifla.parseInfo(calls[0]!.attrs.linkinfo as Buffer);
  t.is(li.kind, 'veth');
  const { nl: nl2 } = fake(undefined, { newLink: 'EEXIST' });
  const err = (await t.throwsAsync(nl2.addVeth('tsabc', { name: 'eth0' }))) as TsnetError;
  t.is(err.message, 'add veth tsabc (peer eth0): EEXIST');
  t.deepEqual(err.details, { op: 'add veth tsabc (peer eth0)', errno: 'EEXIST' });
});

test('input is validated before any request', async (t) => {
  const { nl, calls } = fake();
  await t.throwsAsync(nl.addBridge('this-name-is-too-long'));
  await t.throwsAsync(nl.addBridge('bad/name'));
  await t.throwsAsync(nl.setMtu('eth0', 10));
  await t.throwsAsync(nl.addVxlan('vx0', { vni: -1, port: 4789, learning: false }));
  await t.throwsAsync(nl.addFdb({ dev: 'eth0', mac: 'nope' }));
  t.is(calls.length, 0);
});
