/**
 * save-parse, cleanup and reconcile against a small model of iptables-restore --noflush
 * (`:`, -N, -A, -I, -D, -F, -X with the kernel's failure rules, per-table commit), so the
 * scripts can be checked end to end without root.
 */
import test from 'ava';
import { removeAllScript, removeOwnerScript } from '../../../src/kernel/firewall/iptables/cleanup.js';
import { networkPlan } from '../../../src/kernel/firewall/iptables/network-rules.js';
import { fillScript, freeScript, scanSlots, slotPlans } from '../../../src/kernel/firewall/iptables/slots.js';
import { converge } from '../../../src/kernel/firewall/iptables/reconcile.js';
import { appendPlan, deletePlan, RestoreScript } from '../../../src/kernel/firewall/iptables/restore-script.js';
import { renderArgs, ruleKey, type Plan } from '../../../src/kernel/firewall/iptables/rule.js';
import { parseSave, tokenize, tsnetObjects, type SaveDump } from '../../../src/kernel/firewall/iptables/save-parse.js';
import { normalizeNetwork, normalizePorts } from '../../../src/kernel/firewall/validate.js';
import type { FirewallNetwork, FirewallPorts } from '../../../src/kernel/firewall/firewall-api.js';
import { isTsnetError } from '../../../src/errors/index.js';

// ---- a model of iptables-restore --noflush over a SaveDump -------------------------------

const BUILTIN: Record<string, string[]> = {
  raw: ['PREROUTING', 'OUTPUT'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
};

function emptyDump(): SaveDump {
  const text = Object.entries(BUILTIN)
    .map(([t, chains]) => [`*${t}`, ...chains.map((c) => `:${c} ACCEPT [0:0]`), 'COMMIT'].join('\n'))
    .join('\n');
  return parseSave(text);
}

function cloneDump(d: SaveDump): SaveDump {
  return parseSave(renderSave(d));
}

function renderSave(d: SaveDump): string {
  const out: string[] = [];
  for (const t of d.tables.values()) {
    out.push(`*${t.name}`);
    for (const c of t.chains.values()) out.push(`:${c.name} ${c.builtin ? 'ACCEPT' : '-'} [0:0]`);
    for (const c of t.chains.values()) for (const r of c.rules) out.push(`-A ${c.name} ${renderArgs(r.args)}`);
    out.push('COMMIT');
  }
  return `${out.join('\n')}\n`;
}

/** Apply a restore script; throws like iptables-restore (earlier tables stay committed). */
function applyRestore(dump: SaveDump, script: string): void {
  let work: SaveDump | undefined;
  let table = '';
  for (const line of script.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('*')) {
      table = line.slice(1);
      work = cloneDump(dump);
      if (!work.tables.has(table)) work.tables.set(table, parseSave(`*${table}\nCOMMIT\n`).tables.get(table)!);
      continue;
    }
    if (!work) throw new Error('line outside a table');
    const t = work.tables.get(table)!;
    if (line === 'COMMIT') {
      dump.tables.set(table, t);
      work = undefined;
      continue;
    }
    const tok = tokenize(line);
    const [op, chain] = tok as [string, string];
    const refs = (name: string) => [...t.chains.values()].some((c) => c.rules.some((r) => r.args.at(-1) === name));
    if (op.startsWith(':')) {
      const name = op.slice(1);
      const c = t.chains.get(name);
      if (c) c.rules = [];
      else t.chains.set(name, { name, builtin: false, rules: [] });
      continue;
    }
    const c = t.chains.get(chain);
    switch (op) {
      case '-N':
        if (c) throw new Error(`${line}: Chain already exists`);
        t.chains.set(chain, { name: chain, builtin: false, rules: [] });
        break;
      case '-A':
        if (!c) throw new Error(`${line}: no chain`);
        if (tok.at(-1)?.startsWith('TSNET') && !t.chains.has(tok.at(-1)!)) throw new Error(`${line}: no target`);
        c.rules.push({ table: table as 'nat', chain, args: tok.slice(2) });
        break;
      case '-I': {
        if (!c) throw new Error(`${line}: no chain`);
        const pos = Number(tok[2]);
        if (pos > c.rules.length + 1) throw new Error(`${line}: Index of insertion too big`);
        c.rules.splice(pos - 1, 0, { table: table as 'nat', chain, args: tok.slice(3) });
        break;
      }
      case '-D': {
        if (!c) throw new Error(`${line}: no chain`);
        const key = tok.slice(2).join(' ');
        const i = c.rules.findIndex((r) => r.args.join(' ') === key);
        if (i < 0) throw new Error(`${line}: Bad rule (does a matching rule exist in that chain?)`);
        c.rules.splice(i, 1);
        break;
      }
      case '-F':
        if (!c) throw new Error(`${line}: no chain`);
        c.rules = [];
        break;
      case '-X':
        if (!c || c.rules.length > 0 || refs(chain)) throw new Error(`${line}: CHAIN_DEL failed (Device or resource busy)`);
        t.chains.delete(chain);
        break;
      default:
        throw new Error(`unknown op ${line}`);
    }
  }
}

const SHARED = new Set(['TSNET-BRIDGE', 'TSNET-EGRESS', 'TSNET-DNAT', 'TSNET-POSTROUTING', 'TSNET-RAW-PREROUTING']);

/**
 * Comparable form: table → chain → rule keys. Chain order is ignored; rule order is kept except
 * in the shared chains, whose rules are disjoint (one bridge or endpoint each) and unordered.
 */
function shape(d: SaveDump): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  for (const t of [...d.tables.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    const chains: Record<string, string[]> = {};
    for (const c of [...t.chains.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      const keys = c.rules.map(ruleKey);
      chains[c.name] = SHARED.has(c.name) ? keys.sort() : keys;
    }
    out[t.name] = chains;
  }
  return out;
}

// ---- fixtures -------------------------------------------------------------------------------

const netA: FirewallNetwork = {
  id: 'aaaaaaaaaaaa01',
  bridge: 'br-a',
  subnets: ['10.1.0.0/24'],
  internal: false,
  icc: true,
  masquerade: true,
};
const netB: FirewallNetwork = {
  id: 'bbbbbbbbbbbb02',
  bridge: 'br-b',
  subnets: ['10.2.0.0/24'],
  internal: false,
  icc: false,
  masquerade: true,
};
const portsA: FirewallPorts = {
  networkId: netA.id,
  endpointId: 'eeeeeeeeeeee01',
  bridge: 'br-a',
  containerIp: '10.1.0.2',
  mappings: [{ proto: 'tcp', hostPort: 8080, containerPort: 80 }],
};
const portsB: FirewallPorts = {
  ...portsA,
  networkId: netB.id,
  endpointId: 'ffffffffffff02',
  bridge: 'br-b',
  containerIp: '10.2.0.2',
};

const planN = (n: FirewallNetwork): Plan => networkPlan(normalizeNetwork(n), 4);
/** The plans reconcile builds for these endpoints' ports (their slots read from the dump). */
const planSlots = (d: SaveDump, ps: FirewallPorts[]): Plan[] => slotPlans(scanSlots(d).index, ps.map(normalizePorts)).plans;

/** Publish as the backend does: fill the endpoint's slot, or a free one, or a new one. */
function publish(d: SaveDump, p: FirewallPorts): number {
  const fill = fillScript(normalizePorts(p), scanSlots(d).index);
  applyRestore(d, fill.script.text());
  return fill.slot;
}

/** shape() without empty slot chains and their jumps (the pool stays when ports go). */
function shapeNoFreeSlots(d: SaveDump): Record<string, Record<string, string[]>> {
  const out = shape(d);
  const nat = out.nat ?? {};
  for (const [name, rules] of Object.entries(nat)) {
    if (!name.startsWith('TSNET-S-') || rules.length > 0) continue;
    delete nat[name];
    nat['TSNET-DNAT'] = (nat['TSNET-DNAT'] ?? []).filter((k) => !k.endsWith(`-j ${name}`));
  }
  return out;
}

function initialized(): SaveDump {
  const d = emptyDump();
  applyRestore(d, converge(4, d).script.text());
  return d;
}

function add(d: SaveDump, plan: Plan): void {
  applyRestore(d, appendPlan(new RestoreScript(), plan, 'create').text());
}

// ---- tests ----------------------------------------------------------------------------------

test('tokenize handles iptables-save quoting', (t) => {
  t.deepEqual(tokenize('-A X -m comment --comment "tsnet:ab:cd" -j ACCEPT'), [
    '-A',
    'X',
    '-m',
    'comment',
    '--comment',
    'tsnet:ab:cd',
    '-j',
    'ACCEPT',
  ]);
  t.deepEqual(tokenize('-A X -m comment --comment "a \\"b\\" c"  -j DROP'), [
    '-A',
    'X',
    '-m',
    'comment',
    '--comment',
    'a "b" c',
    '-j',
    'DROP',
  ]);
  t.deepEqual(tokenize('--comment ""'), ['--comment', '']);
});

test('parseSave reads tables, policies, user chains and rules; tsnetObjects finds ours only', (t) => {
  const text = [
    '# Generated by iptables-save v1.8.9 (nf_tables)',
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD DROP [12:3400]',
    ':OUTPUT ACCEPT [0:0]',
    ':DOCKER-USER - [0:0]',
    ':TSNET-USER - [0:0]',
    '-A FORWARD -j TSNET-USER',
    '-A FORWARD -j DOCKER-USER',
    '-A FORWARD -i eth9 -j DROP',
    '-A DOCKER-USER -j RETURN',
    'COMMIT',
    '# Completed',
  ].join('\n');
  const d = parseSave(text);
  const f = d.tables.get('filter')!;
  t.true(f.chains.get('FORWARD')!.builtin);
  t.false(f.chains.get('DOCKER-USER')!.builtin);
  t.is(f.chains.get('FORWARD')!.rules.length, 3);
  t.deepEqual(tsnetObjects(d), {
    chains: ['filter\tTSNET-USER'],
    rules: ['filter\tFORWARD\t-j TSNET-USER'],
  });
});

test('init: creates chains and jumps, is idempotent, keeps foreign rules and orders FORWARD', (t) => {
  const d = emptyDump();
  applyRestore(d, '*filter\n:DOCKER-USER - [0:0]\n-A FORWARD -j DOCKER-USER\n-A FORWARD -i eth9 -j DROP\nCOMMIT\n');
  const first = converge(4, d);
  applyRestore(d, first.script.text());
  const fwd = d.tables
    .get('filter')!
    .chains.get('FORWARD')!
    .rules.map((r) => r.args.join(' '));
  t.deepEqual(fwd, ['-j TSNET-USER', '-j TSNET-BRIDGE', '-j TSNET-EGRESS', '-j DOCKER-USER', '-i eth9 -j DROP']);
  t.deepEqual(
    d.tables
      .get('raw')!
      .chains.get('PREROUTING')!
      .rules.map((r) => r.args.at(-1)),
    ['TSNET-LOOPBACK', 'TSNET-RAW-PREROUTING'],
  );
  t.true(converge(4, d).script.empty, 'second init has nothing to do');
});

test('init: re-adds a missing TSNET-BRIDGE jump right after TSNET-USER, drops duplicate jumps', (t) => {
  const d = initialized();
  const fwd = d.tables.get('filter')!.chains.get('FORWARD')!;
  const [userJump, , egressJump] = fwd.rules;
  // Someone inserted a rule on top, deleted our second jump and duplicated the nat jump.
  fwd.rules = [{ ...userJump!, args: ['-i', 'eth9', '-j', 'DROP'] }, userJump!, egressJump!];
  const post = d.tables.get('nat')!.chains.get('POSTROUTING')!;
  post.rules.push(post.rules[0]!);
  const r = converge(4, d);
  t.true(r.script.text().includes('-I FORWARD 3 -j TSNET-BRIDGE'));
  applyRestore(d, r.script.text());
  t.deepEqual(
    d.tables
      .get('filter')!
      .chains.get('FORWARD')!
      .rules.map((x) => x.args.at(-1)),
    ['DROP', 'TSNET-USER', 'TSNET-BRIDGE', 'TSNET-EGRESS'],
  );
  t.is(d.tables.get('nat')!.chains.get('POSTROUTING')!.rules.length, 1);
  t.true(converge(4, d).script.empty);
});

test('init never flushes TSNET-USER or the shared chains', (t) => {
  const d = initialized();
  add(d, planN(netA));
  d.tables
    .get('filter')!
    .chains.get('TSNET-USER')!
    .rules.push({ table: 'filter', chain: 'TSNET-USER', args: ['-s', '10.9.9.9/32', '-j', 'DROP'] });
  const before = shape(d);
  const r = converge(4, d);
  t.true(r.script.empty);
  t.deepEqual(shape(d), before);
});

test('setup then teardown by exact spec returns to the initialized state (plus the free slot)', (t) => {
  const d = initialized();
  const base = shape(d);
  add(d, planN(netA));
  const slot = publish(d, portsA);
  t.is(slot, 0);
  t.is(d.tables.get('nat')!.chains.get('TSNET-S-0')!.rules.length, 1);
  applyRestore(d, freeScript(slot).text());
  t.deepEqual(d.tables.get('nat')!.chains.get('TSNET-S-0')!.rules, [], 'the slot is flushed, not deleted');
  t.is(publish(d, portsB), 0, 'the next endpoint takes the free slot');
  t.is(publish(d, portsA), 1, 'a new slot when none is free');
  t.is(
    publish(d, { ...portsA, mappings: [{ proto: 'udp', hostPort: 53, containerPort: 53 }] }),
    1,
    'a re-publish replaces in place',
  );
  t.deepEqual(
    d.tables
      .get('nat')!
      .chains.get('TSNET-S-1')!
      .rules.map((r) => r.args.slice(0, 2).join(' ')),
    ['-p udp'],
  );
  applyRestore(d, freeScript(0).text());
  applyRestore(d, freeScript(1).text());
  applyRestore(d, deletePlan(new RestoreScript(), planN(netA)).text());
  t.deepEqual(shapeNoFreeSlots(d), base);
  // A second exact-spec delete fails (the backend then takes the save-based path).
  t.throws(() => applyRestore(d, deletePlan(new RestoreScript(), planN(netA)).text()), { message: /Bad rule/ });
});

test('a second create fails on -N before anything is committed', (t) => {
  const d = initialized();
  add(d, planN(netA));
  const before = shape(d);
  t.throws(() => add(d, planN(netA)), { message: /Chain already exists/ });
  t.deepEqual(shape(d), before);
});

test('removeOwnerScript: endpoint, network (with and without endpoints) — only what exists', (t) => {
  const d = initialized();
  const base = shape(d);
  add(d, planN(netA));
  add(d, planN(netB));
  publish(d, portsA);
  publish(d, portsB);
  const withB = shape(d);

  const ep = removeOwnerScript(d, { kind: 'endpoint', ep12: 'eeeeeeeeeeee' });
  t.is(ep.removed, 1); // the DNAT rule (its slot is flushed)
  t.true(ep.script.text().includes('-F TSNET-S-0'));
  applyRestore(d, ep.script.text());
  t.true(removeOwnerScript(d, { kind: 'endpoint', ep12: 'eeeeeeeeeeee' }).script.empty, 'nothing left to remove');

  const netOnly = removeOwnerScript(d, { kind: 'network', net12: 'bbbbbbbbbbbb', includeEndpoints: false });
  applyRestore(d, netOnly.script.text());
  t.is(d.tables.get('nat')!.chains.get('TSNET-S-1')!.rules.length, 1, 'the slot of B kept');

  applyRestore(d, removeOwnerScript(d, { kind: 'network', net12: 'bbbbbbbbbbbb', includeEndpoints: true }).script.text());
  applyRestore(d, removeOwnerScript(d, { kind: 'network', net12: 'aaaaaaaaaaaa', includeEndpoints: true }).script.text());
  t.deepEqual(shapeNoFreeSlots(d), base);
  t.notDeepEqual(withB, base);
});

test('reconcile: deletes orphans, re-adds missing rules, rewrites changed chains, then is a no-op', (t) => {
  // Expected state built from scratch.
  const want = initialized();
  add(want, planN(netA));
  publish(want, portsA);

  // Actual: A with missing pieces, an orphan network B with an endpoint, and A's chain altered;
  // B's endpoint holds slot 0 and A's slot 1.
  const d = initialized();
  add(d, planN(netA));
  add(d, planN(netB));
  publish(d, portsB);
  publish(d, portsA);
  const nat = d.tables.get('nat')!.chains;
  nat.get('TSNET-POSTROUTING')!.rules.shift(); // A's MASQUERADE gone
  nat.get('TSNET-DNAT')!.rules = nat.get('TSNET-DNAT')!.rules.filter((r) => !r.args.includes('TSNET-S-1')); // A's slot jump gone
  // a legacy per-endpoint chain (tsnet before the slots) of an endpoint that is gone
  applyRestore(
    d,
    '*nat\n:TSNET-EP-dddddddddddd - [0:0]\n-A TSNET-EP-dddddddddddd -p tcp -m tcp --dport 1 -m comment --comment "tsnet:aaaaaaaaaaaa:dddddddddddd" -j DNAT --to-destination 10.1.0.9:1\n-A TSNET-DNAT -m comment --comment "tsnet:aaaaaaaaaaaa:dddddddddddd" -j TSNET-EP-dddddddddddd\nCOMMIT\n',
  );
  d.tables.get('filter')!.chains.get('TSNET-N-aaaaaaaaaaaa')!.rules.pop(); // final DROP gone
  d.tables
    .get('filter')!
    .chains.get('TSNET-USER')!
    .rules.push({ table: 'filter', chain: 'TSNET-USER', args: ['-j', 'RETURN'] });

  const r = converge(4, d, [planN(netA), ...planSlots(d, [portsA])]);
  applyRestore(d, r.script.text());
  t.true(r.added >= 3, `added ${r.added}`);
  t.true(r.removed >= 10, `removed ${r.removed}`);
  const got = shapeNoFreeSlots(d);
  t.deepEqual(got.filter?.['TSNET-USER'], ['filter\tTSNET-USER\t-j RETURN'], 'TSNET-USER untouched');
  delete got.filter?.['TSNET-USER'];
  const exp = shapeNoFreeSlots(want);
  delete exp.filter?.['TSNET-USER'];
  // A kept its slot (1); the slot of B's endpoint (0) is gone with its jump
  t.deepEqual(
    got.nat?.['TSNET-S-1'],
    exp.nat?.['TSNET-S-0']?.map((k) => k.replace('TSNET-S-0', 'TSNET-S-1')),
  );
  t.false(d.tables.get('nat')!.chains.has('TSNET-S-0'));
  for (const x of [got, exp]) {
    delete x.nat?.['TSNET-S-0'];
    delete x.nat?.['TSNET-S-1'];
    if (x.nat) x.nat['TSNET-DNAT'] = [];
  }
  t.deepEqual(got, exp);
  t.deepEqual(
    d.tables
      .get('nat')!
      .chains.get('TSNET-DNAT')!
      .rules.map((r) => r.args.at(-1)),
    ['TSNET-S-1'],
    'one jump per slot kept, the legacy jump gone',
  );
  t.false(d.tables.get('nat')!.chains.has('TSNET-EP-dddddddddddd'), 'the legacy chain is gone');
  const again = converge(4, d, [planN(netA), ...planSlots(d, [portsA])]);
  t.true(again.script.empty);
  t.deepEqual([again.added, again.removed], [0, 0]);
});

test('reconcile rejects two endpoints with the same 12-character id', (t) => {
  const d = initialized();
  const p2 = { ...portsA, containerIp: '10.1.0.3' };
  const err = t.throws(() => converge(4, d, planSlots(d, [portsA, p2])));
  t.true(isTsnetError(err, 'TSNET_INVALID_ARGUMENT'));
});

test('removeAll: deletes every tsnet chain and jump, keeps foreign rules and a non-empty TSNET-USER', (t) => {
  const d = emptyDump();
  applyRestore(
    d,
    '*filter\n:DOCKER-USER - [0:0]\n-A FORWARD -j DOCKER-USER\n-A DOCKER-USER -j RETURN\nCOMMIT\n*nat\n-A POSTROUTING -s 192.168.5.0/24 -j MASQUERADE\nCOMMIT\n',
  );
  const pristine = shape(d);
  applyRestore(d, converge(4, d).script.text());
  add(d, planN(netA));
  publish(d, portsA);
  // Empty TSNET-USER: everything goes.
  const clean = cloneDump(d);
  applyRestore(clean, removeAllScript(clean, false).script.text());
  t.deepEqual(shape(clean), pristine);
  // Admin rules in TSNET-USER: the chain and its jump stay unless asked.
  d.tables
    .get('filter')!
    .chains.get('TSNET-USER')!
    .rules.push({ table: 'filter', chain: 'TSNET-USER', args: ['-j', 'RETURN'] });
  const keep = cloneDump(d);
  applyRestore(keep, removeAllScript(keep, false).script.text());
  t.deepEqual(tsnetObjects(keep).chains, ['filter\tTSNET-USER']);
  applyRestore(keep, removeAllScript(keep, true).script.text());
  t.deepEqual(shape(keep), pristine);
  t.true(removeAllScript(keep, true).script.empty);
});

// An older tsnet commented every rule, jumps and network chains included, and jumped to the
// loopback guard unconditionally: init replaces those jumps (no duplicates), reconcile the rules.
test('init and reconcile move an older layout with comments everywhere to the comment-free one', (t) => {
  const netT = { ...netA, hostAddresses: ['10.1.0.1'] };
  const want = initialized();
  add(want, planN(netT));
  const d = cloneDump(want);
  const commented = (args: readonly string[], owner: string): string[] => {
    const j = Math.max(args.lastIndexOf('-j'), args.lastIndexOf('-g'));
    return [...args.slice(0, j), '-m', 'comment', '--comment', owner, ...args.slice(j)];
  };
  for (const tb of d.tables.values()) {
    for (const c of tb.chains.values()) {
      if (c.name === 'TSNET-LOOPBACK') continue;
      c.rules = c.rules.map((r) => {
        if (r.args.includes('--comment')) return r;
        const owner = c.builtin || c.name === 'TSNET-RAW-GUARD' ? 'tsnet' : 'tsnet:aaaaaaaaaaaa';
        const args = c.name === 'PREROUTING' && r.args.includes('TSNET-LOOPBACK') ? ['-j', 'TSNET-LOOPBACK'] : r.args;
        return { ...r, args: commented(args, owner) };
      });
    }
  }
  t.notDeepEqual(shape(d), shape(want));
  applyRestore(d, converge(4, d).script.text());
  const pre = d.tables
    .get('raw')!
    .chains.get('PREROUTING')!
    .rules.map((r) => renderArgs(r.args));
  t.deepEqual(pre, ['-d 127.0.0.0/8 -j TSNET-LOOPBACK', '-j TSNET-RAW-PREROUTING'], 'init: the jumps in their new form, once');
  const fwd = d.tables
    .get('filter')!
    .chains.get('FORWARD')!
    .rules.map((r) => renderArgs(r.args));
  t.deepEqual(fwd, ['-j TSNET-USER', '-j TSNET-BRIDGE', '-j TSNET-EGRESS']);
  applyRestore(d, converge(4, d, [planN(netT)]).script.text());
  t.deepEqual(shape(d), shape(want), 'reconcile: the network rules in their new form, once');
  t.true(converge(4, d, [planN(netT)]).script.empty);
});

// Up to decision 52, FORWARD jumped to a static TSNET-FORWARD holding the jumps to TSNET-BRIDGE
// and TSNET-EGRESS, and each network's raw chain had the guard as a DROP and a RETURN: init
// moves FORWARD to the direct jumps and deletes the chain, reconcile rewrites the raw chains.
test('init and reconcile move the TSNET-FORWARD dispatcher and the two-rule raw guard to the new layout', (t) => {
  const netT = { ...netA, hostAddresses: ['10.1.0.1'] };
  const want = initialized();
  add(want, planN(netT));
  const d = emptyDump();
  applyRestore(
    d,
    [
      '*filter',
      ':TSNET-USER - [0:0]',
      ':TSNET-FORWARD - [0:0]',
      ':TSNET-BRIDGE - [0:0]',
      ':TSNET-EGRESS - [0:0]',
      '-A FORWARD -j TSNET-USER',
      '-A FORWARD -j TSNET-FORWARD',
      '-A FORWARD -i eth9 -j DROP',
      '-A TSNET-FORWARD -j TSNET-BRIDGE',
      '-A TSNET-FORWARD -j TSNET-EGRESS',
      'COMMIT',
      '*raw',
      ':TSNET-RAW-PREROUTING - [0:0]',
      ':TSNET-N-aaaaaaaaaaaa - [0:0]',
      '-A PREROUTING -j TSNET-RAW-PREROUTING',
      '-A TSNET-N-aaaaaaaaaaaa ! -i br-a -m addrtype ! --dst-type LOCAL -j DROP',
      '-A TSNET-N-aaaaaaaaaaaa ! -i br-a -j RETURN',
      '-A TSNET-N-aaaaaaaaaaaa -d 10.1.0.1/32 -j RETURN',
      '-A TSNET-N-aaaaaaaaaaaa -d 10.1.0.0/32 -j RETURN',
      '-A TSNET-N-aaaaaaaaaaaa -d 10.1.0.255/32 -j RETURN',
      '-A TSNET-N-aaaaaaaaaaaa -s 10.1.0.0/24 -d 10.1.0.0/24 -j CT --notrack',
      '-A TSNET-RAW-PREROUTING -d 10.1.0.0/24 -g TSNET-N-aaaaaaaaaaaa',
      'COMMIT',
      '',
    ].join('\n'),
  );
  applyRestore(d, converge(4, d).script.text());
  const filter = d.tables.get('filter')!;
  t.deepEqual(
    filter.chains.get('FORWARD')!.rules.map((r) => renderArgs(r.args)),
    ['-j TSNET-USER', '-j TSNET-BRIDGE', '-j TSNET-EGRESS', '-i eth9 -j DROP'],
    'init: FORWARD jumps to TSNET-BRIDGE and TSNET-EGRESS, the admin rule stays after them',
  );
  t.false(filter.chains.has('TSNET-FORWARD'), 'init: the old dispatcher chain is gone');
  applyRestore(d, converge(4, d, [planN(netT)]).script.text());
  applyRestore(want, '*filter\n-A FORWARD -i eth9 -j DROP\nCOMMIT\n');
  t.deepEqual(shape(d), shape(want), 'reconcile: the network raw chain in its new form');
  t.true(converge(4, d, [planN(netT)]).script.empty);
});

// Decisions 35–46 put the guard and the notrack jump of every network in TSNET-RAW-PREROUTING
// (each comparing `-i` first) and only the RETURNs and the notrack in the network's raw chain;
// decision 49 enters that chain by destination. The start-up reconcile moves one to the other.
test('reconcile moves the raw layout with a guard and a notrack jump per network to the entries by destination', (t) => {
  const netT = { ...netA, hostAddresses: ['10.1.0.1'] };
  const want = initialized();
  add(want, planN(netT));
  add(want, planN(netB));
  const d = initialized();
  applyRestore(
    d,
    [
      '*raw',
      '-N TSNET-N-aaaaaaaaaaaa',
      '-A TSNET-N-aaaaaaaaaaaa -d 10.1.0.1/32 -j RETURN',
      '-A TSNET-N-aaaaaaaaaaaa -d 10.1.0.0/32 -j RETURN',
      '-A TSNET-N-aaaaaaaaaaaa -d 10.1.0.255/32 -j RETURN',
      '-A TSNET-N-aaaaaaaaaaaa -j CT --notrack',
      '-A TSNET-RAW-PREROUTING -d 10.1.0.0/24 ! -i br-a -m addrtype ! --dst-type LOCAL -m comment --comment "tsnet:aaaaaaaaaaaa" -j DROP',
      '-A TSNET-RAW-PREROUTING -s 10.1.0.0/24 -d 10.1.0.0/24 -i br-a -j TSNET-N-aaaaaaaaaaaa',
      '-A TSNET-RAW-PREROUTING -d 10.2.0.0/24 ! -i br-b -m addrtype ! --dst-type LOCAL -m comment --comment "tsnet:bbbbbbbbbbbb" -j DROP',
      'COMMIT',
      '',
    ].join('\n'),
  );
  for (const n of [netT, netB]) {
    const p = planN(n);
    applyRestore(
      d,
      appendPlan(
        new RestoreScript(),
        { chains: p.chains.filter((c) => c.table !== 'raw'), rules: p.rules.filter((r) => r.table !== 'raw') },
        'create',
      ).text(),
    );
  }
  t.notDeepEqual(shape(d), shape(want));
  applyRestore(d, converge(4, d, [planN(netT), planN(netB)]).script.text());
  t.deepEqual(shape(d), shape(want), 'the entries by destination and the guard in the network chains, nothing of the old layout');
  t.deepEqual(
    d.tables
      .get('raw')!
      .chains.get('TSNET-RAW-PREROUTING')!
      .rules.map((r) => renderArgs(r.args)),
    ['-d 10.1.0.0/24 -g TSNET-N-aaaaaaaaaaaa', '-d 10.2.0.0/24 -g TSNET-N-bbbbbbbbbbbb'],
  );
  t.true(converge(4, d, [planN(netT), planN(netB)]).script.empty);
});
