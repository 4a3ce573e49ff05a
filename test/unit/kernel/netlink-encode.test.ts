import test from 'ava';
import { AttrStream, ifla, rt } from 'netlink';
import {
  bufferToMac,
  encodeAttrs,
  formatCidr,
  formatIp,
  ipv4Broadcast,
  linkInfo,
  macToBuffer,
  macvlanData,
  maskIp,
  parseCidr,
  parseIp,
  parseVxlanData,
  scopeName,
  scopeToNumber,
  slaveInfo,
  u16be,
  vethLinkInfo,
  vethPeer,
  vxlanData,
} from '../../../src/kernel/netlink/encode.js';
import { isTsnetError } from '../../../src/errors/index.js';

/** Walk netlink attributes: [{type, data}] */
function attrs(buf: Buffer): Array<{ type: number; data: Buffer }> {
  const out: Array<{ type: number; data: Buffer }> = [];
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    const type = buf.readUInt16LE(off + 2) & 0x3fff;
    out.push({ type, data: buf.subarray(off + 4, off + len) });
    off += (len + 3) & ~3;
  }
  return out;
}

test('MAC to Buffer and back', (t) => {
  t.deepEqual(macToBuffer('02:42:AC:11:00:02'), Buffer.from([0x02, 0x42, 0xac, 0x11, 0x00, 0x02]));
  t.is(bufferToMac(Buffer.from([0x02, 0x42, 0xac, 0x11, 0x00, 0x02])), '02:42:ac:11:00:02');
  t.is(bufferToMac(undefined), '');
  for (const bad of ['02:42:ac:11:00', '02-42-ac-11-00-02', '2:42:ac:11:00:02', 'zz:42:ac:11:00:02', '']) {
    const err = t.throws(() => macToBuffer(bad));
    t.true(isTsnetError(err, 'TSNET_INVALID_ARGUMENT'), bad);
  }
});

test('IPv4 parse and format', (t) => {
  t.deepEqual(parseIp('10.0.0.2'), { family: 4, bytes: Buffer.from([10, 0, 0, 2]) });
  t.is(formatIp(Buffer.from([192, 168, 1, 255])), '192.168.1.255');
  for (const bad of ['10.0.0', '10.0.0.256', '010.0.0.1', '10.0.0.1.1', '10.0.0.-1', ' 10.0.0.1', 'a.b.c.d']) {
    t.throws(() => parseIp(bad), undefined, bad);
  }
});

test('IPv6 parse and RFC 5952 format', (t) => {
  const cases: Array<[string, string]> = [
    ['fd00::2', 'fd00::2'],
    ['::', '::'],
    ['::1', '::1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:0:0:2:3:0:0:4', '1::2:3:0:0:4'],
    ['fe80::', 'fe80::'],
    ['::ffff:10.1.2.3', '::ffff:10.1.2.3'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['0001:0002:0003:0004:0005:0006:0007:0008', '1:2:3:4:5:6:7:8'],
  ];
  for (const [input, want] of cases) {
    const p = parseIp(input);
    t.is(p.family, 6, input);
    t.is(p.bytes.length, 16);
    t.is(formatIp(p.bytes), want, input);
  }
  t.deepEqual(parseIp('fd00::2').bytes, Buffer.from('fd000000000000000000000000000002', 'hex'));
  for (const bad of [
    '1::2::3',
    ':::',
    'g::1',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '12345::1',
    'fe80::1%eth0',
    '1.2.3.4::',
    '::1.2.3',
  ]) {
    t.throws(() => parseIp(bad), undefined, bad);
  }
});

test('CIDR parse, mask, broadcast', (t) => {
  t.like(parseCidr('10.0.0.2/24'), { family: 4, prefixLen: 24, ip: '10.0.0.2' });
  t.like(parseCidr('FD00::2/64'), { family: 6, prefixLen: 64, ip: 'fd00::2' });
  t.like(parseCidr('10.0.0.2'), { prefixLen: 32 });
  t.like(parseCidr('fd00::2'), { prefixLen: 128 });
  t.like(parseCidr('0.0.0.0/0'), { prefixLen: 0 });
  for (const bad of ['10.0.0.2/33', '10.0.0.2/', '10.0.0.2/024', 'fd00::/129', '/24', 'default']) {
    t.throws(() => parseCidr(bad), undefined, bad);
  }
  t.is(formatCidr(maskIp(Buffer.from([10, 1, 2, 3]), 20), 20), '10.1.0.0/20');
  t.is(formatIp(maskIp(parseIp('fd00:1:2:3:4::1').bytes, 48)), 'fd00:1:2::');
  t.is(formatIp(ipv4Broadcast(Buffer.from([10, 1, 2, 3]), 20)), '10.1.15.255');
  t.is(formatIp(ipv4Broadcast(Buffer.from([10, 1, 2, 3]), 24)), '10.1.2.255');
});

test('scopes', (t) => {
  t.is(scopeToNumber('link'), 253);
  t.is(scopeToNumber('universe'), 0);
  t.is(scopeToNumber(200), 200);
  t.is(scopeName(253), 'link');
  t.is(scopeName('HOST'), 'host');
  t.is(scopeName(17), 17);
  t.throws(() => scopeToNumber('galaxy' as never));
});

test('BE16 port', (t) => {
  t.deepEqual(u16be(4789), Buffer.from([0x12, 0xb5]));
  t.throws(() => u16be(65536));
  t.throws(() => u16be(-1));
});

test('linkInfo nests IFLA_INFO_KIND and IFLA_INFO_DATA', (t) => {
  const br = linkInfo('bridge');
  t.deepEqual(br, Buffer.from([11, 0, 1, 0, ...Buffer.from('bridge\0')]));
  const withData = attrs(linkInfo('vxlan', ifla.formatVxlan({ id: 7 })));
  t.is(withData.length, 2);
  t.is(withData[0]!.type, 1); // IFLA_INFO_KIND
  t.is(withData[0]!.data.toString(), 'vxlan\0');
  t.is(withData[1]!.type, 2); // IFLA_INFO_DATA
  const inner = attrs(withData[1]!.data);
  t.deepEqual(inner, [{ type: 1, data: Buffer.from([7, 0, 0, 0]) }]); // IFLA_VXLAN_ID u32
  // the package parses it back
  const info = ifla.parseInfo(linkInfo('bridge'));
  t.is(info.kind, 'bridge');
});

test('slaveInfo carries IFLA_INFO_SLAVE_KIND/SLAVE_DATA (bridge port hairpin)', (t) => {
  const a = attrs(slaveInfo('bridge', ifla.formatBridgePort({ mode: 1 })));
  t.is(a[0]!.type, 4); // IFLA_INFO_SLAVE_KIND
  t.is(a[0]!.data.toString(), 'bridge\0');
  t.is(a[1]!.type, 5); // IFLA_INFO_SLAVE_DATA
  t.deepEqual(attrs(a[1]!.data), [{ type: 4, data: Buffer.from([1]) }]); // IFLA_BRPORT_MODE u8
});

test('veth peer is an ifinfomsg followed by the peer attributes', (t) => {
  const peer = vethPeer({ ifname: 'eth0', netNsFd: 9, mtu: 1450 });
  t.is(peer.length >= 16, true);
  t.deepEqual(peer.subarray(0, 16), Buffer.alloc(16)); // family 0, index 0, flags 0
  const a = attrs(peer.subarray(16));
  t.deepEqual(
    a.map((x) => x.type),
    [3, 28, 4], // IFLA_IFNAME, IFLA_NET_NS_FD, IFLA_MTU
  );
  t.is(a[0]!.data.toString(), 'eth0\0');
  t.is(a[1]!.data.readUInt32LE(0), 9);
  t.is(a[2]!.data.readUInt32LE(0), 1450);
  // full IFLA_LINKINFO: kind veth, data { VETH_INFO_PEER (1) = peer }
  const li = attrs(vethLinkInfo({ ifname: 'eth0' }));
  t.is(li[0]!.data.toString(), 'veth\0');
  const data = attrs(li[1]!.data);
  t.is(data[0]!.type, 1);
  const parsed = rt.parseLinkMessage(data[0]!.data);
  t.is(parsed.attrs.ifname, 'eth0');
});

test('vxlan attrs: id, BE16 port, learning, local v4/v6, link; parse back', (t) => {
  const v = vxlanData({ vni: 42, port: 4789, local: '10.254.0.1', underlayIndex: 3, learning: false, ttl: 64 });
  const enc = attrs(encodeAttrs(ifla.formatVxlan(v)));
  const byType = new Map(enc.map((x) => [x.type, x.data]));
  t.deepEqual(byType.get(1), Buffer.from([42, 0, 0, 0])); // ID
  t.deepEqual(byType.get(15), Buffer.from([0x12, 0xb5])); // PORT, big-endian
  t.deepEqual(byType.get(7), Buffer.from([0])); // LEARNING off
  t.deepEqual(byType.get(4), Buffer.from([10, 254, 0, 1])); // LOCAL
  t.deepEqual(byType.get(3), Buffer.from([3, 0, 0, 0])); // LINK
  t.deepEqual(byType.get(5), Buffer.from([64])); // TTL
  t.deepEqual(parseVxlanData(encodeAttrs(ifla.formatVxlan(v))), {
    vni: 42,
    port: 4789,
    local: '10.254.0.1',
    underlayIndex: 3,
    learning: false,
    ttl: 64,
  });
  const v6 = vxlanData({ vni: 1, port: 8472, local: 'fd00::1', learning: true });
  t.truthy(v6.local6);
  t.is(v6.local, undefined);
  t.is(v6.learning, 1);
  t.throws(() => vxlanData({ vni: 1 << 24, port: 4789, learning: false }));
  t.throws(() => vxlanData({ vni: 1, port: 70000, learning: false }));
});

test('macvlan mode bits', (t) => {
  t.deepEqual(macvlanData('bridge'), { mode: 4 });
  t.deepEqual(macvlanData('private'), { mode: 1 });
  t.deepEqual(macvlanData('passthru'), { mode: 8 });
  t.throws(() => macvlanData('nope' as never));
});

test('AttrStream from the package is what encodeAttrs uses', (t) => {
  const s = new AttrStream();
  s.emit(ifla.formatInfo({ kind: 'bridge' }));
  t.deepEqual(Buffer.concat(s.bufs), encodeAttrs(ifla.formatInfo({ kind: 'bridge' })));
});
