import test from 'ava';
import { isTsnetError } from '../../../src/errors/index.js';
import {
  addressCount,
  broadcastAddress,
  canonicalCidr,
  contains,
  containsCidr,
  firstHost,
  formatIp,
  ipFromBytes,
  ipToBytes,
  isV6,
  lastHost,
  networkAddress,
  nthAddress,
  overlaps,
  parseCidr,
  parseIp,
  parseSubnet,
  tryParseIp,
} from '../../../src/lib/cidr.js';
import { parseCidr as firewallParseCidr, parseIp as firewallParseIp } from '../../../src/kernel/firewall/addr.js';
import {
  formatIp as netlinkFormatIp,
  parseCidr as netlinkParseCidr,
  parseIp as netlinkParseIp,
} from '../../../src/kernel/netlink/encode.js';

test('parseIp/formatIp round-trip IPv4 and IPv6 in canonical form', (t) => {
  const cases: Array<[string, string]> = [
    ['10.42.0.1', '10.42.0.1'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['::', '::'],
    ['::1', '::1'],
    ['FD00::0001', 'fd00::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // first of two equal runs is compressed
    ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'], // a single zero group is not compressed
    ['::ffff:10.1.2.3', '::ffff:10.1.2.3'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
  ];
  for (const [input, want] of cases) {
    const ip = parseIp(input);
    t.is(formatIp(ip.value, ip.family), want, input);
  }
  t.is(parseIp('10.0.0.1').family, 4);
  t.is(parseIp('fd00::1').family, 6);
  t.is(parseIp('10.0.0.1').value, 0x0a000001n);
  t.is(parseIp('::ffff:1.2.3.4').value, 0xffff01020304n);
});

test('parseIp refuses malformed addresses with TSNET_BAD_IP and a reason', (t) => {
  const bad: Array<[string, RegExp]> = [
    ['10.0.0.256', /"256" is not a number from 0 to 255/],
    ['10.0.0', /four dot-separated numbers/],
    ['010.0.0.1', /leading zeros/],
    ['10.0.0.1 ', /spaces/],
    ['1::2::3', /"::" may appear only once/],
    ['1:2:3:4:5:6:7', /eight groups/],
    ['1:2:3:4:5:6:7:8:9', /eight groups/],
    ['1:2:3:4::5:6:7:8', /too many groups/],
    ['fe80::1%eth0', /zone ids/],
    ['12345::1', /"12345" is not a group/],
    ['abc', /expected IPv4 like 10.0.0.1/],
    ['10.0.0.1/24', /without \/prefix/],
    ['', /empty/],
  ];
  for (const [input, why] of bad) {
    const err = t.throws(() => parseIp(input), undefined, input);
    t.true(isTsnetError(err, 'TSNET_BAD_IP'), input);
    t.regex(err!.message, why, input);
    t.true(err!.message.startsWith(`invalid IP address "${input}"`));
    t.is(tryParseIp(input), undefined);
  }
  const gw = t.throws(() => parseIp('x', 'gateway', 'TSNET_BAD_GATEWAY'));
  t.true(isTsnetError(gw, 'TSNET_BAD_GATEWAY'));
  t.regex(gw!.message, /^invalid gateway "x"/);
});

test('parseCidr keeps host bits; parseSubnet refuses them suggesting the network (Docker rule)', (t) => {
  const c = parseCidr('10.42.0.5/24');
  t.is(c.prefix, 24);
  t.is(formatIp(c.address, 4), '10.42.0.5');
  t.is(formatIp(c.network, 4), '10.42.0.0');
  t.is(formatIp(c.last, 4), '10.42.0.255');
  const err = t.throws(() => parseSubnet('10.42.0.5/24'));
  t.true(isTsnetError(err, 'TSNET_BAD_CIDR'));
  t.is(err!.message, 'subnet 10.42.0.5/24 has host bits set: use 10.42.0.0/24');
  t.is(t.throws(() => parseSubnet('fd00::1/64', 'ip-range'))!.message, 'ip-range fd00::1/64 has host bits set: use fd00::/64');
  t.is(canonicalCidr('10.42.0.5/24'), '10.42.0.0/24');
  t.is(canonicalCidr('FD00:0:0:0::7/48'), 'fd00::/48');
  t.notThrows(() => parseSubnet('0.0.0.0/0'));
  t.notThrows(() => parseSubnet('10.1.2.3/32'));
});

test('parseCidr validation messages', (t) => {
  const bad: Array<[string, RegExp]> = [
    ['10.0.0.0', /missing prefix length \(e\.g\. 10\.42\.0\.0\/24\)/],
    ['10.0.0.0/33', /prefix length must be a number from 0 to 32 for IPv4/],
    ['fd00::/129', /from 0 to 128 for IPv6 \(e\.g\. fd00:1::\/64\)/],
    ['10.0.0.0/', /prefix length/],
    ['10.0.0.0/08', /prefix length/],
    ['10.0.0.0/-1', /prefix length/],
    ['10.0.0/8', /four dot-separated/],
  ];
  for (const [input, why] of bad) {
    const err = t.throws(() => parseCidr(input, 'subnet'), undefined, input);
    t.true(isTsnetError(err, 'TSNET_BAD_CIDR'), input);
    t.true(err!.message.startsWith(`invalid subnet "${input}": `), err!.message);
    t.regex(err!.message, why, input);
  }
});

test('contains / containsCidr / overlaps, across families too', (t) => {
  t.true(contains('10.42.0.0/24', '10.42.0.0'));
  t.true(contains('10.42.0.0/24', '10.42.0.255'));
  t.false(contains('10.42.0.0/24', '10.42.1.0'));
  t.false(contains('10.42.0.0/24', '::ffff:10.42.0.1'));
  t.true(contains('fd00::/64', 'fd00::ffff'));
  t.false(contains('fd00::/64', 'fd00:0:0:1::'));
  t.true(containsCidr('10.0.0.0/8', '10.42.0.0/24'));
  t.false(containsCidr('10.42.0.0/24', '10.0.0.0/8'));
  t.true(containsCidr('10.42.0.0/24', '10.42.0.0/24'));
  t.true(overlaps('10.42.0.0/16', '10.42.3.0/24'));
  t.true(overlaps('10.42.3.0/24', '10.42.0.0/16'));
  t.false(overlaps('10.42.0.0/24', '10.42.1.0/24'));
  t.true(overlaps('10.42.0.0/23', '10.42.1.0/24'));
  t.false(overlaps('10.0.0.0/8', 'fd00::/8'));
  t.true(overlaps('0.0.0.0/0', '192.168.1.1/32'));
  t.true(overlaps('fd00::/48', 'fd00:0:0:ff::/64'));
  t.throws(() => overlaps('10.0.0.0/8', 'nope'), { code: 'TSNET_BAD_CIDR' } as never);
});

test('network, broadcast, first/last host, nth address, count', (t) => {
  t.is(networkAddress('10.42.0.77/24'), '10.42.0.0');
  t.is(broadcastAddress('10.42.0.77/24'), '10.42.0.255');
  t.is(firstHost('10.42.0.0/24'), '10.42.0.1');
  t.is(lastHost('10.42.0.0/24'), '10.42.0.254');
  t.is(firstHost('10.42.0.0/31'), '10.42.0.0'); // RFC 3021: no network/broadcast
  t.is(lastHost('10.42.0.0/31'), '10.42.0.1');
  t.is(firstHost('10.42.0.9/32'), '10.42.0.9');
  t.is(firstHost('fd00:1::/64'), 'fd00:1::1');
  t.is(lastHost('fd00:1::/64'), 'fd00:1::ffff:ffff:ffff:ffff'); // IPv6 has no broadcast
  t.is(nthAddress('10.42.0.0/24', 0), '10.42.0.0');
  t.is(nthAddress('10.42.0.0/24', 10), '10.42.0.10');
  t.is(nthAddress('10.42.0.0/24', -1), '10.42.0.255');
  t.is(nthAddress('10.0.0.0/8', 65536n), '10.1.0.0');
  t.is(nthAddress('fd00::/64', 0x10000n), 'fd00::1:0');
  t.throws(() => nthAddress('10.42.0.0/24', 256), { code: 'TSNET_INVALID_ARGUMENT' } as never);
  t.throws(() => nthAddress('10.42.0.0/24', -257), { code: 'TSNET_INVALID_ARGUMENT' } as never);
  t.is(addressCount('10.42.0.0/16'), 65536n);
  t.is(addressCount('fd00::/64'), 1n << 64n);
});

test('isV6 tells the family of an IP or CIDR and is false for garbage', (t) => {
  t.true(isV6('fd00::1'));
  t.true(isV6('fd00::/64'));
  t.false(isV6('10.0.0.1'));
  t.false(isV6('10.0.0.0/8'));
  t.false(isV6('nonsense:'));
});

test('bytes in network order, both ways (the kernel form)', (t) => {
  t.deepEqual([...ipToBytes(parseIp('10.42.0.1'))], [10, 42, 0, 1]);
  t.is(ipToBytes(parseIp('fd00::1')).toString('hex'), 'fd000000000000000000000000000001');
  for (const text of ['0.0.0.0', '255.255.255.255', '172.18.0.2', '::', '::1', 'fd00:1::2', '::ffff:10.0.0.1']) {
    const ip = parseIp(text);
    t.deepEqual(ipFromBytes(ipToBytes(ip)), ip, text);
    t.is(formatIp(ip.value, ip.family), text);
  }
  t.is(ipFromBytes(Buffer.alloc(5)), undefined);
});

test('formatting as Docker prints (Go netip / RFC 5952): lower case, the first longest zero run', (t) => {
  const fmt = (s: string) => {
    const ip = parseIp(s);
    return formatIp(ip.value, ip.family);
  };
  t.is(fmt('FD00:0:0:0:0:0:0:1'), 'fd00::1');
  t.is(fmt('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
  t.is(fmt('2001:db8:0:1:0:0:0:1'), '2001:db8:0:1::1');
  t.is(fmt('2001:db8:1:1:1:1:0:1'), '2001:db8:1:1:1:1:0:1');
  t.is(fmt('::ffff:0a00:0001'), '::ffff:10.0.0.1');
  t.is(canonicalCidr('fd00:0:0:0:1::5/64'), 'fd00::/64');
  t.is(canonicalCidr('10.42.7.9/16'), '10.42.0.0/16');
});

test('the kernel layer parses with this library: netlink bytes and iptables-save text agree with it', (t) => {
  t.is(netlinkFormatIp(netlinkParseIp('fd00:0::1').bytes), 'fd00::1');
  t.deepEqual(netlinkParseCidr('10.0.0.2/24'), { family: 4, bytes: Buffer.from([10, 0, 0, 2]), prefixLen: 24, ip: '10.0.0.2' });
  t.throws(() => netlinkParseIp('10.0.0.01'), { message: /invalid ip address/ });
  t.is(firewallParseCidr('10.42.7.9/16')?.text, '10.42.0.0/16');
  t.is(firewallParseCidr('fd00::5/64')?.text, 'fd00::/64');
  // glibc's inet_ntop prints the deprecated IPv4-compatible form with a dotted tail
  t.is(firewallParseIp('::1.2.3.4')?.text, '::1.2.3.4');
  t.is(firewallParseIp('::1')?.text, '::1');
  t.is(firewallParseIp('10.0.0.300'), undefined);
});
