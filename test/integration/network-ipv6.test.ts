/**
 * IPv6 end to end on bridge networks, with real packets inside the world's namespaces: ULA
 * default pools, container ↔ container, published ports on [::1] (the daemon's loopback relay),
 * on the host's IPv6 address and by hairpin, IPv6 masquerade to a peer namespace, AAAA and PTR
 * from the embedded DNS, and the default bridge with --ipv6 / --fixed-cidr-v6.
 *
 * The "outside" is the world's client namespace, given IPv6 addresses from 2001:db8::/32
 * (documentation prefix) on its veth — only inside namespaces this test made.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { deriveUlaPool } from '../../src/ipam/pools.js';
import { cleanEnv, createWorld, eventually, type Client, type World } from '../helpers/world.js';

const HOST6 = '2001:db8:6::1';
const CLIENT6 = '2001:db8:6::2';

let w: World;
let client: Client;
test.before(async () => {
  w = await createWorld();
  client = await w.addClient();
  const host = (await w.inHost(['ip', '-o', 'link'])).stdout.match(/^\d+: (wcl[^@:]+)/m)?.[1];
  if (!host) throw new Error('the client veth is missing in the host netns');
  for (const [where, args] of [
    ['host', ['ip', '-6', 'addr', 'add', `${HOST6}/64`, 'dev', host, 'nodad']],
    ['client', ['ip', '-6', 'addr', 'add', `${CLIENT6}/64`, 'dev', 'eth0', 'nodad']],
    ['client', ['ip', '-6', 'route', 'add', 'default', 'via', HOST6]],
  ] as const) {
    const r = where === 'host' ? await w.inHost([...args]) : await client.run([...args]);
    if (r.exitCode !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  }
});
test.after.always(async () => {
  await w?.teardown();
});

const ok = (args: string[]): Promise<string> => w.ok(args);

const WEB = (tag: string) => ['sh', '-c', `mkdir -p /www && echo ${tag} > /www/index.html && exec httpd -f -p 80 -h /www`];

/** Run a node script in a namespace in the background; killed at the end of the test. */
function background(t: ExecutionContext, netns: string, script: string, args: string[] = []): ChildProcess {
  const child = spawn('nsenter', [`--net=${netns}`, 'node', '-e', script, ...args], { env: cleanEnv(), stdio: 'ignore' });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  return child;
}

async function inspect(name: string) {
  const [c] = JSON.parse(await ok(['inspect', name]));
  return c;
}

/** wget from the world's host netns (or another runner) until it answers, bounded. */
async function fetchUntil(runner: (args: string[]) => Promise<{ stdout: string; exitCode: number }>, url: string) {
  return eventually(async () => {
    const r = await runner(['busybox', 'timeout', '3', 'busybox', 'wget', '-qO-', url]);
    return r.exitCode === 0 ? r.stdout.trim() : '';
  }, 10_000);
}

test.serial('--ipv6 without --subnet takes a /64 of the host ULA /48, one per network', async (t) => {
  const engineId = fs.readFileSync(path.join(w.root, 'engine-id'), 'utf8').trim();
  const ula = deriveUlaPool(engineId);
  t.regex(ula.base, /^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/48$/);
  const prefix48 = ula.base.replace(/::\/48$/, '');
  await ok(['network', 'create', '--ipv6', `ula1-${w.id}`]);
  await ok(['network', 'create', '--ipv6', `ula2-${w.id}`]);
  const subnets: string[] = [];
  for (const name of [`ula1-${w.id}`, `ula2-${w.id}`]) {
    const [n] = JSON.parse(await ok(['network', 'inspect', name]));
    t.true(n.EnableIPv6);
    const v6 = n.IPAM.Config.find((c: { Subnet: string }) => c.Subnet.includes(':'));
    t.truthy(v6, JSON.stringify(n.IPAM.Config));
    t.true(v6.Subnet.endsWith('/64'), v6.Subnet);
    t.true(v6.Subnet.startsWith(`${prefix48}:`), `${v6.Subnet} is under ${ula.base}`);
    t.is(v6.Gateway, v6.Subnet.replace(/::\/64$/, '::1'));
    subnets.push(v6.Subnet);
  }
  t.not(subnets[0], subnets[1]);
  // the same engine id after a restart: the same /48
  await w.killDaemon('SIGTERM');
  await w.startDaemon();
  await ok(['network', 'create', '--ipv6', `ula3-${w.id}`]);
  const [n3] = JSON.parse(await ok(['network', 'inspect', `ula3-${w.id}`]));
  const s3 = n3.IPAM.Config.find((c: { Subnet: string }) => c.Subnet.includes(':')).Subnet as string;
  t.true(s3.startsWith(`${prefix48}:`) && !subnets.includes(s3), s3);
  await ok(['network', 'rm', `ula1-${w.id}`, `ula2-${w.id}`, `ula3-${w.id}`]);
});

test.serial('--default-address-pool with an IPv6 base replaces the ULA pool', async (t) => {
  await w.killDaemon('SIGTERM');
  await w.startDaemon([
    '--default-address-pool',
    'base=10.123.0.0/16,size=24',
    '--default-address-pool',
    'base=fd12:3456::/48,size=64',
  ]);
  t.teardown(async () => {
    await w.killDaemon('SIGTERM');
    await w.startDaemon();
  });
  await ok(['network', 'create', '--ipv6', `pool6-${w.id}`]);
  const [n] = JSON.parse(await ok(['network', 'inspect', `pool6-${w.id}`]));
  t.deepEqual(
    n.IPAM.Config.map((c: { Subnet: string }) => c.Subnet),
    ['10.123.0.0/24', 'fd12:3456::/64'],
  );
  await ok(['network', 'rm', `pool6-${w.id}`]);
});

test.serial('containers talk over IPv6 both ways; AAAA and PTR from the embedded DNS', async (t) => {
  const net = `six-${w.id}`;
  await ok(['network', 'create', '--ipv6', net]);
  await ok(['run', '-d', '--name', `a6-${w.id}`, '--network-alias', 'alpha', '--network', net, 'busybox', ...WEB('from-a')]);
  await ok(['run', '-d', '--name', `b6-${w.id}`, '--network', net, 'busybox', ...WEB('from-b')]);
  const a = (await inspect(`a6-${w.id}`)).NetworkSettings.Networks[net];
  const b = (await inspect(`b6-${w.id}`)).NetworkSettings.Networks[net];
  t.regex(a.GlobalIPv6Address, /^fd/);
  t.is(a.GlobalIPv6PrefixLen, 64);
  const get = (from: string, ip: string) =>
    w.cli(['exec', from, 'sh', '-c', `timeout 3 wget -qO- http://[${ip}]/; exit $?`]).then((r) => r.stdout.trim());
  t.is(await eventually(() => get(`a6-${w.id}`, b.GlobalIPv6Address)), 'from-b');
  t.is(await eventually(() => get(`b6-${w.id}`, a.GlobalIPv6Address)), 'from-a');
  // AAAA for the name and the alias, PTR for the IPv6 address (busybox nslookup in the container)
  for (const name of [`a6-${w.id}`, 'alpha']) {
    const r = await w.cli(['exec', `b6-${w.id}`, 'nslookup', '-type=AAAA', name, '127.0.0.11']);
    t.true(r.stdout.includes(a.GlobalIPv6Address), `AAAA ${name}: ${r.stdout}${r.stderr}`);
  }
  const aRecord = await w.cli(['exec', `b6-${w.id}`, 'nslookup', '-type=A', `a6-${w.id}`, '127.0.0.11']);
  t.true(aRecord.stdout.includes(a.IPAddress), aRecord.stdout);
  const ptr = await w.cli(['exec', `b6-${w.id}`, 'nslookup', a.GlobalIPv6Address, '127.0.0.11']);
  t.regex(ptr.stdout, new RegExp(`name = a6-${w.id}\\.${net}`), ptr.stdout + ptr.stderr);
  const ptr4 = await w.cli(['exec', `b6-${w.id}`, 'nslookup', a.IPAddress, '127.0.0.11']);
  t.regex(ptr4.stdout, new RegExp(`name = a6-${w.id}\\.${net}`), ptr4.stdout + ptr4.stderr);
  await ok(['rm', '-f', `a6-${w.id}`, `b6-${w.id}`]);
  await ok(['network', 'rm', net]);
});

test.serial(
  'an endpoint of a network without IPv6 has no IPv6 address; one of an --ipv6 network has its link-local one',
  async (t) => {
    // decision 43: no link-local address, so no DAD / MLD / router solicitation for the bridge to flood
    const v4 = `four-${w.id}`;
    const v6 = `sixll-${w.id}`;
    await ok(['network', 'create', v4]);
    await ok(['network', 'create', '--ipv6', v6]);
    const c = `ll-${w.id}`;
    await ok(['run', '-d', '--name', c, '--network', v4, 'busybox', 'sleep', '1000']);
    await ok(['network', 'connect', v6, c]);
    // /proc/net/if_inet6: address, ifindex, prefix length, scope, flags, name
    const inet6 = async () => (await w.cli(['exec', c, 'cat', '/proc/net/if_inet6'])).stdout;
    // eth1 (joined after eth0) has its link-local address: the kernel has long had eth0's carrier too
    const seen = await eventually(async () => {
      const out = await inet6();
      return /^fe80\S+ \S+ 40 20 \S+ +eth1$/m.test(out) ? out : '';
    });
    t.regex(seen, /^fe80\S+ \S+ 40 20 \S+ +eth1$/m, 'eth1 (IPv6 network) has a link-local address');
    t.notRegex(seen, /eth0$/m, 'eth0 (IPv4-only network) has no IPv6 address');
    t.regex(seen, /^0+1 \S+ 80 10 \S+ +lo$/m, 'lo keeps ::1');
    await ok(['rm', '-f', c]);
    await ok(['network', 'rm', v4, v6]);
  },
);

const UDP_ECHO6 =
  "const s=require('dgram').createSocket('udp6');s.on('message',(m,r)=>s.send('udp-reply:'+m,r.port,r.address));s.bind(90)";
const UDP_CLIENT6 =
  "const s=require('dgram').createSocket('udp6');const [h,p]=process.argv.slice(1);s.on('message',(m)=>{console.log(String(m));process.exit(0)});s.send('ping',Number(p),h);setTimeout(()=>process.exit(1),3000)";

test.serial('published ports on IPv6: [::1], the host IPv6 address, a client namespace and hairpin', async (t) => {
  const net = `pub6-${w.id}`;
  await ok(['network', 'create', '--ipv6', net]);
  await ok([
    'run',
    '-d',
    '--name',
    `web6-${w.id}`,
    '--network',
    net,
    '-p',
    '8080:80',
    '-p',
    '[::1]:8081:80',
    '-p',
    '[::1]:9091:90/udp',
    'busybox',
    ...WEB('published6'),
  ]);
  const c = await inspect(`web6-${w.id}`);
  t.deepEqual(c.NetworkSettings.Ports['80/tcp'], [
    { HostIp: '0.0.0.0', HostPort: '8080' },
    { HostIp: '::', HostPort: '8080' },
    { HostIp: '::1', HostPort: '8081' },
  ]);
  const port = await ok(['port', `web6-${w.id}`, '80']);
  t.regex(port, /\[::\]:8080/);
  t.regex(port, /\[::1\]:8081/);
  const host = (args: string[]) => w.inHost(args);
  t.is(await fetchUntil(host, 'http://[::1]:8080/'), 'published6', 'the [::] binding answers on [::1] (relay)');
  t.is(await fetchUntil(host, 'http://[::1]:8081/'), 'published6', 'the [::1] binding answers');
  t.is(await fetchUntil(host, 'http://127.0.0.1:8080/'), 'published6', 'and IPv4 loopback still (DNAT)');
  t.is(await fetchUntil(host, `http://[${HOST6}]:8080/`), 'published6', 'the host IPv6 address, from the host');
  t.is(await fetchUntil((a) => client.run(a), `http://[${HOST6}]:8080/`), 'published6', 'from the client namespace');
  const notOnHostAddr = await client.run(['busybox', 'timeout', '2', 'busybox', 'wget', '-qO-', `http://[${HOST6}]:8081/`]);
  t.not(notOnHostAddr.exitCode, 0, 'a [::1] binding is not reachable from outside');
  // hairpin: the container itself and a peer on the same network, through the host's IPv6 address
  const hairpin = await w.cli(['exec', `web6-${w.id}`, 'timeout', '3', 'wget', '-qO-', `http://[${HOST6}]:8080/`]);
  t.is(hairpin.stdout.trim(), 'published6', hairpin.stderr);
  await ok(['run', '-d', '--name', `peer6-${w.id}`, '--network', net, 'busybox', 'sleep', '1000']);
  const peer = await w.cli(['exec', `peer6-${w.id}`, 'timeout', '3', 'wget', '-qO-', `http://[${HOST6}]:8080/`]);
  t.is(peer.stdout.trim(), 'published6', peer.stderr);
  // UDP on [::1] through the relay: an echo server in the container's netns
  background(t, c.NetworkSettings.SandboxKey as string, UDP_ECHO6);
  const udp = await eventually(async () => {
    const r = await w.inHost(['node', '-e', UDP_CLIENT6, '::1', '9091'], { timeoutMs: 10_000 });
    return /udp-reply:ping/.test(r.stdout) ? r : undefined;
  }, 15_000);
  t.regex(udp?.stdout ?? '', /udp-reply:ping/, 'the published UDP port answers on [::1]');
  // the relay lives in the daemon: after a crash and restart it is back (ports re-adopted)
  await w.killDaemon('SIGKILL');
  await w.startDaemon();
  t.is(await fetchUntil(host, 'http://[::1]:8081/'), 'published6', '[::1] answers again after a daemon restart');
  t.is(await fetchUntil(host, `http://[${HOST6}]:8080/`), 'published6');
  await ok(['rm', '-f', `web6-${w.id}`, `peer6-${w.id}`]);
  const gone = await w.inHost(['busybox', 'timeout', '2', 'busybox', 'wget', '-qO-', 'http://[::1]:8080/']);
  t.not(gone.exitCode, 0, 'the port is gone with the container');
  await ok(['network', 'rm', net]);
});

test.serial('an IPv4-only container: -p 8090:80 binds [::] too, relayed to its IPv4 address; 127.0.0.1 stays IPv4', async (t) => {
  const net = `v4only-${w.id}`;
  await ok(['network', 'create', net]);
  const name = `web4-${w.id}`;
  await ok([
    'run',
    '-d',
    '--name',
    name,
    '--network',
    net,
    '-p',
    '8090:80',
    '-p',
    '[::]:8091:80',
    '-p',
    '127.0.0.1:8092:80',
    'busybox',
    ...WEB('four'),
  ]);
  const c = await inspect(name);
  const shown = (c.NetworkSettings.Ports['80/tcp'] as Array<{ HostIp: string; HostPort: string }>)
    .map((p) => `${p.HostIp} ${p.HostPort}`)
    .sort();
  // as dockerd with its userland proxy on (20.10 and current): 0.0.0.0 and [::], same port
  t.deepEqual(shown, ['0.0.0.0 8090', '127.0.0.1 8092', ':: 8090', ':: 8091']);
  t.regex(await ok(['port', name, '80']), /\[::\]:8090/);
  const host = (args: string[]) => w.inHost(args);
  t.is(await fetchUntil(host, 'http://127.0.0.1:8090/'), 'four');
  t.is(await fetchUntil(host, 'http://[::1]:8090/'), 'four', 'the implicit [::] binding → the IPv4 container (relay)');
  t.is(await fetchUntil((a) => client.run(a), `http://[${HOST6}]:8090/`), 'four', 'from the client over IPv6');
  t.is(await fetchUntil(host, 'http://[::1]:8091/'), 'four', 'the explicit [::] binding');
  t.is(await fetchUntil(host, 'http://127.0.0.1:8092/'), 'four');
  const v6of127 = await w.inHost(['busybox', 'timeout', '2', 'busybox', 'wget', '-qO-', 'http://[::1]:8092/']);
  t.not(v6of127.exitCode, 0, '-p 127.0.0.1:8092:80 made no [::] binding');
  // the relay is the daemon's: after a crash and a restart the [::] binding answers again
  await w.killDaemon('SIGKILL');
  await w.startDaemon();
  t.is(await fetchUntil(host, 'http://[::1]:8090/'), 'four', '[::1] answers again after a daemon restart');
  // 0.0.0.0 and [::] are one dual-stack socket, after the restart too (one listener on the port)
  t.is((await w.inHost(['ss', '-Hltn', 'sport = :8090'])).stdout.trim().split('\n').length, 1);
  await ok(['rm', '-f', name]);
  const gone = await w.inHost(['busybox', 'timeout', '2', 'busybox', 'wget', '-qO-', 'http://[::1]:8090/']);
  t.not(gone.exitCode, 0, 'the [::] binding is gone with the container');
  await ok(['network', 'rm', net]);
});

test.serial('a port taken on one family by another process: one error naming it, nothing held on the other', async (t) => {
  const net = `taken-${w.id}`;
  await ok(['network', 'create', net]);
  const listeners = async () => (await w.inHost(['ss', '-Hltn'])).stdout;
  for (const [port, holderHost, shown, other] of [
    ['8093', '::', '[::]:8093', '0.0.0.0:8093'],
    ['8094', '0.0.0.0', '0.0.0.0:8094', '[::]:8094'],
  ] as const) {
    background(t, w.hostNetns, `require('net').createServer().listen({host:'${holderHost}',port:${port},ipv6Only:true})`);
    await eventually(async () => (await listeners()).includes(`:${port} `), 10_000);
    const name = `taken${port}-${w.id}`;
    const r = await w.cli(['run', '-d', '--name', name, '--network', net, '-p', `${port}:80`, 'busybox', 'sleep', '1000']);
    t.not(r.exitCode, 0);
    t.regex(
      r.stderr,
      new RegExp(
        `cannot publish ${shown.replace(/[[\]]/g, '\\$&')}/tcp for container port 80: already in use by another process`,
      ),
    );
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    const held = (await listeners()).split('\n').filter((l) => l.includes(`:${port} `));
    t.is(held.length, 1, `only the other process's socket: ${held.join(' | ')}`);
    t.false(held.join('').includes(other), `nothing left on ${other}`);
    const ports = (await inspect(name)).NetworkSettings.Ports as Record<string, unknown>;
    t.true(
      Object.values(ports).every((v) => v === null),
      `no binding shown: ${JSON.stringify(ports)}`,
    );
    await ok(['rm', '-f', name]);
  }
  await ok(['network', 'rm', net]);
});

test.serial('a network with host_binding_ipv4=127.0.0.1: a port with no host IP binds 127.0.0.1 only, not [::]', async (t) => {
  const net = `hb-${w.id}`;
  await ok(['network', 'create', '--ipv6', '-o', 'com.docker.network.bridge.host_binding_ipv4=127.0.0.1', net]);
  const name = `hb-${w.id}`;
  await ok(['run', '-d', '--name', name, '--network', net, '-p', '8095:80', 'busybox', ...WEB('local')]);
  t.deepEqual((await inspect(name)).NetworkSettings.Ports['80/tcp'], [{ HostIp: '127.0.0.1', HostPort: '8095' }]);
  t.is(await fetchUntil((a) => w.inHost(a), 'http://127.0.0.1:8095/'), 'local');
  for (const url of ['http://[::1]:8095/', `http://[${HOST6}]:8095/`]) {
    const r = await w.inHost(['busybox', 'timeout', '2', 'busybox', 'wget', '-qO-', url]);
    t.not(r.exitCode, 0, `${url} answers nothing: the admin's default binding address holds for IPv6 too`);
  }
  await ok(['rm', '-f', name]);
  await ok(['network', 'rm', net]);
});

const WHO = "require('net').createServer((c)=>c.end(c.remoteAddress+'\\n')).listen(7000,'::')";

test.serial('outgoing IPv6 is masqueraded: the peer namespace sees the host IPv6 address', async (t) => {
  const net = `egress6-${w.id}`;
  await ok(['network', 'create', '--ipv6', net]);
  background(t, client.netns, WHO);
  const listening = await eventually(async () => /:7000\b/.test((await client.run(['ss', '-Hltn'])).stdout), 10_000);
  t.true(listening, 'the peer listens on 7000');
  const r = await w.cli(['run', '--rm', '--network', net, 'busybox', 'sh', '-c', `nc -w 3 ${CLIENT6} 7000 </dev/null`]);
  t.is(r.stdout.trim(), HOST6, `the peer sees the host address: ${r.stdout}${r.stderr}`);
  await ok(['network', 'rm', net]);
});

test.serial('default bridge: --ipv6 --fixed-cidr-v6, then --ipv6 alone (ULA), then off', async (t) => {
  t.teardown(async () => {
    await w.killDaemon('SIGTERM');
    await w.startDaemon();
  });
  await w.killDaemon('SIGTERM');
  await w.startDaemon(['--ipv6', '--fixed-cidr-v6', 'fd00:db8:77::/64']);
  const [b] = JSON.parse(await ok(['network', 'inspect', 'bridge']));
  t.true(b.EnableIPv6);
  t.deepEqual(
    b.IPAM.Config.filter((c: { Subnet: string }) => c.Subnet.includes(':')),
    [{ Subnet: 'fd00:db8:77::/64', Gateway: 'fd00:db8:77::1' }],
  );
  const br = await w.inHost(['ip', '-6', 'addr', 'show', 'tsnet0']);
  t.regex(br.stdout, /fd00:db8:77::1\/64/);
  const ping = await w.cli(['run', '--rm', 'busybox', 'sh', '-c', 'ip -6 addr show eth0; ping -6 -c 1 -W 3 fd00:db8:77::1']);
  t.is(ping.exitCode, 0, ping.stdout + ping.stderr);
  t.regex(ping.stdout, /inet6 fd00:db8:77::2\/64/);
  // --ipv6 alone: a /64 of the ULA pool
  await w.killDaemon('SIGTERM');
  await w.startDaemon(['--ipv6']);
  const [b2] = JSON.parse(await ok(['network', 'inspect', 'bridge']));
  const v6 = b2.IPAM.Config.find((c: { Subnet: string }) => c.Subnet.includes(':'));
  t.regex(v6?.Subnet ?? '', /^fd[0-9a-f:]+::\/64$/);
  t.notRegex((await w.inHost(['ip', '-6', 'addr', 'show', 'tsnet0'])).stdout, /fd00:db8:77::1/, 'the old gateway is gone');
  // off again
  await w.killDaemon('SIGTERM');
  await w.startDaemon();
  const [b3] = JSON.parse(await ok(['network', 'inspect', 'bridge']));
  t.false(b3.EnableIPv6);
  t.false(b3.IPAM.Config.some((c: { Subnet: string }) => c.Subnet.includes(':')));
  // a bad flag stops the daemon with one line
  await w.killDaemon('SIGTERM');
  const bad = await w.startDaemon(['--fixed-cidr-v6', 'fd00:db8:77::/64']).then(
    () => '',
    (err: Error) => err.message,
  );
  t.regex(bad, /--fixed-cidr-v6 needs --ipv6/);
});
