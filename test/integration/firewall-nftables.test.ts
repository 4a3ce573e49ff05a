/**
 * The nftables firewall backend against the real kernel, only inside throwaway network
 * namespaces (`ip netns add tsnet-nft-test-<random>`, deleted in t.teardown even on failure);
 * the machine's own firewall is never touched. Runs for both runners: libnftables in-process
 * (the default) and `nft -f -`.
 */
import test, { type ExecutionContext } from 'ava';
import { execa, execaSync } from 'execa';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  createNftablesFirewall,
  type BatchInfo,
  type FirewallBackend,
  type FirewallNetwork,
  type FirewallPorts,
  type PortMapping,
} from '../../src/kernel/firewall/index.js';
import { loadLibc } from '../../src/kernel/libc.js';
import { createNetnsOps } from '../../src/kernel/netns.js';

const NFT = '/usr/sbin/nft';
const netns = createNetnsOps(loadLibc());
const MODES = ['lib', 'exec'] as const;
type Mode = (typeof MODES)[number];

interface Ns {
  name: string;
  file: string;
  run(argv: string[], opts?: { input?: string }): Promise<string>;
  start(argv: string[]): ChildProcess;
}

function makeNs(t: ExecutionContext, role: string): Ns {
  if (!fs.existsSync(NFT)) throw new Error(`${NFT} is missing: apt-get install nftables`);
  const name = `tsnet-nft-test-${role}-${randomBytes(3).toString('hex')}`;
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
      return (await execa('nsenter', [`--net=${file}`, ...argv], { input: opts.input ?? '', timeout: 20_000 })).stdout;
    },
    start(argv) {
      const c = spawn('nsenter', [`--net=${file}`, ...argv], { stdio: 'ignore' });
      children.push(c);
      return c;
    },
  };
}

function firewall(ns: Ns, mode: Mode, batches?: BatchInfo[]): FirewallBackend {
  return createNftablesFirewall({
    mode,
    netns: ns.file,
    inNetns: (file, fn) => netns.run(file, fn),
    ...(batches ? { onBatch: (b: BatchInfo) => batches.push(b) } : {}),
  });
}

/** The whole ruleset, counters and handles left out. */
async function ruleset(ns: Ns): Promise<string> {
  return (await ns.run([NFT, 'list', 'ruleset'])).replace(/counter packets \d+ bytes \d+/g, 'counter');
}

const NET_A: FirewallNetwork = {
  id: 'a0a0a0a0a0a0f00d',
  bridge: 'br-nfttest-a',
  subnets: ['10.201.0.0/24', 'fd00:201::/64'],
  internal: false,
  icc: true,
  masquerade: true,
};
const NET_B: FirewallNetwork = {
  id: 'b0b0b0b0b0b0f00d',
  bridge: 'br-nfttest-b',
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

// Docker's iptables(-nft) rules and another nftables table: tsnet must never touch them.
const FOREIGN_IPTABLES = `*filter
:DOCKER-USER - [0:0]
-A DOCKER-USER -j RETURN
-A FORWARD -j DOCKER-USER
COMMIT
*nat
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 192.168.77.0/24 ! -o docker0 -j MASQUERADE
COMMIT
`;
const FOREIGN_NFT = `table inet other {
  chain fw { type filter hook forward priority -10; policy accept; iifname "eth9" drop; }
}
`;

for (const mode of MODES) {
  test.serial(`${mode}: init is idempotent; foreign rules survive everything, including removeAll`, async (t) => {
    const ns = makeNs(t, 'a');
    await ns.run(['iptables-restore', '--noflush'], { input: FOREIGN_IPTABLES });
    await ns.run([NFT, '-f', '-'], { input: FOREIGN_NFT });
    const pristine = await ruleset(ns);
    const fw = firewall(ns, mode);
    await fw.init();
    const once = await ruleset(ns);
    t.regex(once, /table ip tsnet \{/);
    t.regex(once, /table ip6 tsnet \{/);
    t.regex(once, /ip daddr 127\.0\.0\.0\/8 iifname != "lo" counter drop comment "loopback-guard /, 'the loopback guard');
    await fw.init();
    t.is(await ruleset(ns), once, 'second init changes nothing');
    await fw.setupNetwork(NET_A);
    await fw.setupNetwork(NET_B);
    await fw.addPorts(PA4);
    await fw.addPorts(PA6);
    await fw.addPorts(PB4);
    const busy = await ruleset(ns);
    for (const table of ['table ip filter', 'table ip nat', 'table inet other']) t.true(busy.includes(table), table);
    await fw.init();
    t.is(await ruleset(ns), busy, 'init with networks programmed changes nothing');
    await fw.removeAll();
    t.is(await ruleset(ns), pristine, 'removeAll leaves exactly the foreign rules');
    await fw.removeAll();
    t.is(await ruleset(ns), pristine, 'removeAll is idempotent');
  });

  test.serial(`${mode}: every operation is one transaction and undoes exactly; deletes are idempotent`, async (t) => {
    const ns = makeNs(t, 'b');
    const batches: BatchInfo[] = [];
    const fw = firewall(ns, mode, batches);
    await fw.init();
    // the first port operation loads the endpoint index once (a listing, not a batch)
    await fw.addPorts(PB4);
    await fw.removePorts(PB4);
    const base = await ruleset(ns);
    const variants: FirewallNetwork[] = [
      NET_A,
      { ...NET_A, internal: true },
      { ...NET_A, icc: false, masqueradeIpv6: true },
      { ...NET_A, masquerade: false },
      { ...NET_A, hostBindingIpv4: '192.0.2.77' },
    ];
    for (const v of variants) {
      batches.length = 0;
      await fw.setupNetwork(v);
      await fw.addPorts(PA4);
      await fw.addPorts(PA6);
      t.is(batches.length, 4, `one batch per operation and family: ${JSON.stringify(v)}`);
      t.true(
        batches.every((b) => b.ok),
        'no failed batch (no slow path)',
      );
      t.not(await ruleset(ns), base);
      batches.length = 0;
      await fw.removePorts(PA4);
      await fw.removePorts(PA6);
      await fw.teardownNetwork(v);
      t.is(batches.length, 4);
      t.is(await ruleset(ns), base, `variant ${JSON.stringify(v)}`);
    }
    await fw.removePorts(PA4);
    await fw.removePorts(PB4);
    await fw.teardownNetwork(NET_A);
    await fw.teardownNetwork(NET_B);
    t.is(await ruleset(ns), base, 'repeated and never-added deletes change nothing');

    await fw.setupNetwork(NET_A);
    const eps = Array.from({ length: 20 }, (_, i) =>
      portsOf(NET_A, `c0c0c0c0c0${String(i).padStart(2, '0')}`, i % 2 ? `fd00:201::${i + 10}` : `10.201.0.${i + 10}`, [
        { proto: 'tcp', hostPort: 31000 + i, containerPort: 80 },
      ]),
    );
    await Promise.all(eps.map((p) => fw.addPorts(p)));
    t.is((await ruleset(ns)).match(/tcp \. 310\d\d comment/g)?.length, 20);
    await Promise.all([...eps.map((p) => fw.removePorts(p)), ...eps.slice(0, 5).map((p) => fw.removePorts(p))]);
    await fw.teardownNetwork(NET_A);
    t.is(await ruleset(ns), base, 'concurrent adds and (duplicate) removes');
  });

  test.serial(`${mode}: 1000 port mappings in one transaction, removed in one`, async (t) => {
    const ns = makeNs(t, 'c');
    const batches: BatchInfo[] = [];
    const fw = firewall(ns, mode, batches);
    await fw.init();
    await fw.setupNetwork(NET_A);
    const base = await ruleset(ns);
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
    batches.length = 0;
    await fw.addPorts(many);
    t.is(batches.length, 1);
    const listed = (await ns.run([NFT, 'list', 'map', 'ip', 'tsnet', 'ports-any'])).match(/comment "tsnet:/g)?.length;
    t.is(listed, 1000);
    batches.length = 0;
    await fw.removePorts({ ...many, mappings: [] });
    t.is(batches.length, 1, 'removed from the index, without being told the mappings');
    t.is(await ruleset(ns), base);
  });

  test.serial(
    `${mode}: repeated adds replace; reconcile deletes orphans, re-adds what is missing, keeps the user chain`,
    async (t) => {
      const ns = makeNs(t, 'd');
      const fw = firewall(ns, mode);
      await fw.init();
      await fw.setupNetwork(NET_A);
      await fw.addPorts(PA4);
      await fw.addPorts(PA6);
      const want = await ruleset(ns);

      await fw.setupNetwork(NET_A);
      await fw.addPorts({ ...PA4, mappings: [{ proto: 'tcp', hostPort: 1, containerPort: 1 }] });
      await fw.addPorts(PA4);
      t.is(await ruleset(ns), want, 'no duplicates after repeated setup/add');

      // Damage: A loses a port and a rule; an orphan network B and a foreign element appear.
      await fw.setupNetwork(NET_B);
      await fw.addPorts(PB4);
      const handle = /ct status dnat accept comment "tsnet:a0a0a0a0a0a0 [0-9a-f]+" # handle (\d+)/.exec(
        await ns.run([NFT, '-a', 'list', 'chain', 'ip', 'tsnet', 'net-a0a0a0a0a0a0']),
      )?.[1];
      t.truthy(handle);
      await ns.run([NFT, '-f', '-'], {
        input: [
          'delete element ip tsnet ports-any { tcp . 8080 }',
          `delete rule ip tsnet net-a0a0a0a0a0a0 handle ${handle}`,
          'add element ip tsnet ports-any { tcp . 7777 : 10.9.9.9 . 7777 }',
          'add rule ip tsnet user ip saddr 10.66.0.0/16 drop',
          '',
        ].join('\n'),
      });
      // reconciled by a fresh instance, as after a daemon restart
      const r = await firewall(ns, mode).reconcile({ networks: [NET_A], ports: [PA4, PA6] });
      t.true(r.added >= 2, `added ${r.added}`);
      t.true(r.removed >= 6, `removed ${r.removed}`);
      const got = await ruleset(ns);
      t.true(got.includes('ip saddr 10.66.0.0/16 drop'), 'the user chain is the admin’s');
      const withoutUser = (s: string) => s.replace(/chain user \{[^}]*\}/, 'chain user {}');
      t.is(withoutUser(got), withoutUser(want));
      t.deepEqual(await fw.reconcile({ networks: [NET_A], ports: [PA4, PA6] }), { removed: 0, added: 0 });
      // A fresh instance (a restarted daemon) removes the ports it learns from the kernel.
      const again = firewall(ns, mode);
      await again.removePorts({ ...PA4, mappings: [] });
      t.notRegex(await ns.run([NFT, 'list', 'table', 'ip', 'tsnet']), /e1e1e1e1e1e1/, 'its IPv4 ports and guard are gone');
      t.regex(await ns.run([NFT, 'list', 'table', 'ip6', 'tsnet']), /e1e1e1e1e1e1/, 'its IPv6 ports stay');
      await again.removeAll();
      t.regex(await ruleset(ns), /chain user \{\s*ip saddr 10\.66\.0\.0\/16 drop/, 'removeAll keeps a non-empty user chain');
      await again.removeAll({ includeUserChain: true });
      t.notRegex(await ruleset(ns), /tsnet/);
    },
  );

  test.serial(`${mode}: packets — DNAT from a client, MASQUERADE out, hairpin, 127.0.0.1, direct-access guard`, async (t) => {
    const host = makeNs(t, 'h');
    const ctr = makeNs(t, 'c');
    const peer = makeNs(t, 'p');
    const client = makeNs(t, 'x');
    const www = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-nft-www-'));
    t.teardown(() => fs.rmSync(www, { recursive: true, force: true }));
    for (const side of ['c', 'x']) {
      fs.mkdirSync(path.join(www, side, 'cgi-bin'), { recursive: true });
      fs.writeFileSync(path.join(www, side, 'index.html'), `hello from ${side}\n`);
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
        'ip link add br-nft type bridge',
        'ip addr add 10.88.0.1/24 dev br-nft',
        'ip link set br-nft up',
        `ip link add vh-c type veth peer name eth0 netns ${ctr.name}`,
        'ip link set vh-c master br-nft up',
        'ip link set vh-c type bridge_slave hairpin on',
        `ip link add vh-p type veth peer name eth0 netns ${peer.name}`,
        'ip link set vh-p master br-nft up',
        `ip link add vh-x type veth peer name eth0 netns ${client.name}`,
        'ip addr add 192.0.2.1/24 dev vh-x',
        'ip link set vh-x up',
        'sysctl -qw net.ipv4.ip_forward=1',
        'sysctl -qw net.ipv4.conf.br-nft.route_localnet=1',
      ].join('\n'),
    );
    await sh(
      ctr,
      'set -e; ip link set lo up; ip addr add 10.88.0.2/24 dev eth0; ip link set eth0 up; ip route add default via 10.88.0.1',
    );
    await sh(peer, 'set -e; ip link set lo up; ip addr add 10.88.0.3/24 dev eth0; ip link set eth0 up');
    await sh(client, 'set -e; ip link set lo up; ip addr add 192.0.2.2/24 dev eth0; ip link set eth0 up');
    ctr.start(['/bin/busybox', 'httpd', '-f', '-p', '80', '-h', path.join(www, 'c')]);
    client.start(['/bin/busybox', 'httpd', '-f', '-p', '8081', '-h', path.join(www, 'x')]);
    const get = (ns: Ns, url: string, timeoutS = 3) =>
      ns.run(['/bin/busybox', 'timeout', String(timeoutS), '/bin/busybox', 'wget', '-q', '-O', '-', url]);
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

    const fw = firewall(host, mode);
    const net: FirewallNetwork = {
      id: 'feedfeedfeed0001',
      bridge: 'br-nft',
      subnets: ['10.88.0.0/24'],
      internal: false,
      icc: true,
      masquerade: true,
      hostAddresses: ['10.88.0.1'],
    };
    const ports = portsOf(net, 'c0ffeec0ffee0001', '10.88.0.2', [{ proto: 'tcp', hostPort: 8080, containerPort: 80 }]);
    await fw.init();
    await fw.setupNetwork(net);
    await fw.addPorts(ports);

    t.is((await get(client, 'http://192.0.2.1:8080/index.html')).trim(), 'hello from c', 'client → host:8080 is DNATed');
    t.is((await get(client, 'http://192.0.2.1:8080/cgi-bin/ip')).trim(), '192.0.2.2', 'the container sees the client address');
    t.is((await get(ctr, 'http://192.0.2.2:8081/cgi-bin/ip')).trim(), '192.0.2.1', 'outgoing traffic is masqueraded');
    t.is((await get(ctr, 'http://192.0.2.1:8080/cgi-bin/ip')).trim(), '10.88.0.1', 'hairpin');
    t.is((await get(host, 'http://127.0.0.1:8080/cgi-bin/ip')).trim(), '10.88.0.1', 'the host reaches the port on 127.0.0.1');

    await sh(client, 'ip route add 10.88.0.0/24 via 192.0.2.1');
    await t.throwsAsync(get(client, 'http://10.88.0.2:80/index.html', 2), undefined, 'direct access to the container is dropped');
    const raw = await host.run([NFT, 'list', 'chain', 'ip', 'tsnet', 'raw-prerouting']);
    t.regex(raw, /ip daddr @guard-addr ip daddr \. iifname != @guard-pair counter packets [1-9]\d* /, 'dropped by the guard');

    // container → container inside the subnet, to the guarded (published) address: the local
    // chain's `notrack accept` comes before the guard (decision 46); it passes, and untracked
    t.is((await get(peer, 'http://10.88.0.2:80/cgi-bin/ip')).trim(), '10.88.0.3', 'a peer on the bridge reaches the container');
    const tracked = await host
      .run(['conntrack', '-L', '-p', 'tcp', '--orig-src', '10.88.0.3', '--orig-dst', '10.88.0.2'])
      .catch((e: Error) => {
        throw new Error(`conntrack -L (apt-get install conntrack): ${e.message}`);
      });
    t.notRegex(tracked, /dport=80/, 'container → container: no conntrack entry in the host netns');
    const local = await host.run([NFT, 'list', 'chain', 'ip', 'tsnet', 'local-feedfeedfeed']);
    t.regex(local, /notrack accept/, 'the local chain ends the raw chain for such packets');
    t.is((await get(peer, 'http://10.88.0.1:8080/cgi-bin/ip')).trim(), '10.88.0.1', 'the peer reaches the port via the gateway');
    t.regex(
      await host.run(['conntrack', '-L', '-p', 'tcp', '--orig-src', '10.88.0.3', '--orig-dst', '10.88.0.1']),
      /dport=8080/,
      'to the gateway (a host address): tracked, DNATed',
    );

    // icc off: the raw accept ends only the raw chain; the forward hook still drops the peer
    await fw.removePorts(ports);
    await fw.teardownNetwork(net);
    const noIcc: FirewallNetwork = { ...net, icc: false };
    await fw.setupNetwork(noIcc);
    await fw.addPorts(ports);
    t.regex(await host.run([NFT, 'list', 'chain', 'ip', 'tsnet', 'local-feedfeedfeed']), /notrack accept/);
    await t.throwsAsync(get(peer, 'http://10.88.0.2:80/index.html', 2), undefined, 'icc off: the peer gets nothing');
    t.is((await get(client, 'http://192.0.2.1:8080/index.html')).trim(), 'hello from c', 'icc off: the port still answers');

    await fw.removePorts(ports);
    await t.throwsAsync(get(client, 'http://192.0.2.1:8080/index.html', 2), undefined, 'unpublished after removePorts');
    await fw.teardownNetwork(noIcc);
    t.notRegex(await host.run([NFT, 'list', 'table', 'ip', 'tsnet']), /feedfeedfeed/, 'nothing of the network is left');
  });
}

test.serial('sandboxDns: the resolver NAT in a netns, replaced in place on re-apply', async (t) => {
  const ns = makeNs(t, 's');
  const fw = firewall(ns, 'lib');
  await fw.sandboxDns({ netns: ns.file, resolverIp: '127.0.0.11', udpPort: 40001, tcpPort: 40002, fresh: true });
  await fw.sandboxDns({ netns: ns.file, resolverIp: '127.0.0.11', udpPort: 40003, tcpPort: 40004 });
  const r = await ns.run([NFT, 'list', 'table', 'netdev', 'tsnet-dns']);
  t.regex(r, /ip daddr 127\.0\.0\.11 udp dport 53 udp dport set 40003/);
  t.regex(r, /ip saddr 127\.0\.0\.11 tcp sport 40004 tcp sport set 53/);
  t.notRegex(r, /4000[12]/, 'the old ports are gone');
  await t.throwsAsync(fw.sandboxDns({ netns: ns.file, resolverIp: '127.0.0.11', udpPort: 0, tcpPort: 1 }), {
    message: /UDP port must be 1-65535/,
  });
});

/**
 * In the sandbox: a UDP and a TCP echo server on the resolver's ports, and clients that talk to
 * 127.0.0.11:53. Prints the port each answer came from.
 */
const DNS_EXCHANGE = `
const dgram = require('dgram'), net = require('net');
const [udpPort, tcpPort] = process.argv.slice(1).map(Number);
const u = dgram.createSocket('udp4');
u.on('message', (m, r) => u.send(Buffer.concat([Buffer.from('re:'), m]), r.port, r.address));
const srv = net.createServer((c) => c.on('data', (d) => c.end(Buffer.concat([Buffer.from('re:'), d]))));
u.bind(udpPort, '127.0.0.11', () => srv.listen(tcpPort, '127.0.0.11', () => {
  const c = dgram.createSocket('udp4');
  c.connect(53, '127.0.0.11', () => c.send('q'));
  c.on('message', (m, r) => {
    const udp = { text: String(m), port: r.port };
    const s = net.connect(53, '127.0.0.11', () => s.write('q'));
    let text = '';
    s.on('data', (d) => (text += d)).on('end', () => {
      console.log(JSON.stringify({ udp, tcp: { text, port: s.remotePort } }));
      process.exit(0);
    });
  });
}));
setTimeout(() => { console.log('timeout'); process.exit(1); }, 5000);
`;

test.serial(
  'sandboxDns: UDP and TCP to 127.0.0.11:53 reach the resolver ports statelessly; conntrack stays off in the sandbox',
  async (t) => {
    const ns = makeNs(t, 'x');
    await ns.run(['ip', 'link', 'set', 'lo', 'up']);
    const fw = firewall(ns, 'lib');
    // an older tsnet's chains (NAT, then a raw-priority output chain), replaced on re-apply
    await ns.run([NFT, '-f', '-'], {
      input:
        'table ip tsnet-dns {\n chain dns-output { type nat hook output priority -100; }\n chain dns-postrouting { type nat hook postrouting priority srcnat; }\n' +
        ' chain dns { type filter hook output priority raw; }\n}\n',
    });
    await fw.sandboxDns({ netns: ns.file, resolverIp: '127.0.0.11', udpPort: 40011, tcpPort: 40012 });
    // Nothing on the output hook (or any ip hook): a packet the container sends out of its
    // interface passes no rule in its namespace; the mapping sits on lo's ingress only.
    const all = await ns.run([NFT, 'list', 'ruleset']);
    t.notRegex(all, /table ip |hook output|type nat/, 'the older chains are gone, no ip-family hook is left');
    t.regex(all, /table netdev tsnet-dns[\s\S]*hook ingress device "lo"/);
    const out = await ns.run([process.execPath, '-e', DNS_EXCHANGE, '40011', '40012']);
    t.deepEqual(JSON.parse(out), { udp: { text: 're:q', port: 53 }, tcp: { text: 're:q', port: 53 } });
    // NAT would have turned conntrack on in the namespace: every packet of the container looked up
    t.is(
      (await execa('nsenter', [`--net=${ns.file}`, 'conntrack', '-C'])).stdout.trim(),
      '0',
      'no connection tracked in the sandbox',
    );
  },
);
