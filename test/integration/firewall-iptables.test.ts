/**
 * The iptables firewall backend against the real kernel — only inside throwaway network
 * namespaces (`ip netns add tsnet-fw-test-<random>`, deleted in t.teardown even on failure).
 * Every iptables command runs through `nsenter --net=<ns file>`; the machine's own firewall is
 * never touched. Traffic only flows between namespaces created here.
 *
 * Runs for both backends on this machine: iptables-nft (the default `iptables-restore`) and
 * iptables-legacy. Root only: without root or the tools, the tests fail saying what is missing.
 */
import test, { type ExecutionContext } from 'ava';
import { execa, execaSync } from 'execa';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  createIptablesFirewall,
  type CommandInfo,
  type FirewallBackend,
  type FirewallNetwork,
  type FirewallPorts,
  type PortMapping,
} from '../../src/kernel/firewall/index.js';
import { sandboxRules } from '../../src/kernel/firewall/iptables/sandbox-rules.js';
import { loadLibc } from '../../src/kernel/libc.js';
import { createNetnsOps } from '../../src/kernel/netns.js';
import { requireNeeds } from '../helpers/preconditions.js';

const serial = test.serial;
test.before(() =>
  requireNeeds({
    root: true,
    commands: [
      ['iptables-restore', 'iptables'],
      ['iptables-legacy-restore', 'iptables'],
      ['nsenter', 'util-linux'],
      ['/bin/busybox', 'busybox-static'],
    ],
  }),
);

interface Flavor {
  name: 'nft' | 'legacy';
  restore: { 4: string; 6: string };
  save: { 4: string; 6: string };
}

const FLAVORS: Flavor[] = [
  { name: 'nft', restore: { 4: 'iptables-restore', 6: 'ip6tables-restore' }, save: { 4: 'iptables-save', 6: 'ip6tables-save' } },
  {
    name: 'legacy',
    restore: { 4: 'iptables-legacy-restore', 6: 'ip6tables-legacy-restore' },
    save: { 4: 'iptables-legacy-save', 6: 'ip6tables-legacy-save' },
  },
];

interface Ns {
  name: string;
  file: string;
  /** Run a command inside the namespace; rejects on failure. */
  run(argv: string[], opts?: { input?: string; timeout?: number }): Promise<string>;
  /** Start a long-running process inside the namespace; killed in teardown. */
  start(argv: string[]): ChildProcess;
}

function makeNs(t: ExecutionContext, role: string): Ns {
  const name = `tsnet-fw-test-${role}-${randomBytes(3).toString('hex')}`;
  execaSync('ip', ['netns', 'add', name]);
  const file = `/run/netns/${name}`;
  const children: ChildProcess[] = [];
  t.teardown(() => {
    for (const c of children) c.kill('SIGKILL');
    try {
      execaSync('ip', ['netns', 'del', name]);
    } catch {
      // already gone
    }
  });
  return {
    name,
    file,
    async run(argv, opts = {}) {
      const r = await execa('nsenter', [`--net=${file}`, ...argv], { input: opts.input ?? '', timeout: opts.timeout ?? 20_000 });
      return r.stdout;
    },
    start(argv) {
      const c = spawn('nsenter', [`--net=${file}`, ...argv], { stdio: 'ignore' });
      children.push(c);
      return c;
    },
  };
}

function firewall(ns: Ns, flavor: Flavor, commands?: CommandInfo[]): FirewallBackend {
  return createIptablesFirewall({
    commandPrefix: ['nsenter', `--net=${ns.file}`],
    iptablesRestore: flavor.restore[4],
    ip6tablesRestore: flavor.restore[6],
    iptablesSave: flavor.save[4],
    ip6tablesSave: flavor.save[6],
    ...(commands ? { onCommand: (c: CommandInfo) => commands.push(c) } : {}),
  });
}

/**
 * Both families' rulesets without comments and counters. A table holding nothing but built-in
 * chains with ACCEPT policies is left out: it filters nothing, and once a restore has touched
 * a table (nft creates it) it stays listed even when every rule in it is gone again.
 */
async function saveAll(ns: Ns, flavor: Flavor): Promise<string> {
  const parts = await Promise.all([ns.run([flavor.save[4]]), ns.run([flavor.save[6]])]);
  const out: string[] = [];
  for (const part of parts) {
    let table: string[] = [];
    for (const raw of part.split('\n')) {
      const l = raw.replace(/\[\d+:\d+\]/, '[0:0]');
      if (l === '' || l.startsWith('#')) continue;
      table.push(l);
      if (l === 'COMMIT') {
        const inert = table.every((x) => x.startsWith('*') || x === 'COMMIT' || / ACCEPT \[0:0\]$/.test(x));
        if (!inert) out.push(...table);
        table = [];
      }
    }
  }
  return out.join('\n');
}

const sortedLines = (s: string): string[] => s.split('\n').sort();

/** A save without the empty published-port slots and their jumps (the pool stays when ports go). */
function withoutFreeSlots(save: string): string {
  const lines = save.split('\n');
  const used = new Set(lines.map((l) => /^-A (TSNET-S-\d+) /.exec(l)?.[1]).filter((x) => x !== undefined));
  const free = (name: string | undefined) => name !== undefined && !used.has(name);
  return lines
    .filter((l) => !free(/^:(TSNET-S-\d+) /.exec(l)?.[1]) && !free(/^-A TSNET-DNAT .*-j (TSNET-S-\d+)$/.exec(l)?.[1]))
    .join('\n');
}

async function restore(ns: Ns, flavor: Flavor, family: 4 | 6, text: string): Promise<void> {
  await ns.run([flavor.restore[family], '--noflush'], { input: text });
}

const NET_A: FirewallNetwork = {
  id: 'a0a0a0a0a0a0f00d',
  bridge: 'br-fwtest-a',
  subnets: ['10.201.0.0/24', 'fd00:201::/64'],
  internal: false,
  icc: true,
  masquerade: true,
};
const NET_B: FirewallNetwork = {
  id: 'b0b0b0b0b0b0f00d',
  bridge: 'br-fwtest-b',
  subnets: ['10.202.0.0/24'],
  internal: false,
  icc: false,
  masquerade: true,
};

function portsOf(n: FirewallNetwork, ep: string, ip: string, mappings: PortMapping[]): FirewallPorts {
  return { networkId: n.id, endpointId: ep, bridge: n.bridge, containerIp: ip, mappings };
}

const PA4 = portsOf(NET_A, 'e1e1e1e1e1e1aaaa', '10.201.0.2', [
  { proto: 'tcp', hostPort: 8080, containerPort: 80 },
  { proto: 'udp', hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53 },
  { proto: 'tcp', hostPort: 9000, hostPortEnd: 9009, containerPort: 9100, containerPortEnd: 9109 },
]);
const PA6 = portsOf(NET_A, 'e1e1e1e1e1e1aaaa', 'fd00:201::2', [{ proto: 'tcp', hostPort: 8080, containerPort: 80 }]);
const PB4 = portsOf(NET_B, 'e2e2e2e2e2e2bbbb', '10.202.0.2', [{ proto: 'tcp', hostPort: 8443, containerPort: 443 }]);

const FOREIGN_V4 = `*filter
:DOCKER-USER - [0:0]
-A DOCKER-USER -j RETURN
-A FORWARD -j DOCKER-USER
-A FORWARD -i eth9 -j DROP
COMMIT
*nat
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 192.168.77.0/24 ! -o docker0 -j MASQUERADE
COMMIT
*raw
-A PREROUTING -d 192.168.77.2/32 ! -i docker0 -j DROP
COMMIT
`;
const FOREIGN_V6 = `*filter
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
COMMIT
`;

/**
 * The layout of tsnet before decision 53, from a save of the current one: FORWARD jumped to a
 * static TSNET-FORWARD holding the jumps to TSNET-BRIDGE and TSNET-EGRESS, and a network's raw
 * chain began with the guard as a DROP and a RETURN, both loading the interface name.
 */
function before53(save: string): string {
  return save
    .split('\n')
    .flatMap((l) => {
      if (l === '-A FORWARD -j TSNET-BRIDGE')
        return ['-A FORWARD -j TSNET-FORWARD', '-A TSNET-FORWARD -j TSNET-BRIDGE', '-A TSNET-FORWARD -j TSNET-EGRESS'];
      if (l === '-A FORWARD -j TSNET-EGRESS' || l.startsWith(':TSNET-RAW-GUARD ') || l.startsWith('-A TSNET-RAW-GUARD '))
        return [];
      if (l.startsWith(':TSNET-BRIDGE ')) return [':TSNET-FORWARD - [0:0]', l];
      const guard = /^(-A TSNET-N-\S+ ! -i \S+) -g TSNET-RAW-GUARD$/.exec(l);
      if (guard) return [`${guard[1]} -m addrtype ! --dst-type LOCAL -j DROP`, `${guard[1]} -j RETURN`];
      return [l];
    })
    .join('\n');
}

for (const flavor of FLAVORS) {
  serial(`${flavor.name}: init and reconcile move the layout before decision 53 to the current one`, async (t) => {
    const want = makeNs(t, 'w');
    const fw = firewall(want, flavor);
    await fw.init();
    await fw.setupNetwork(NET_A);
    const expected = await saveAll(want, flavor);
    const ns = makeNs(t, 'o');
    for (const f of [4, 6] as const) {
      const old = before53(await want.run([flavor.save[f]]));
      t.regex(old, /-A FORWARD -j TSNET-FORWARD/);
      t.regex(old, /! -i br-fwtest-a -j RETURN/);
      await ns.run([flavor.restore[f]], { input: `${old}\n` });
    }
    const fw2 = firewall(ns, flavor);
    await fw2.init();
    const inited = await saveAll(ns, flavor);
    t.false(inited.includes('TSNET-FORWARD'), 'init deletes the old dispatcher chain and its jump');
    await fw2.reconcile({ networks: [NET_A], ports: [] });
    // iptables-legacy lists a namespace's tables in the order they were made
    const tables = (save: string): string[] => save.split(/\n(?=\*)/).sort();
    t.deepEqual(tables(await saveAll(ns, flavor)), tables(expected), 'reconcile rewrites the network raw chains');
  });
}

for (const flavor of FLAVORS) {
  serial(`${flavor.name}: init is idempotent; foreign chains and rules survive everything, including removeAll`, async (t) => {
    const ns = makeNs(t, 'a');
    await restore(ns, flavor, 4, FOREIGN_V4);
    await restore(ns, flavor, 6, FOREIGN_V6);
    const pristine = await saveAll(ns, flavor);
    const fw = firewall(ns, flavor);

    await fw.init();
    const once = await saveAll(ns, flavor);
    await fw.init();
    t.is(await saveAll(ns, flavor), once, 'second init changes nothing');
    const fwd = once.split('\n').filter((l) => l.startsWith('-A FORWARD'));
    t.deepEqual(fwd.slice(0, 3), ['-A FORWARD -j TSNET-USER', '-A FORWARD -j TSNET-BRIDGE', '-A FORWARD -j TSNET-EGRESS']);

    await fw.setupNetwork(NET_A);
    await fw.setupNetwork(NET_B);
    await fw.addPorts(PA4);
    await fw.addPorts(PA6);
    await fw.addPorts(PB4);
    const busy = await saveAll(ns, flavor);
    for (const line of pristine.split('\n').filter((l) => l.startsWith('-A'))) t.true(busy.includes(line), `kept: ${line}`);
    await fw.init();
    t.is(await saveAll(ns, flavor), busy, 'init with networks programmed changes nothing');

    await fw.removeAll();
    t.is(await saveAll(ns, flavor), pristine, 'removeAll leaves exactly the foreign rules');
    await fw.removeAll();
    t.is(await saveAll(ns, flavor), pristine, 'removeAll is idempotent');
  });

  serial(
    `${flavor.name}: setup/addPorts/removePorts/teardown leave iptables-save exactly as before; deletes are idempotent`,
    async (t) => {
      const ns = makeNs(t, 'b');
      const commands: CommandInfo[] = [];
      const fw = firewall(ns, flavor, commands);
      await fw.init();
      const base = await saveAll(ns, flavor);
      const variants: FirewallNetwork[] = [
        NET_A,
        { ...NET_A, internal: true },
        { ...NET_A, icc: false, masqueradeIpv6: true },
        { ...NET_A, masquerade: false },
        { ...NET_A, hostBindingIpv4: '192.0.2.77' },
      ];
      for (const v of variants) {
        commands.length = 0;
        await fw.setupNetwork(v);
        await fw.addPorts(PA4);
        await fw.addPorts(PA6);
        t.deepEqual(
          commands.map((c) => path.basename(c.argv[2] ?? '')).sort(),
          [flavor.restore[4], flavor.restore[4], flavor.restore[6], flavor.restore[6]].sort(),
          'one restore per operation and family, no save',
        );
        t.not(await saveAll(ns, flavor), base);
        await fw.removePorts(PA4);
        await fw.removePorts(PA6);
        await fw.teardownNetwork(v);
        t.is(withoutFreeSlots(await saveAll(ns, flavor)), base, `variant ${JSON.stringify(v)}`);
      }
      const slots = await saveAll(ns, flavor);
      t.is(slots.split('\n').filter((l) => l.startsWith(':TSNET-S-')).length, 2, 'one slot per family, reused by every variant');
      await fw.removePorts(PA4);
      await fw.removePorts(PB4);
      await fw.teardownNetwork(NET_A);
      await fw.teardownNetwork(NET_B);
      t.is(await saveAll(ns, flavor), slots, 'repeated and never-added deletes change nothing');

      // Concurrent callers: operations queue per family inside the instance.
      await fw.setupNetwork(NET_A);
      const eps = Array.from({ length: 20 }, (_, i) =>
        portsOf(NET_A, `c0c0c0c0c0${String(i).padStart(2, '0')}`, i % 2 ? `fd00:201::${i + 10}` : `10.201.0.${i + 10}`, [
          { proto: 'tcp', hostPort: 31000 + i, containerPort: 80 },
        ]),
      );
      await Promise.all(eps.map((p) => fw.addPorts(p)));
      t.is((await saveAll(ns, flavor)).split('\n').filter((l) => l.includes('-j DNAT')).length, 20);
      await Promise.all([...eps.map((p) => fw.removePorts(p)), ...eps.slice(0, 5).map((p) => fw.removePorts(p))]);
      await fw.teardownNetwork(NET_A);
      t.is(withoutFreeSlots(await saveAll(ns, flavor)), base, 'concurrent adds and (duplicate) removes');
    },
  );

  serial(`${flavor.name}: 1000 port mappings in one call, removed in one call`, async (t) => {
    const ns = makeNs(t, 'c');
    const commands: CommandInfo[] = [];
    const fw = firewall(ns, flavor, commands);
    await fw.init();
    await fw.setupNetwork(NET_A);
    const base = await saveAll(ns, flavor);
    const many = portsOf(
      NET_A,
      'e3e3e3e3e3e3cccc',
      '10.201.0.3',
      Array.from({ length: 1000 }, (_, i) => ({
        proto: i % 2 ? ('udp' as const) : ('tcp' as const),
        hostPort: 20000 + i,
        containerPort: 1000 + i,
      })),
    );
    commands.length = 0;
    await fw.addPorts(many);
    t.is(commands.length, 1);
    const saved = await saveAll(ns, flavor);
    t.is(saved.split('\n').filter((l) => l.includes('-j DNAT')).length, 1000);
    t.true(
      saved.includes(
        '-A TSNET-S-0 -p udp -m udp --dport 20999 -m comment --comment "tsnet:a0a0a0a0a0a0:e3e3e3e3e3e3" -j DNAT --to-destination 10.201.0.3:1999',
      ),
    );
    commands.length = 0;
    await fw.removePorts(many);
    t.is(commands.length, 1);
    t.is(commands[0]?.input, '*nat\n-F TSNET-S-0\nCOMMIT\n');
    t.is(withoutFreeSlots(await saveAll(ns, flavor)), base);
  });

  serial(
    `${flavor.name}: repeated adds replace instead of duplicating; reconcile deletes orphans and re-adds missing rules`,
    async (t) => {
      const ns = makeNs(t, 'd');
      const fw = firewall(ns, flavor);
      await fw.init();
      await fw.setupNetwork(NET_A);
      await fw.addPorts(PA4);
      await fw.addPorts(PA6);
      const want = await saveAll(ns, flavor);

      await fw.setupNetwork(NET_A);
      await fw.addPorts({ ...PA4, mappings: [{ proto: 'tcp', hostPort: 1, containerPort: 1 }] });
      await fw.addPorts(PA4);
      t.deepEqual(sortedLines(await saveAll(ns, flavor)), sortedLines(want), 'no duplicates after repeated setup/add');

      // Damage: A loses its MASQUERADE and its DNAT rules; orphan network B with an endpoint (in
      // slot 1), and an endpoint chain of tsnet before the slots appear.
      await fw.setupNetwork(NET_B);
      await fw.addPorts(PB4);
      await restore(
        ns,
        flavor,
        4,
        [
          '*nat',
          '-D TSNET-POSTROUTING -s 10.201.0.0/24 ! -o br-fwtest-a -m comment --comment "tsnet:a0a0a0a0a0a0" -j MASQUERADE',
          '-F TSNET-S-0',
          ':TSNET-EP-deadbeef0000 - [0:0]',
          '-A TSNET-EP-deadbeef0000 -p tcp -m tcp --dport 7777 -m comment --comment "tsnet:ffffffffffff:deadbeef0000" -j DNAT --to-destination 10.9.9.9:7777',
          '-A TSNET-DNAT -m comment --comment "tsnet:ffffffffffff:deadbeef0000" -j TSNET-EP-deadbeef0000',
          'COMMIT',
          '*filter',
          '-A TSNET-USER -s 10.66.0.0/16 -j DROP',
          'COMMIT',
          '',
        ].join('\n'),
      );
      const r = await fw.reconcile({ networks: [NET_A], ports: [PA4, PA6] });
      t.is(r.added, 4); // the MASQUERADE and A's three DNAT rules
      t.true(r.removed >= 12, `removed ${r.removed}`);
      const got = withoutFreeSlots(await saveAll(ns, flavor));
      t.false(got.includes('TSNET-EP-'), 'the old endpoint chain and its jump are gone');
      t.true(got.includes('-A TSNET-USER -s 10.66.0.0/16 -j DROP'), 'TSNET-USER is the admin’s');
      const withoutUser = (s: string) => sortedLines(s).filter((l) => !l.startsWith('-A TSNET-USER'));
      t.deepEqual(withoutUser(got), withoutUser(want));
      t.deepEqual(await fw.reconcile({ networks: [NET_A], ports: [PA4, PA6] }), { removed: 0, added: 0 });
    },
  );

  serial(`${flavor.name}: packets — DNAT from a client, MASQUERADE out, hairpin, loopback, direct-access guard`, async (t) => {
    const host = makeNs(t, 'h');
    const ctr = makeNs(t, 'c');
    const client = makeNs(t, 'x');
    const www = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-fw-www-'));
    t.teardown(() => fs.rmSync(www, { recursive: true, force: true }));
    for (const side of ['c', 'x']) {
      fs.mkdirSync(path.join(www, side, 'cgi-bin'), { recursive: true });
      fs.writeFileSync(path.join(www, side, 'index.html'), `hello from ${side}\n`);
      // REMOTE_ADDR comes as "[::ffff:a.b.c.d]" (httpd listens on a dual-stack socket): print a.b.c.d.
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell script, not a template
      const cgi = '#!/bin/sh\na=${REMOTE_ADDR#[::ffff:}\na=${a%]}\nprintf "Content-Type: text/plain\\r\\n\\r\\n%s\\n" "$a"\n';
      fs.writeFileSync(path.join(www, side, 'cgi-bin', 'ip'), cgi, { mode: 0o755 });
    }
    const sh = (ns: Ns, script: string) => ns.run(['sh', '-c', script]);
    await sh(
      host,
      [
        'set -e',
        'ip link set lo up',
        'ip link add br-fwt type bridge',
        'ip addr add 10.88.0.1/24 dev br-fwt',
        'ip link set br-fwt up',
        `ip link add vh-c type veth peer name eth0 netns ${ctr.name}`,
        'ip link set vh-c master br-fwt up',
        // What the bridge driver does for every endpoint port (Docker: with userland-proxy off):
        // with br_netfilter, a DNATed packet whose new destination sits on the same bridge is
        // bridged back out of the port it came in on, which needs hairpin mode.
        'ip link set vh-c type bridge_slave hairpin on',
        `ip link add vh-x type veth peer name eth0 netns ${client.name}`,
        'ip addr add 192.0.2.1/24 dev vh-x',
        'ip link set vh-x up',
        'sysctl -qw net.ipv4.ip_forward=1',
        'sysctl -qw net.ipv4.conf.br-fwt.route_localnet=1',
      ].join('\n'),
    );
    await sh(
      ctr,
      'set -e; ip link set lo up; ip addr add 10.88.0.2/24 dev eth0; ip link set eth0 up; ip route add default via 10.88.0.1',
    );
    await sh(client, 'set -e; ip link set lo up; ip addr add 192.0.2.2/24 dev eth0; ip link set eth0 up');
    // A host that drops forwarded traffic by default, like a Docker host: tsnet's rules must suffice.
    await restore(host, flavor, 4, '*filter\n:FORWARD DROP [0:0]\nCOMMIT\n');

    ctr.start(['/bin/busybox', 'httpd', '-f', '-p', '80', '-h', path.join(www, 'c')]);
    client.start(['/bin/busybox', 'httpd', '-f', '-p', '8081', '-h', path.join(www, 'x')]);
    // (busybox 1.35's `wget -T` segfaults here; `busybox timeout` bounds it instead.)
    const get = (ns: Ns, url: string, timeoutS = 3) =>
      ns.run(['/bin/busybox', 'timeout', String(timeoutS), '/bin/busybox', 'wget', '-q', '-O', '-', url], {
        timeout: (timeoutS + 5) * 1000,
      });
    const waitFor = async (ns: Ns, url: string) => {
      for (let i = 0; i < 50; i++) {
        try {
          return await get(ns, url, 1);
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      throw new Error(`${url} never answered`);
    };
    await waitFor(ctr, 'http://127.0.0.1:80/index.html');
    await waitFor(client, 'http://127.0.0.1:8081/index.html');

    const fw = firewall(host, flavor);
    const net: FirewallNetwork = {
      id: 'feedfeedfeed0001',
      bridge: 'br-fwt',
      subnets: ['10.88.0.0/24'],
      internal: false,
      icc: true,
      masquerade: true,
    };
    const ports = portsOf(net, 'c0ffeec0ffee0001', '10.88.0.2', [{ proto: 'tcp', hostPort: 8080, containerPort: 80 }]);
    await fw.init();
    await fw.setupNetwork(net);
    await fw.addPorts(ports);

    t.is(
      (await get(client, 'http://192.0.2.1:8080/index.html')).trim(),
      'hello from c',
      'client → host:8080 is DNATed to the container',
    );
    t.is((await get(client, 'http://192.0.2.1:8080/cgi-bin/ip')).trim(), '192.0.2.2', 'the container sees the client address');
    t.is(
      (await get(ctr, 'http://192.0.2.2:8081/cgi-bin/ip')).trim(),
      '192.0.2.1',
      'outgoing traffic is masqueraded to the host address',
    );
    t.is(
      (await get(ctr, 'http://192.0.2.1:8080/cgi-bin/ip')).trim(),
      '10.88.0.1',
      'hairpin: the container reaches its own published port',
    );
    t.is((await get(host, 'http://127.0.0.1:8080/cgi-bin/ip')).trim(), '10.88.0.1', 'the host reaches the port on 127.0.0.1');
    // Without br_netfilter the hairpin is routed (in and out of br-fwt) and needs no hairpin mode.
    await sh(host, 'sysctl -qw net.bridge.bridge-nf-call-iptables=0; ip link set vh-c type bridge_slave hairpin off');
    t.is((await get(ctr, 'http://192.0.2.1:8080/cgi-bin/ip')).trim(), '10.88.0.1', 'hairpin without br_netfilter');
    await sh(host, 'sysctl -qw net.bridge.bridge-nf-call-iptables=1; ip link set vh-c type bridge_slave hairpin on');

    await sh(client, 'ip route add 10.88.0.0/24 via 192.0.2.1');
    await t.throwsAsync(
      get(client, 'http://10.88.0.2:80/index.html', 2),
      undefined,
      'direct access to the container address is dropped',
    );
    const raw = await host.run([flavor.save[4], '-c', '-t', 'raw']);
    t.regex(raw, /\[[1-9]\d*:\d+\] -A TSNET-RAW-PREROUTING -d 10\.88\.0\.0\/24 -g TSNET-N-/, 'entered the network chain');
    t.regex(raw, /\[[1-9]\d*:\d+\] -A TSNET-N-\S+ ! -i br-fwt -g TSNET-RAW-GUARD/, 'not from the bridge: to the guard');
    t.regex(raw, /\[[1-9]\d*:\d+\] -A TSNET-RAW-GUARD -m addrtype ! --dst-type LOCAL -j DROP/, 'dropped by the raw guard');
    // ...but the host's own address on the bridge stays reachable from elsewhere (addrtype LOCAL)
    host.start(['/bin/busybox', 'httpd', '-f', '-p', '10.88.0.1:8082', '-h', path.join(www, 'x')]);
    t.is((await waitFor(client, 'http://10.88.0.1:8082/index.html')).trim(), 'hello from x', 'the gateway address answers');

    await fw.removePorts(ports);
    await t.throwsAsync(get(client, 'http://192.0.2.1:8080/index.html', 2), undefined, 'unpublished after removePorts');

    // The freed slot is filled by the next endpoint's ports, and traffic follows.
    const slots = async () =>
      (await host.run([flavor.save[4], '-t', 'nat'])).split('\n').filter((l) => l.startsWith(':TSNET-S-'));
    const next = portsOf(net, 'beefbeefbeef0002', '10.88.0.2', [{ proto: 'tcp', hostPort: 8090, containerPort: 80 }]);
    await fw.addPorts(next);
    t.is((await get(client, 'http://192.0.2.1:8090/index.html')).trim(), 'hello from c', 'published through the reused slot');
    t.deepEqual(await slots(), [':TSNET-S-0 - [0:0]'], 'one slot, reused');
    // A daemon that crashed left that slot filled: a new instance finds it at init and fills
    // another one instead of overwriting it...
    const fw2 = firewall(host, flavor);
    await fw2.init();
    await fw2.addPorts(ports);
    t.is((await get(client, 'http://192.0.2.1:8080/index.html')).trim(), 'hello from c', 'the new instance publishes');
    t.is((await get(client, 'http://192.0.2.1:8090/index.html')).trim(), 'hello from c', 'the leftover slot is not overwritten');
    t.is((await slots()).length, 2);
    // ...and its reconcile removes the slot nobody expects.
    await fw2.reconcile({ networks: [net], ports: [ports] });
    await t.throwsAsync(get(client, 'http://192.0.2.1:8090/index.html', 2), undefined, 'the leftover ports are gone');
    t.is((await get(client, 'http://192.0.2.1:8080/index.html')).trim(), 'hello from c', 'the expected ones stay');
    t.deepEqual(await slots(), [':TSNET-S-1 - [0:0]'], 'the pool shrinks to the publishing endpoints');
    await fw2.removePorts(ports);
    await t.throwsAsync(get(client, 'http://192.0.2.1:8080/index.html', 2), undefined, 'unpublished again');
    await fw.teardownNetwork(net);
    await t.throwsAsync(
      get(ctr, 'http://192.0.2.2:8081/index.html', 2),
      undefined,
      'no forwarding once the network is torn down (FORWARD policy DROP)',
    );
  });
}

// ---- measurements -------------------------------------------------------------------------------

for (const flavor of FLAVORS) {
  serial(
    `${flavor.name}: 300 endpoints of one port each: a no-op reconcile changes nothing, removal leaves the baseline`,
    async (t) => {
      t.timeout(600_000);
      const ns = makeNs(t, 'm');
      const commands: CommandInfo[] = [];
      const fw = firewall(ns, flavor, commands);
      await fw.init();
      const netM: FirewallNetwork = {
        id: 'abcabcabcabc0000',
        bridge: 'br-meas',
        subnets: ['10.160.0.0/16'],
        internal: false,
        icc: true,
        masquerade: true,
      };
      await fw.setupNetwork(netM);
      const base = await saveAll(ns, flavor);
      const N = 300;
      const all = Array.from({ length: N }, (_, i) =>
        portsOf(netM, `0e0e${String(i).padStart(8, '0')}`, `10.160.${Math.floor(i / 250)}.${(i % 250) + 2}`, [
          { proto: 'tcp', hostPort: 30000 + i, containerPort: 80 },
        ]),
      );
      for (const p of all) await fw.addPorts(p);
      const full = await saveAll(ns, flavor);
      t.is(full.split('\n').filter((l) => l.includes('-j DNAT')).length, N);
      commands.length = 0;
      t.deepEqual(await fw.reconcile({ networks: [netM], ports: all }), { removed: 0, added: 0 });
      t.is(await saveAll(ns, flavor), full, 'the no-op reconcile left the ruleset as it was');
      await fw.init();
      t.is(await saveAll(ns, flavor), full, 'init again keeps every rule');
      for (const p of all) await fw.removePorts({ ...p, mappings: [] });
      t.is(withoutFreeSlots(await saveAll(ns, flavor)), base);
    },
  );
}

// The sandbox DNS rules of the iptables backend go through libnftables in-process (issue 14: no
// process on a container's start path); a sandbox an older tsnet programmed with iptables keeps
// its iptables rules.
serial('sandboxDns: a fresh sandbox gets nft rules in-process, no command; an iptables one stays iptables', async (t) => {
  const netns = createNetnsOps(loadLibc());
  const fw = createIptablesFirewall({ inNetns: (file, fn) => netns.run(file, fn), sandboxDnsNft: true });
  const fresh = makeNs(t, 's');
  await fw.sandboxDns({ netns: fresh.file, resolverIp: '127.0.0.11', udpPort: 40001, tcpPort: 40002, fresh: true });
  await fw.sandboxDns({ netns: fresh.file, resolverIp: '127.0.0.11', udpPort: 40003, tcpPort: 40004 });
  const rules = await fresh.run(['/usr/sbin/nft', 'list', 'table', 'netdev', 'tsnet-dns']);
  t.regex(rules, /ip daddr 127\.0\.0\.11 udp dport 53 udp dport set 40003/);
  t.notRegex(rules, /4000[12]/, 're-applying replaced the rules');
  t.notRegex(await fresh.run(['iptables-save', '-t', 'nat']), /TSNET-DNS/, 'no iptables-restore ran in the fresh sandbox');

  const old = makeNs(t, 'o');
  await old.run(['iptables-restore', '--noflush'], { input: sandboxRules(40005, 40006, { jumps: true }) });
  await fw.sandboxDns({ netns: old.file, resolverIp: '127.0.0.11', udpPort: 40007, tcpPort: 40008 });
  const save = await old.run(['iptables-save', '-t', 'nat']);
  t.regex(save, /--to-destination 127\.0\.0\.11:40007/);
  t.is(save.split('\n').filter((l) => l.includes('-j TSNET-DNS-OUTPUT')).length, 1);
  t.false((await old.run(['/usr/sbin/nft', 'list', 'tables'])).includes('tsnet-dns'), 'no nft table added beside them');
});
