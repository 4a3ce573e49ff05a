/**
 * The pure rule generators: the exact restore lines for networks, ports and the base layout.
 */
import test from 'ava';
import { baseLayout } from '../../../src/kernel/firewall/iptables/base-chains.js';
import { networkPlan } from '../../../src/kernel/firewall/iptables/network-rules.js';
import { portsPlan } from '../../../src/kernel/firewall/iptables/port-rules.js';
import { fillScript, freeScript, SlotIndex } from '../../../src/kernel/firewall/iptables/slots.js';
import { slotChain } from '../../../src/kernel/firewall/iptables/names.js';
import { ruleTarget } from '../../../src/kernel/firewall/iptables/rule.js';
import { appendPlan, deletePlan, RestoreScript } from '../../../src/kernel/firewall/iptables/restore-script.js';
import { normalizeNetwork, normalizePorts } from '../../../src/kernel/firewall/validate.js';
import type { FirewallNetwork, FirewallPorts } from '../../../src/kernel/firewall/firewall-api.js';

const NET: FirewallNetwork = {
  id: '3f2a9c1b7d4e5f60aa',
  bridge: 'br-3f2a9c1b7d4e',
  subnets: ['172.20.0.0/16'],
  internal: false,
  icc: true,
  masquerade: true,
};
const C = '"tsnet:3f2a9c1b7d4e"';
const EC = '"tsnet:3f2a9c1b7d4e:0123456789ab"';

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

function addText(
  plan: ReturnType<typeof networkPlan>,
  mode: 'create' | 'declare' = 'create',
  order?: Array<'filter' | 'nat' | 'raw'>,
): string[] {
  return lines(appendPlan(new RestoreScript(order), plan, mode).text());
}

function ports(mappings: FirewallPorts['mappings'], containerIp = '172.20.0.5'): FirewallPorts {
  return { networkId: NET.id, endpointId: '0123456789abcdef', bridge: NET.bridge, containerIp, mappings };
}

test('network: default bridge network, exact restore text', (t) => {
  t.deepEqual(addText(networkPlan(normalizeNetwork(NET), 4)), [
    '*filter',
    '-N TSNET-N-3f2a9c1b7d4e',
    `-A TSNET-N-3f2a9c1b7d4e -i br-3f2a9c1b7d4e -j ACCEPT`,
    `-A TSNET-N-3f2a9c1b7d4e -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    `-A TSNET-N-3f2a9c1b7d4e -m conntrack --ctstate DNAT -j ACCEPT`,
    `-A TSNET-N-3f2a9c1b7d4e -j DROP`,
    `-A TSNET-BRIDGE -o br-3f2a9c1b7d4e -j TSNET-N-3f2a9c1b7d4e`,
    `-A TSNET-EGRESS -i br-3f2a9c1b7d4e -m comment --comment ${C} -j ACCEPT`,
    'COMMIT',
    '*nat',
    `-A TSNET-POSTROUTING -s 172.20.0.0/16 ! -o br-3f2a9c1b7d4e -m comment --comment ${C} -j MASQUERADE`,
    `-A TSNET-POSTROUTING -s 172.20.0.0/16 -o br-3f2a9c1b7d4e -m conntrack --ctstate DNAT -m comment --comment ${C} -j MASQUERADE`,
    `-A TSNET-POSTROUTING -s 127.0.0.0/8 -o br-3f2a9c1b7d4e -m conntrack --ctstate DNAT -m comment --comment ${C} -j MASQUERADE`,
    'COMMIT',
    '*raw',
    '-N TSNET-N-3f2a9c1b7d4e',
    `-A TSNET-N-3f2a9c1b7d4e ! -i br-3f2a9c1b7d4e -g TSNET-RAW-GUARD`,
    `-A TSNET-RAW-PREROUTING -d 172.20.0.0/16 -g TSNET-N-3f2a9c1b7d4e`,
    'COMMIT',
  ]);
});

test('network: with the host addresses given, bridged traffic inside a subnet skips conntrack (raw), the host-bound stays tracked', (t) => {
  const out = addText(
    networkPlan(
      normalizeNetwork({ ...NET, subnets: ['172.20.0.0/16', '10.9.0.0/31'], hostAddresses: ['172.20.0.1', 'fd00::1'] }),
      4,
    ),
  );
  const raw = out.slice(out.indexOf('*raw'));
  t.deepEqual(raw, [
    '*raw',
    '-N TSNET-N-3f2a9c1b7d4e',
    `-A TSNET-N-3f2a9c1b7d4e ! -i br-3f2a9c1b7d4e -g TSNET-RAW-GUARD`,
    `-A TSNET-N-3f2a9c1b7d4e -d 172.20.0.1/32 -j RETURN`,
    `-A TSNET-N-3f2a9c1b7d4e -d 172.20.0.0/32 -j RETURN`,
    `-A TSNET-N-3f2a9c1b7d4e -d 172.20.255.255/32 -j RETURN`,
    `-A TSNET-N-3f2a9c1b7d4e -s 172.20.0.0/16 -d 172.20.0.0/16 -j CT --notrack`,
    `-A TSNET-N-3f2a9c1b7d4e -s 10.9.0.0/31 -d 10.9.0.0/31 -j CT --notrack`,
    `-A TSNET-RAW-PREROUTING -d 172.20.0.0/16 -g TSNET-N-3f2a9c1b7d4e`,
    `-A TSNET-RAW-PREROUTING -d 10.9.0.0/31 -g TSNET-N-3f2a9c1b7d4e`,
    'COMMIT',
  ]);
  const v6 = addText(networkPlan(normalizeNetwork({ ...NET, subnets: ['fd00::/64'], hostAddresses: ['fd00::1'] }), 6));
  t.true(v6.includes(`-A TSNET-N-3f2a9c1b7d4e -d fd00::1/128 -j RETURN`));
  t.true(v6.includes(`-A TSNET-N-3f2a9c1b7d4e -d fd00::/128 -j RETURN`));
  t.true(
    v6.includes(`-A TSNET-N-3f2a9c1b7d4e -s fd00::/64 -j CT --notrack`),
    'one subnet of the family: the entry already matched the destination',
  );
  const one = addText(networkPlan(normalizeNetwork({ ...NET, hostAddresses: ['172.20.0.1'] }), 4));
  t.deepEqual(
    one.filter((l) => l.includes('--notrack')),
    [`-A TSNET-N-3f2a9c1b7d4e -s 172.20.0.0/16 -j CT --notrack`],
  );
  t.false(
    addText(networkPlan(normalizeNetwork(NET), 4)).some((l) => l.includes('--notrack')),
    'no host addresses given: everything tracked',
  );
  t.throws(() => normalizeNetwork({ ...NET, hostAddresses: ['nope'] }), { message: /bad host address "nope"/ });
});

test('network: no IPv6 rules for an IPv4-only network', (t) => {
  const plan = networkPlan(normalizeNetwork(NET), 6);
  t.deepEqual(plan, { chains: [], rules: [] });
});

test('network: icc=false drops bridge-to-same-bridge traffic', (t) => {
  const out = addText(networkPlan(normalizeNetwork({ ...NET, icc: false }), 4));
  t.true(out.includes(`-A TSNET-N-3f2a9c1b7d4e -i br-3f2a9c1b7d4e -j DROP`));
  t.false(out.some((l) => l.includes('-i br-3f2a9c1b7d4e -m comment') && l.endsWith('-j ACCEPT') && l.startsWith('-A TSNET-N')));
});

test('network: internal drops in and out, no NAT, no conntrack accepts', (t) => {
  const out = addText(networkPlan(normalizeNetwork({ ...NET, internal: true }), 4));
  t.deepEqual(out, [
    '*filter',
    '-N TSNET-N-3f2a9c1b7d4e',
    `-A TSNET-N-3f2a9c1b7d4e -i br-3f2a9c1b7d4e -j ACCEPT`,
    `-A TSNET-N-3f2a9c1b7d4e -j DROP`,
    `-A TSNET-BRIDGE -o br-3f2a9c1b7d4e -j TSNET-N-3f2a9c1b7d4e`,
    `-A TSNET-EGRESS -i br-3f2a9c1b7d4e -m comment --comment ${C} -j DROP`,
    'COMMIT',
    '*raw',
    '-N TSNET-N-3f2a9c1b7d4e',
    `-A TSNET-N-3f2a9c1b7d4e ! -i br-3f2a9c1b7d4e -g TSNET-RAW-GUARD`,
    `-A TSNET-RAW-PREROUTING -d 172.20.0.0/16 -g TSNET-N-3f2a9c1b7d4e`,
    'COMMIT',
  ]);
});

test('network: masquerade=false keeps only the hairpin and loopback NAT', (t) => {
  const nat = addText(networkPlan(normalizeNetwork({ ...NET, masquerade: false }), 4)).filter((l) => l.includes('POSTROUTING'));
  t.is(nat.length, 2);
  t.true(nat.every((l) => l.includes('--ctstate DNAT')));
});

test('network: hostBindingIpv4 turns MASQUERADE into SNAT --to-source', (t) => {
  const out = addText(networkPlan(normalizeNetwork({ ...NET, hostBindingIpv4: '192.0.2.10' }), 4));
  t.true(
    out.includes(
      `-A TSNET-POSTROUTING -s 172.20.0.0/16 ! -o br-3f2a9c1b7d4e -m comment --comment ${C} -j SNAT --to-source 192.0.2.10`,
    ),
  );
  const unset = addText(networkPlan(normalizeNetwork({ ...NET, hostBindingIpv4: '0.0.0.0' }), 4));
  t.true(unset.some((l) => l.includes('! -o br-3f2a9c1b7d4e') && l.endsWith('-j MASQUERADE')));
});

test('network: dual stack — IPv6 filter rules always, NAT66 only when asked, ND accepted with icc=false', (t) => {
  const dual = { ...NET, subnets: ['172.20.0.0/16', 'fd00:20:0:0::/64'], icc: false };
  const v6 = addText(networkPlan(normalizeNetwork(dual), 6));
  t.true(v6.includes(`-A TSNET-N-3f2a9c1b7d4e -i br-3f2a9c1b7d4e -p ipv6-icmp -m icmp6 --icmpv6-type 135 -j ACCEPT`));
  t.true(v6.includes(`-A TSNET-N-3f2a9c1b7d4e -i br-3f2a9c1b7d4e -p ipv6-icmp -m icmp6 --icmpv6-type 136 -j ACCEPT`));
  t.false(
    v6.some((l) => l.includes('! -o br-3f2a9c1b7d4e')),
    'no NAT66 by default',
  );
  t.true(
    v6.includes(
      `-A TSNET-POSTROUTING -s fd00:20::/64 -o br-3f2a9c1b7d4e -m conntrack --ctstate DNAT -m comment --comment ${C} -j MASQUERADE`,
    ),
  );
  t.false(v6.some((l) => l.includes('127.0.0.0/8')));
  const masq6 = addText(networkPlan(normalizeNetwork({ ...dual, masqueradeIpv6: true }), 6));
  t.true(masq6.includes(`-A TSNET-POSTROUTING -s fd00:20::/64 ! -o br-3f2a9c1b7d4e -m comment --comment ${C} -j MASQUERADE`));
});

test('network: teardown deletes the shared rules by exact spec, then flushes and deletes the chain', (t) => {
  const out = lines(deletePlan(new RestoreScript(), networkPlan(normalizeNetwork(NET), 4)).text());
  t.deepEqual(out, [
    '*filter',
    `-D TSNET-BRIDGE -o br-3f2a9c1b7d4e -j TSNET-N-3f2a9c1b7d4e`,
    `-D TSNET-EGRESS -i br-3f2a9c1b7d4e -m comment --comment ${C} -j ACCEPT`,
    '-F TSNET-N-3f2a9c1b7d4e',
    '-X TSNET-N-3f2a9c1b7d4e',
    'COMMIT',
    '*nat',
    `-D TSNET-POSTROUTING -s 172.20.0.0/16 ! -o br-3f2a9c1b7d4e -m comment --comment ${C} -j MASQUERADE`,
    `-D TSNET-POSTROUTING -s 172.20.0.0/16 -o br-3f2a9c1b7d4e -m conntrack --ctstate DNAT -m comment --comment ${C} -j MASQUERADE`,
    `-D TSNET-POSTROUTING -s 127.0.0.0/8 -o br-3f2a9c1b7d4e -m conntrack --ctstate DNAT -m comment --comment ${C} -j MASQUERADE`,
    'COMMIT',
    '*raw',
    `-D TSNET-RAW-PREROUTING -d 172.20.0.0/16 -g TSNET-N-3f2a9c1b7d4e`,
    '-F TSNET-N-3f2a9c1b7d4e',
    '-X TSNET-N-3f2a9c1b7d4e',
    'COMMIT',
  ]);
});

const EMPTY = new SlotIndex();

test('ports: one mapping — a new slot (chain + its jump) in nat, nothing in raw', (t) => {
  const fill = fillScript(normalizePorts(ports([{ proto: 'tcp', hostPort: 8080, containerPort: 80 }])), EMPTY);
  t.is(fill.slot, 0);
  t.deepEqual(lines(fill.script.text()), [
    '*nat',
    '-N TSNET-S-0',
    '-A TSNET-DNAT -j TSNET-S-0',
    `-A TSNET-S-0 -p tcp -m tcp --dport 8080 -m comment --comment ${EC} -j DNAT --to-destination 172.20.0.5:80`,
    'COMMIT',
  ]);
  // a free slot is flushed and filled; the endpoint's own slot is refilled (replace)
  const index = new SlotIndex([
    [0, 'aaaaaaaaaaaa'],
    [1, undefined],
    [2, '0123456789ab'],
  ]);
  const own = fillScript(normalizePorts(ports([{ proto: 'tcp', hostPort: 8080, containerPort: 80 }])), index);
  t.is(own.slot, 2);
  t.deepEqual(lines(own.script.text()).slice(0, 2), ['*nat', '-F TSNET-S-2']);
  const other = fillScript(
    normalizePorts({ ...ports([{ proto: 'tcp', hostPort: 1, containerPort: 1 }]), endpointId: 'cafecafecafe' }),
    index,
  );
  t.is(other.slot, 1);
  t.deepEqual(lines(other.script.text()).slice(0, 2), ['*nat', '-F TSNET-S-1']);
  t.is(index.next(), 3);
});

test('ports: host IPs, ranges, protocols; a 127.0.0.1 binding adds nothing to raw (the base loopback guard)', (t) => {
  const plan = portsPlan(
    normalizePorts(
      ports([
        { proto: 'udp', hostIp: '0.0.0.0', hostPort: 53, containerPort: 5353 },
        { proto: 'tcp', hostIp: '192.0.2.10', hostPort: 443, containerPort: 8443 },
        { proto: 'tcp', hostIp: '127.0.0.1', hostPort: 8081, containerPort: 81 },
        { proto: 'sctp', hostPort: 9000, hostPortEnd: 9010, containerPort: 100, containerPortEnd: 110 },
        { proto: 'tcp', hostPort: 7000, hostPortEnd: 7003, containerPort: 70 },
      ]),
    ),
    'TSNET-S-7',
  );
  const out = addText(plan, 'declare', ['nat', 'raw']);
  const dnat = (s: string) => `-A TSNET-S-7 ${s}`;
  t.true(out.includes(dnat(`-p udp -m udp --dport 53 -m comment --comment ${EC} -j DNAT --to-destination 172.20.0.5:5353`)));
  t.true(
    out.includes(
      dnat(`-d 192.0.2.10/32 -p tcp -m tcp --dport 443 -m comment --comment ${EC} -j DNAT --to-destination 172.20.0.5:8443`),
    ),
  );
  t.true(
    out.includes(
      dnat(`-d 127.0.0.1/32 -p tcp -m tcp --dport 8081 -m comment --comment ${EC} -j DNAT --to-destination 172.20.0.5:81`),
    ),
  );
  t.true(
    out.includes(
      dnat(`-p sctp -m sctp --dport 9000:9010 -m comment --comment ${EC} -j DNAT --to-destination 172.20.0.5:100-110/9000`),
    ),
  );
  t.true(out.includes(dnat(`-p tcp -m tcp --dport 7000:7003 -m comment --comment ${EC} -j DNAT --to-destination 172.20.0.5:70`)));
  t.false(out.includes('*raw'));
  t.is(out.filter((l) => l.endsWith('-j DROP')).length, 0);
});

test('ports: IPv6 container gets a bracketed DNAT target', (t) => {
  const plan = portsPlan(
    normalizePorts(ports([{ proto: 'tcp', hostIp: '::', hostPort: 8080, containerPort: 80 }], 'FD00:20::0005')),
    'TSNET-S-0',
  );
  const out = addText(plan, 'declare', ['nat']);
  t.true(
    out.includes(`-A TSNET-S-0 -p tcp -m tcp --dport 8080 -m comment --comment ${EC} -j DNAT --to-destination [fd00:20::5]:80`),
  );
});

test('ports: removal is one -F whether there are 1 or 1000 mappings or slots', (t) => {
  const many = Array.from({ length: 1000 }, (_, i) => ({ proto: 'tcp' as const, hostPort: 20000 + i, containerPort: 80 }));
  t.deepEqual(lines(freeScript(999).text()), ['*nat', '-F TSNET-S-999', 'COMMIT']);
  const add = lines(fillScript(normalizePorts(ports(many)), new SlotIndex([[0, undefined]])).script.text());
  t.is(add.filter((l) => l.includes('-j DNAT')).length, 1000);
  t.is(add.length, 1003);
});

test('network: the direct-access guard is one rule in the network chain, entered by destination, one entry per subnet', (t) => {
  const dual = { ...NET, subnets: ['172.20.0.0/16', '10.9.0.0/24', 'fd00:20::/64'] };
  const out = addText(networkPlan(normalizeNetwork(dual), 4));
  t.deepEqual(
    out.filter((l) => l.includes('TSNET-RAW-GUARD') || l.includes('! -i')),
    [`-A TSNET-N-3f2a9c1b7d4e ! -i br-3f2a9c1b7d4e -g TSNET-RAW-GUARD`],
    'one rule loads the interface name: a packet from the bridge passes it, any other ends in the shared guard',
  );
  t.deepEqual(
    out.filter((l) => l.includes('TSNET-RAW-PREROUTING')),
    [
      `-A TSNET-RAW-PREROUTING -d 172.20.0.0/16 -g TSNET-N-3f2a9c1b7d4e`,
      `-A TSNET-RAW-PREROUTING -d 10.9.0.0/24 -g TSNET-N-3f2a9c1b7d4e`,
    ],
    'no interface name in the entries: a packet to no container pays one address compare per subnet',
  );
  const v6 = addText(networkPlan(normalizeNetwork(dual), 6));
  t.true(v6.includes(`-A TSNET-RAW-PREROUTING -d fd00:20::/64 -g TSNET-N-3f2a9c1b7d4e`));
  t.true(v6.includes(`-A TSNET-N-3f2a9c1b7d4e ! -i br-3f2a9c1b7d4e -g TSNET-RAW-GUARD`));
});

test('base layout: jumps and static chain content', (t) => {
  const v4 = baseLayout(4);
  const jumps = v4.jumps.map((j) => `${j.rule.table} ${j.rule.chain} ${j.rule.args.join(' ')} @${j.position.at}`);
  t.deepEqual(jumps, [
    'filter FORWARD -j TSNET-USER @first',
    'filter FORWARD -j TSNET-BRIDGE @after',
    'filter FORWARD -j TSNET-EGRESS @after',
    'nat PREROUTING -m addrtype --dst-type LOCAL -j TSNET-DNAT @append',
    'nat OUTPUT -m addrtype --dst-type LOCAL -j TSNET-DNAT @append',
    'nat POSTROUTING -j TSNET-POSTROUTING @append',
    'raw PREROUTING -d 127.0.0.0/8 -j TSNET-LOOPBACK @first',
    'raw PREROUTING -j TSNET-RAW-PREROUTING @after',
  ]);
  const guard = v4.chains.find((c) => c.name === 'TSNET-LOOPBACK');
  t.deepEqual(
    guard?.rules.map((r) => r.args.join(' ')),
    ['-d 127.0.0.0/8 ! -i lo -m comment --comment tsnet -j DROP'],
    'the loopback guard (CVE-2020-8558)',
  );
  t.is(
    baseLayout(6).chains.find((c) => c.name === 'TSNET-LOOPBACK'),
    undefined,
    'no loopback guard for IPv6 (no route_localnet)',
  );
  const out6 = baseLayout(6).jumps.find((j) => j.rule.chain === 'OUTPUT');
  t.deepEqual(out6?.rule.args.slice(0, 3), ['!', '-d', '::1/128']);
  t.deepEqual(
    v4.jumps.filter((j) => j.position.at === 'after').map((j) => [ruleTarget(j.rule.args), j.position]),
    [
      ['TSNET-BRIDGE', { at: 'after', chain: 'TSNET-USER' }],
      ['TSNET-EGRESS', { at: 'after', chain: 'TSNET-BRIDGE' }],
      ['TSNET-RAW-PREROUTING', { at: 'after', chain: 'TSNET-LOOPBACK' }],
    ],
    'FORWARD: TSNET-USER, then TSNET-BRIDGE and TSNET-EGRESS themselves (no dispatcher chain between)',
  );
  for (const f of [4, 6] as const) {
    const rawGuard = baseLayout(f).chains.find((c) => c.name === 'TSNET-RAW-GUARD');
    t.is(rawGuard?.kind, 'static');
    t.deepEqual(
      rawGuard?.rules.map((r) => `${r.table} ${r.args.join(' ')}`),
      ['raw -m addrtype ! --dst-type LOCAL -j DROP'],
      'the direct-access guard the networks enter by goto',
    );
  }
  t.deepEqual(v4.chains.map((c) => c.name).sort(), [
    'TSNET-BRIDGE',
    'TSNET-DNAT',
    'TSNET-EGRESS',
    'TSNET-LOOPBACK',
    'TSNET-POSTROUTING',
    'TSNET-RAW-GUARD',
    'TSNET-RAW-PREROUTING',
    'TSNET-USER',
  ]);
});

test('chain names stay within the 28-character iptables limit', (t) => {
  t.true(slotChain(999999).length <= 28);
  const net = networkPlan(normalizeNetwork({ ...NET, id: 'e'.repeat(64) }), 4);
  for (const ch of net.chains) t.true(ch.name.length <= 28, ch.name);
});
