/** The nftables backend's pure parts: batch text, element expansion, listing parsing. */
import test from 'ava';
import {
  addElement,
  elementComment as elementCommentOf,
  fam,
  initBatch,
  networkPlan,
  portsElements,
  ruleComment as ruleCommentOf,
  staticRules,
} from '../../../src/kernel/firewall/nftables/layout.js';
import { reconcileLines } from '../../../src/kernel/firewall/nftables/reconcile.js';
import { commentOwner, keyText, parseView } from '../../../src/kernel/firewall/nftables/listing.js';
import { normalizeNetwork, normalizePorts } from '../../../src/kernel/firewall/validate.js';

const NET = normalizeNetwork({
  id: 'a0a0a0a0a0a0f00d',
  bridge: 'br-x',
  subnets: ['10.201.0.0/24', 'fd00:201::/64'],
  internal: false,
  icc: true,
  masquerade: true,
});

test('init: one table per family, the loopback guard only for IPv4', (t) => {
  const v4 = initBatch(fam(4));
  t.regex(v4, /^add table ip tsnet$/m);
  t.regex(
    v4,
    /add rule ip tsnet raw-prerouting ip daddr 127\.0\.0\.0\/8 iifname != "lo" counter drop comment "loopback-guard [0-9a-f]{8}"/,
  );
  const v6 = initBatch(fam(6));
  t.regex(v6, /^add table ip6 tsnet$/m);
  t.notRegex(v6, /loopback-guard/);
  t.regex(v6, /output-hook ip6 daddr != ::1 fib daddr type local jump published/);
  t.true(staticRules(fam(4)).every((r) => !r.body.includes('comment')));
});

test('network plan: chains and dispatch elements; internal has no NAT', (t) => {
  const p = networkPlan(NET, fam(4));
  t.deepEqual(
    p.chains.map((c) => c.name),
    ['net-a0a0a0a0a0a0', 'post-a0a0a0a0a0a0'],
  );
  t.deepEqual(
    p.elements.map((e) => `${e.set} ${e.key} : ${e.value}`),
    [
      'fwd-in "br-x" : jump net-a0a0a0a0a0a0',
      'fwd-out "br-x" : accept',
      'nat-out "br-x" : jump post-a0a0a0a0a0a0',
      'nat-src 10.201.0.0/24 : jump post-a0a0a0a0a0a0',
    ],
  );
  const internal = networkPlan({ ...NET, internal: true }, fam(4));
  t.deepEqual(
    internal.chains.map((c) => c.name),
    ['net-a0a0a0a0a0a0'],
  );
  t.deepEqual(
    internal.elements.map((e) => `${e.set} ${e.value}`),
    ['fwd-in jump net-a0a0a0a0a0a0', 'fwd-out drop'],
  );
  t.deepEqual(
    p.chains[0]!.rules.map((r) => r.body),
    ['iifname "br-x" accept', 'ct state established,related accept', 'ct status dnat accept', 'drop'],
    'icc: the bridge accept first',
  );
  t.deepEqual(
    networkPlan({ ...NET, icc: false }, fam(4)).chains[0]!.rules.map((r) => r.body),
    ['ct state established,related accept', 'ct status dnat accept', 'iifname "br-x" drop', 'drop'],
  );
  const icc6 = networkPlan({ ...NET, icc: false }, fam(6));
  t.true(icc6.chains[0]!.rules.some((r) => r.body.includes('nd-neighbor-solicit')));
  t.is(networkPlan({ ...NET, v6: [] }, fam(6)).elements.length, 0, 'no plan for a family without subnets');
});

test('network plan: with the host addresses given, bridged traffic inside a subnet skips conntrack', (t) => {
  const n = normalizeNetwork({
    id: NET.id,
    bridge: 'br-x',
    subnets: ['10.201.0.0/24', 'fd00:201::/64'],
    internal: false,
    icc: true,
    masquerade: true,
    hostAddresses: ['10.201.0.1', 'fd00:201::1'],
  });
  const v4 = networkPlan(n, fam(4));
  t.deepEqual(
    v4.chains.find((c) => c.name === 'local-a0a0a0a0a0a0')?.rules.map((r) => r.body),
    [
      'ip daddr 10.201.0.1 return',
      'ip daddr 10.201.0.0 return',
      'ip daddr 10.201.0.255 return',
      'ip saddr 10.201.0.0/24 ip daddr 10.201.0.0/24 notrack accept',
    ],
  );
  t.true(v4.elements.some((e) => e.set === 'local-in' && e.key === '"br-x"' && e.value === 'jump local-a0a0a0a0a0a0'));
  t.deepEqual(
    networkPlan(n, fam(6))
      .chains.find((c) => c.name === 'local-a0a0a0a0a0a0')
      ?.rules.map((r) => r.body),
    [
      'ip6 daddr fd00:201::1 return',
      'ip6 daddr fd00:201:: return',
      'ip6 saddr fd00:201::/64 ip6 daddr fd00:201::/64 notrack accept',
    ],
  );
  t.false(
    networkPlan(NET, fam(4)).elements.some((e) => e.set === 'local-in'),
    'no host addresses given: everything tracked',
  );
  t.regex(initBatch(fam(4)), /raw-prerouting iifname vmap @local-in/);
  // decision 46: the untracked vmap comes before the guard, whose lookups such packets skip
  for (const f of [fam(4), fam(6)]) {
    const raw = initBatch(f)
      .split('\n')
      .filter((l) => l.startsWith(`add rule ${f.nfam} tsnet raw-prerouting`));
    t.true(raw.findIndex((l) => l.includes('vmap @local-in')) < raw.findIndex((l) => l.includes('@guard-pair')));
  }
});

test('ports: one element per host port (ranges map one to one), guard elements, host-address map', (t) => {
  const p = normalizePorts({
    networkId: NET.id,
    endpointId: 'e1e1e1e1e1e1aaaa',
    bridge: 'br-x',
    containerIp: '10.201.0.2',
    mappings: [
      { proto: 'tcp', hostPort: 8080, containerPort: 80 },
      { proto: 'udp', hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53 },
      { proto: 'tcp', hostPort: 9000, hostPortEnd: 9002, containerPort: 9100, containerPortEnd: 9102 },
      { proto: 'sctp', hostPort: 7000, hostPortEnd: 7001, containerPort: 7 },
    ],
  });
  t.deepEqual(
    portsElements(p).map((e) => `${e.set} ${e.key}${e.value ? ` : ${e.value}` : ''}`),
    [
      'guard-addr 10.201.0.2',
      'guard-pair 10.201.0.2 . "br-x"',
      'ports-any tcp . 8080 : 10.201.0.2 . 80',
      'ports-addr 127.0.0.1 . udp . 5353 : 10.201.0.2 . 53',
      'ports-any tcp . 9000 : 10.201.0.2 . 9100',
      'ports-any tcp . 9001 : 10.201.0.2 . 9101',
      'ports-any tcp . 9002 : 10.201.0.2 . 9102',
      'ports-any sctp . 7000 : 10.201.0.2 . 7',
      'ports-any sctp . 7001 : 10.201.0.2 . 7',
    ],
  );
  t.regex(
    addElement(fam(4), portsElements(p)[2]!),
    /^add element ip tsnet ports-any \{ tcp \. 8080 comment "tsnet:a0a0a0a0a0a0:e1e1e1e1e1e1 [0-9a-f]{8}" : 10\.201\.0\.2 \. 80 \}$/,
  );
});

test('listing: keys back in nft syntax, owners from comments', (t) => {
  t.is(keyText({ concat: ['10.0.0.2', 'br-x'] }, ['ipv4_addr', 'ifname']), '10.0.0.2 . "br-x"');
  t.is(keyText({ prefix: { addr: '10.1.0.0', len: 16 } }, ['ipv4_addr']), '10.1.0.0/16');
  t.is(keyText({ concat: ['tcp', 8080] }, ['inet_proto', 'inet_service']), 'tcp . 8080');
  const v = parseView([
    { table: { family: 'ip', name: 'tsnet' } },
    { chain: { name: 'net-a0' } },
    { rule: { chain: 'net-a0', comment: 'tsnet:a0 12345678' } },
    { rule: { chain: 'net-a0' } },
    {
      map: {
        name: 'ports-any',
        type: ['inet_proto', 'inet_service'],
        map: ['ipv4_addr', 'inet_service'],
        elem: [
          [{ elem: { val: { concat: ['tcp', 80] }, comment: 'tsnet:a0:e1 abcdef01' } }, { concat: ['10.0.0.2', 80] }],
          [{ concat: ['udp', 53] }, { concat: ['10.0.0.3', 53] }],
        ],
      },
    },
  ]);
  t.true(v.exists);
  t.deepEqual(v.chains.get('net-a0'), ['tsnet:a0 12345678', '']);
  t.deepEqual(v.elements, [
    { set: 'ports-any', key: 'tcp . 80', comment: 'tsnet:a0:e1 abcdef01' },
    { set: 'ports-any', key: 'udp . 53', comment: '' },
  ]);
  t.deepEqual(commentOwner('tsnet:a0:e1 abcdef01'), { net12: 'a0', ep12: 'e1' });
  t.deepEqual(commentOwner('tsnet:a0 abcdef01'), { net12: 'a0' });
  t.is(commentOwner('loopback-guard 1234'), undefined);
});

test('reconcile: foreign and stale elements go, missing ones come, differing chains are rewritten, orphans dropped', (t) => {
  const f = fam(4);
  const plan = networkPlan(NET, f);
  const good = plan.elements.slice(1);
  const view = parseView([
    { table: { name: 'tsnet' } },
    // net-… lost its first rule; post-… is right; an orphan network chain is left over
    ...plan.chains.flatMap((c) =>
      (c.name.startsWith('net-') ? c.rules.slice(1) : c.rules).map((r) => ({
        rule: { chain: c.name, comment: ruleCommentOf(r) },
      })),
    ),
    { chain: { name: 'net-deadbeef0000' } },
    { rule: { chain: 'net-deadbeef0000', comment: 'tsnet:deadbeef0000 00000000' } },
    {
      map: {
        name: 'ports-any',
        type: ['inet_proto', 'inet_service'],
        elem: [[{ concat: ['tcp', 7777] }, { concat: ['10.9.9.9', 7777] }]],
      },
    },
  ]);
  const post = plan.chains.find((c) => c.name.startsWith('post-'))!;
  view.elements.push(...good.map((e) => ({ set: e.set, key: e.key, comment: elementCommentOf(e) })));
  const r = reconcileLines(f, view, [plan], []);
  t.true(r.lines.includes('delete element ip tsnet ports-any { tcp . 7777 }'), 'foreign element deleted');
  t.true(
    r.lines.some((l) => l.startsWith('add element ip tsnet fwd-in { "br-x"')),
    'missing element added',
  );
  t.true(r.lines.includes(`flush chain ip tsnet ${plan.chains[0]!.name}`), 'damaged chain rewritten');
  t.false(r.lines.includes(`flush chain ip tsnet ${post.name}`), 'intact chain left alone');
  t.deepEqual(r.lines.slice(-2), ['flush chain ip tsnet net-deadbeef0000', 'delete chain ip tsnet net-deadbeef0000']);
  const again = parseView([{ table: { name: 'tsnet' } }]);
  for (const c of plan.chains) again.chains.set(c.name, c.rules.map(ruleCommentOf));
  again.elements.push(...plan.elements.map((e) => ({ set: e.set, key: e.key, comment: elementCommentOf(e) })));
  t.deepEqual(reconcileLines(f, again, [plan], []), { removed: 0, added: 0, lines: [] }, 'nothing to do when it matches');
});
