/**
 * Address spelling (must match iptables-save byte for byte) and input validation.
 */
import test from 'ava';
import { parseCidr, parseIp } from '../../../src/kernel/firewall/addr.js';
import { normalizeNetwork, normalizePorts } from '../../../src/kernel/firewall/validate.js';
import { firstErrorLine } from '../../../src/kernel/firewall/iptables/restore.js';
import { parseOwner } from '../../../src/kernel/firewall/iptables/names.js';
import { isTsnetError } from '../../../src/errors/index.js';
import type { FirewallNetwork, FirewallPorts } from '../../../src/kernel/firewall/firewall-api.js';

test('IPv6 addresses are spelled like glibc inet_ntop', (t) => {
  const cases: Array<[string, string]> = [
    ['fd00:0:0:1::', 'fd00:0:0:1::'],
    ['FD00:0000:0000:0001:0000:0000:0000:0000', 'fd00:0:0:1::'],
    ['::1', '::1'],
    ['::', '::'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['::ffff:10.1.2.3', '::ffff:10.1.2.3'],
    ['fe80::1:0', 'fe80::1:0'],
  ];
  for (const [input, want] of cases) t.is(parseIp(input)?.text, want, input);
  for (const bad of ['1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', 'fe80::1%eth0', '', ':::']) t.is(parseIp(bad), undefined, bad);
});

test('IPv4 addresses and CIDRs: canonical network address, bad input rejected', (t) => {
  t.is(parseIp('10.0.0.1')?.text, '10.0.0.1');
  for (const bad of ['10.0.0', '10.0.0.256', '010.0.0.1', '1.2.3.4.5', 'a.b.c.d']) t.is(parseIp(bad), undefined, bad);
  t.is(parseCidr('10.1.2.3/16')?.text, '10.1.0.0/16');
  t.is(parseCidr('172.20.0.0/14')?.text, '172.20.0.0/14');
  t.is(parseCidr('10.255.255.255/9')?.text, '10.128.0.0/9');
  t.is(parseCidr('fd00:20::5/64')?.text, 'fd00:20::/64');
  t.is(parseCidr('fd00:20:1:2:3:4:5:6/56')?.text, 'fd00:20:1::/56');
  t.is(parseCidr('fd00:20:1:2ff:3:4:5:6/56')?.text, 'fd00:20:1:200::/56');
  for (const bad of ['10.0.0.0/33', '10.0.0.0', 'fd00::/129', '10.0.0.0/-1', '10.0.0.0/']) t.is(parseCidr(bad), undefined, bad);
});

const NET: FirewallNetwork = {
  id: 'abcdef0123456789',
  bridge: 'br-abcdef012345',
  subnets: ['10.5.0.0/24'],
  internal: false,
  icc: true,
  masquerade: true,
};
const PORTS: FirewallPorts = {
  networkId: NET.id,
  endpointId: '99887766554433',
  bridge: NET.bridge,
  containerIp: '10.5.0.2',
  mappings: [{ proto: 'tcp', hostPort: 80, containerPort: 80 }],
};

function rejects(t: import('ava').ExecutionContext, fn: () => unknown, message: RegExp): void {
  const err = t.throws(fn, { message });
  t.true(isTsnetError(err, 'TSNET_INVALID_ARGUMENT'), String(err));
}

test('network validation', (t) => {
  t.is(normalizeNetwork(NET).net12, 'abcdef012345');
  rejects(t, () => normalizeNetwork({ ...NET, id: 'a b' }), /bad network id/);
  rejects(t, () => normalizeNetwork({ ...NET, bridge: 'br+' }), /bad bridge name/);
  rejects(t, () => normalizeNetwork({ ...NET, bridge: 'a-very-long-bridge-name' }), /bad bridge name/);
  rejects(t, () => normalizeNetwork({ ...NET, subnets: [] }), /at least one subnet/);
  rejects(t, () => normalizeNetwork({ ...NET, subnets: ['10.5.0.0/40'] }), /bad subnet/);
  rejects(t, () => normalizeNetwork({ ...NET, icc: 'yes' as unknown as boolean }), /icc must be a boolean/);
  rejects(t, () => normalizeNetwork({ ...NET, hostBindingIpv4: '::1' }), /hostBindingIpv4/);
  const dual = normalizeNetwork({ ...NET, subnets: ['10.5.0.9/24', 'FD00::/64', '10.5.0.0/24'] });
  t.deepEqual(
    dual.v4.map((c) => c.text),
    ['10.5.0.0/24'],
  );
  t.deepEqual(
    dual.v6.map((c) => c.text),
    ['fd00::/64'],
  );
});

test('ports validation', (t) => {
  const p = normalizePorts({
    ...PORTS,
    containerIp: 'FD00::2',
    mappings: [{ proto: 'udp', hostIp: '::', hostPort: 53, containerPort: 53 }],
  });
  t.is(p.family, 6);
  t.is(p.containerIp.text, 'fd00::2');
  t.is(p.mappings[0]?.hostIp, undefined, ':: means all addresses');
  const m = (mapping: Partial<FirewallPorts['mappings'][number]>) => ({
    ...PORTS,
    mappings: [{ proto: 'tcp' as const, hostPort: 80, containerPort: 80, ...mapping }],
  });
  rejects(t, () => normalizePorts({ ...PORTS, containerIp: '0.0.0.0' }), /bad container IP/);
  rejects(t, () => normalizePorts(m({ proto: 'icmp' as 'tcp' })), /bad protocol/);
  rejects(t, () => normalizePorts(m({ hostPort: 0 })), /bad host port/);
  rejects(t, () => normalizePorts(m({ containerPort: 70000 })), /bad container port/);
  rejects(t, () => normalizePorts(m({ hostIp: '::1' })), /different families/);
  rejects(t, () => normalizePorts(m({ hostPortEnd: 79 })), /bad host port range/);
  rejects(t, () => normalizePorts(m({ hostPortEnd: 90, containerPortEnd: 85 })), /differ in size/);
  rejects(t, () => normalizePorts(m({ containerPortEnd: 85 })), /differ in size/);
  rejects(
    t,
    () => normalizePorts({ ...PORTS, mappings: [PORTS.mappings[0]!, { ...PORTS.mappings[0]!, hostIp: '0.0.0.0' }] }),
    /duplicate mapping/,
  );
  const range = normalizePorts(m({ hostPortEnd: 90, containerPortEnd: 90 }));
  t.deepEqual(range.mappings[0], { proto: 'tcp', hostPort: 80, hostPortEnd: 90, containerPort: 80, containerPortEnd: 90 });
  const single = normalizePorts(m({ hostPortEnd: 80, containerPortEnd: 80 }));
  t.deepEqual(single.mappings[0], { proto: 'tcp', hostPort: 80, containerPort: 80 });
});

test('rule comments name their owner', (t) => {
  t.deepEqual(parseOwner('tsnet'), { kind: 'base' });
  t.deepEqual(parseOwner('tsnet:abc'), { kind: 'network', net12: 'abc' });
  t.deepEqual(parseOwner('tsnet:abc:def'), { kind: 'endpoint', net12: 'abc', ep12: 'def' });
  t.is(parseOwner('docker'), undefined);
  t.is(parseOwner('tsnet:'), undefined);
  t.is(parseOwner(undefined), undefined);
});

test('firstErrorLine skips the legacy warning and the bare version header', (t) => {
  t.is(
    firstErrorLine(
      '# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\niptables-restore v1.8.9 (nf_tables): \nline 2: CHAIN_DEL failed (Device or resource busy): chain TSNET-A\n',
    ),
    'line 2: CHAIN_DEL failed (Device or resource busy): chain TSNET-A',
  );
  t.is(
    firstErrorLine('iptables-restore: line 2 failed: Chain already exists.\n'),
    'iptables-restore: line 2 failed: Chain already exists.',
  );
  t.is(firstErrorLine(''), '');
});
