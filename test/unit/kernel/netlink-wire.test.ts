/**
 * The join's requests written as bytes (src/kernel/netlink/wire.ts) are the `netlink` package's
 * bytes for the same request, attribute for attribute: what the kernel got before decision 52.
 */
import test from 'ava';
import { AttrStream, ifla, rt } from 'netlink';
import { slaveInfo, vethLinkInfo } from '../../../src/kernel/netlink/encode.js';
import { addressAdd, linkAndPort, linkUp, route, vethCreate } from '../../../src/kernel/netlink/wire.js';

const pkg = (fill: (s: AttrStream) => void): Buffer => {
  const s = new AttrStream();
  fill(s);
  return Buffer.concat(s.bufs);
};
const link = (data: rt.Link, attrs: ifla.LinkAttrs) => pkg((s) => rt.formatLinkMessage({ kind: 'link', data, attrs }, s));
const UP: rt.Link = { flags: { up: true }, change: { up: true } };
const NO_LINK_LOCAL = new Map([[10, Buffer.from([5, 0, 8, 0, 1, 0, 0, 0])]]);
const mac = Buffer.from([2, 0x42, 0xac, 0x12, 0, 5]);

test('veth create: the package bytes, with and without mtu, mac, netns fd, master, up; one tx and rx queue per end', (t) => {
  const cases: Array<[Parameters<typeof vethCreate>[1], Parameters<typeof vethCreate>[2]]> = [
    [
      { name: 'eth0', netnsFd: 41, mac },
      { master: 7, up: true },
    ],
    [
      { name: 'eth0', netnsFd: 41, mac, mtu: 1450 },
      { mtu: 1450, master: 7, up: true },
    ],
    [{ name: 'eth12345678901' }, {}],
    [
      { name: 'e', mtu: 9000 },
      { mac, up: false },
    ],
  ];
  for (const [peer, host] of cases) {
    const peerAttrs: ifla.LinkAttrs = { ifname: peer.name };
    if (peer.mtu !== undefined) peerAttrs.mtu = peer.mtu;
    if (peer.mac !== undefined) peerAttrs.address = peer.mac;
    // both ends born with one tx and one rx queue (no cut under RTNL, decision 54)
    peerAttrs.numTxQueues = 1;
    peerAttrs.numRxQueues = 1;
    if (peer.netnsFd !== undefined) peerAttrs.netNsFd = peer.netnsFd;
    const attrs: ifla.LinkAttrs = { ifname: 'tsv1234abcd' };
    if (host.mtu !== undefined) attrs.mtu = host.mtu;
    if (host.mac !== undefined) attrs.address = host.mac;
    attrs.numTxQueues = 1;
    attrs.numRxQueues = 1;
    attrs.linkinfo = vethLinkInfo(peerAttrs);
    if (host.master !== undefined) attrs.master = host.master;
    t.deepEqual(vethCreate('tsv1234abcd', peer, host), link(host.up ? UP : {}, attrs), JSON.stringify([peer, host]));
  }
});

test('port options, alias and IPv6 mode of a host end: the package bytes', (t) => {
  const alias = 'tsnet-endpoint:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
  const cases: Array<[string | number, { mode?: number; learning?: number }, string | undefined, boolean]> = [
    ['tsv1234abcd', { mode: 1 }, alias, true],
    ['tsv1234abcd', { mode: 1 }, alias, false],
    [12, { mode: 0, learning: 1 }, undefined, false],
    ['x', {}, 'odd', true],
    ['x', { learning: 0 }, undefined, true],
  ];
  for (const [ref, port, a, v6off] of cases) {
    const attrs: ifla.LinkAttrs = typeof ref === 'string' ? { ifname: ref } : {};
    if (port.mode !== undefined || port.learning !== undefined) attrs.linkinfo = slaveInfo('bridge', ifla.formatBridgePort(port));
    if (a !== undefined) attrs.ifalias = a;
    if (v6off) attrs.afSpec = NO_LINK_LOCAL;
    const data: rt.Link = typeof ref === 'number' ? { index: ref } : {};
    t.deepEqual(linkAndPort(ref, port, a, v6off ? NO_LINK_LOCAL : undefined), link(data, attrs), JSON.stringify([ref, port, a]));
  }
});

test('link up by name or index, with and without the IPv6 mode: the package bytes', (t) => {
  t.deepEqual(linkUp('eth0', undefined), link(UP, { ifname: 'eth0' }));
  t.deepEqual(linkUp(2, NO_LINK_LOCAL), link({ index: 2, ...UP }, { afSpec: NO_LINK_LOCAL }));
  t.deepEqual(linkUp(70000, undefined), link({ index: 70000, ...UP }, {}));
});

test('address add, IPv4 with broadcast and IPv6 without DAD: the package bytes', (t) => {
  const ip4 = Buffer.from([172, 18, 0, 11]);
  const brd = Buffer.from([172, 18, 255, 255]);
  t.deepEqual(
    addressAdd(2, 16, 2, ip4, { broadcast: brd }),
    pkg((s) =>
      rt.formatAddressMessage(
        { kind: 'address', data: { family: 2, prefixlen: 16, index: 2 }, attrs: { local: ip4, address: ip4, broadcast: brd } },
        s,
      ),
    ),
  );
  const ip6 = Buffer.from('fd000000000000000000000000000002', 'hex');
  t.deepEqual(
    addressAdd(10, 64, 300, ip6, { noDad: true }),
    pkg((s) =>
      rt.formatAddressMessage(
        {
          kind: 'address',
          data: { family: 10, prefixlen: 64, index: 300, flags: { nodad: true } },
          attrs: { local: ip6, address: ip6 },
        },
        s,
      ),
    ),
  );
});

test('routes: default via a gateway, a device route, a big table, onlink, metric and src: the package bytes', (t) => {
  const gw = Buffer.from([172, 18, 0, 1]);
  const dst = Buffer.from([10, 0, 0, 0]);
  const src = Buffer.from([10, 0, 0, 2]);
  const base = { family: 2, rtmTable: 254, protocol: 3, scope: 0, type: 1, table: 254 };
  const asPkg = (data: rt.Route, attrs: rt.RouteAttrs) => pkg((s) => rt.formatRouteMessage({ kind: 'route', data, attrs }, s));
  const d = { family: 2, table: 254, protocol: 3, scope: 0, type: 1 };
  t.deepEqual(
    route({ ...base, dstLen: 0, gateway: gw, oif: 2 }),
    asPkg({ ...d, dstLen: 0 }, { table: 254, gateway: gw, oif: 2 }),
  );
  t.deepEqual(
    route({ ...base, dstLen: 8, scope: 253, dst, oif: 5 }),
    asPkg({ ...d, dstLen: 8, scope: 253 }, { table: 254, dst, oif: 5 }),
  );
  t.deepEqual(
    route({ ...base, rtmTable: 0, table: 1000, dstLen: 8, dst, gateway: gw, prefsrc: src, priority: 100, flags: 4 }),
    asPkg({ ...d, table: 0, dstLen: 8, flags: { __unknown: 4 } }, { table: 1000, dst, gateway: gw, prefsrc: src, priority: 100 }),
  );
});
