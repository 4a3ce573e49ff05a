/**
 * Bridge networks end to end: real bridges, veths, iptables and packets, all inside the
 * world's throwaway host netns (plus "client" namespaces beside it).
 */
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cleanEnv, createWorld, eventually, type Client, type World } from '../helpers/world.js';

let w: World;
let client: Client;
test.before(async () => {
  w = await createWorld();
  client = await w.addClient();
});
test.after.always(async () => {
  await w?.teardown();
});

const UDP_ECHO =
  "const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send('udp-reply:'+m,r.port,r.address));s.bind(90)";
const UDP_CLIENT =
  "const s=require('dgram').createSocket('udp4');const [h,p]=process.argv.slice(1);s.on('message',(m)=>{console.log(String(m));process.exit(0)});s.send('ping',Number(p),h);setTimeout(()=>process.exit(1),3000)";
function spawnEcho(netns: string) {
  return spawn('nsenter', [`--net=${netns}`, 'node', '-e', UDP_ECHO], { env: cleanEnv(), stdio: 'ignore' });
}

const WEB = (tag: string) => ['sh', '-c', `mkdir -p /www && echo ${tag} > /www/index.html && exec httpd -f -p 80 -h /www`];

const ok = (args: string[]): Promise<string> => w.ok(args);

async function ipOf(container: string, network: string): Promise<string> {
  const [c] = JSON.parse(await ok(['inspect', container]));
  return String(c.NetworkSettings.Networks[network].IPAddress);
}

test('network create, ls, inspect, rm', async (t) => {
  const id = await ok(['network', 'create', '--subnet', '10.42.0.0/24', '--gateway', '10.42.0.1', `front-${w.id}`]);
  t.regex(id, /^[0-9a-f]{64}$/);
  t.regex(await ok(['network', 'ls']), new RegExp(`${id.slice(0, 12)}\\s+front-${w.id}\\s+bridge\\s+local`));
  const [n] = JSON.parse(await ok(['network', 'inspect', `front-${w.id}`]));
  t.is(n.Driver, 'bridge');
  t.deepEqual(n.IPAM.Config, [{ Subnet: '10.42.0.0/24', Gateway: '10.42.0.1' }]);
  const link = await w.inHost(['ip', '-j', 'addr', 'show', `br-${id.slice(0, 12)}`]);
  t.is(link.exitCode, 0, link.stderr);
  t.regex(link.stdout, /10\.42\.0\.1/);
  await ok(['network', 'rm', `front-${w.id}`]);
  t.not((await w.inHost(['ip', 'link', 'show', `br-${id.slice(0, 12)}`])).exitCode, 0, 'bridge removed');
  const auto = await ok(['network', 'create', `auto-${w.id}`]);
  const [a] = JSON.parse(await ok(['network', 'inspect', auto]));
  t.regex(a.IPAM.Config[0].Subnet, /^(172\.(1[8-9]|2\d|3[01])\.0\.0\/16|192\.168\.\d+\.0\/20)$/);
  await ok(['network', 'rm', auto]);
});

test('same network: ping and TCP by IP; no traffic across networks', async (t) => {
  await ok(['network', 'create', '--subnet', '10.50.0.0/24', `a-${w.id}`]);
  await ok(['network', 'create', '--subnet', '10.51.0.0/24', `b-${w.id}`]);
  await ok(['run', '-d', '--name', `srv-${w.id}`, '--network', `a-${w.id}`, 'busybox', ...WEB('hello-a')]);
  await ok(['run', '-d', '--name', `other-${w.id}`, '--network', `b-${w.id}`, 'busybox', ...WEB('hello-b')]);
  const ip = await ipOf(`srv-${w.id}`, `a-${w.id}`);
  t.regex(ip, /^10\.50\.0\.\d+$/);
  const ping = await w.cli(['run', '--rm', '--network', `a-${w.id}`, 'busybox', 'ping', '-c', '1', '-W', '2', ip]);
  t.is(ping.exitCode, 0, ping.stdout + ping.stderr);
  const get = await w.cli([
    'run',
    '--rm',
    '--network',
    `a-${w.id}`,
    'busybox',
    'sh',
    '-c',
    `timeout 3 wget -qO- http://${ip}/; exit $?`,
  ]);
  t.is(get.stdout.trim(), 'hello-a', get.stderr);
  const otherIp = await ipOf(`other-${w.id}`, `b-${w.id}`);
  const cross = await w.cli([
    'run',
    '--rm',
    '--network',
    `a-${w.id}`,
    'busybox',
    'sh',
    '-c',
    `timeout 2 wget -qO- http://${otherIp}/; exit $?`,
  ]);
  t.not(cross.exitCode, 0, 'network a must not reach network b');
  await ok(['rm', '-f', `srv-${w.id}`, `other-${w.id}`]);
  await ok(['network', 'rm', `a-${w.id}`, `b-${w.id}`]);
});

test('container → container inside one subnet skips the host netns conntrack; host ↔ container and published ports stay tracked', async (t) => {
  const net = `nt-${w.id}`;
  await ok(['network', 'create', '--subnet', '10.52.0.0/24', '--gateway', '10.52.0.1', net]);
  t.teardown(async () => {
    await w.cli(['rm', '-f', `ntsrv-${w.id}`, `ntpeer-${w.id}`]);
    await w.cli(['network', 'rm', net]);
  });
  await ok(['run', '-d', '--name', `ntsrv-${w.id}`, '--network', net, '-p', '8093:80', 'busybox', ...WEB('untracked')]);
  await ok(['run', '-d', '--name', `ntpeer-${w.id}`, '--network', net, 'busybox', 'sleep', '1000']);
  const ip = await ipOf(`ntsrv-${w.id}`, net);
  const peerIp = await ipOf(`ntpeer-${w.id}`, net);
  const entries = async (args: string[]): Promise<string> => {
    const r = await w.inHost(['conntrack', '-L', '-p', 'tcp', ...args]);
    t.is(r.exitCode, 0, `conntrack -L (install conntrack): ${r.stderr}`);
    return r.stdout;
  };
  // the server answers the host (its server is up), over a tracked connection whose replies were seen
  const fromHost = await eventually(async () => {
    const r = await w.inHost(['busybox', 'timeout', '2', 'busybox', 'wget', '-qO-', `http://${ip}/`]);
    return r.exitCode === 0 ? r.stdout.trim() : undefined;
  }, 10_000);
  t.is(fromHost, 'untracked');
  t.regex(await entries(['--orig-dst', ip, '--orig-port-dst', '80']), /ASSURED/, 'host → container: tracked both ways');
  const peer = await w.cli(['exec', `ntpeer-${w.id}`, 'timeout', '3', 'wget', '-qO-', `http://${ip}/`]);
  t.is(peer.stdout.trim(), 'untracked', peer.stderr);
  t.notRegex(await entries(['--orig-src', peerIp, '--orig-dst', ip]), /dport=80/, 'container → container: no conntrack entry');
  // a published port reached through the gateway address (the host's own): DNAT needs conntrack
  const viaGateway = await w.cli(['exec', `ntpeer-${w.id}`, 'timeout', '3', 'wget', '-qO-', 'http://10.52.0.1:8093/']);
  t.is(viaGateway.stdout.trim(), 'untracked', viaGateway.stderr);
  t.regex(await entries(['--orig-src', peerIp, '--orig-dst', '10.52.0.1']), /dport=8093/, 'the published port stays tracked');
  // and by hairpin through another host address
  const hairpin = await w.cli(['exec', `ntpeer-${w.id}`, 'timeout', '3', 'wget', '-qO-', `http://${client.hostIp}:8093/`]);
  t.is(hairpin.stdout.trim(), 'untracked', hairpin.stderr);
});

test('published TCP and UDP ports: from a client namespace, the host IP, 127.0.0.1 and by hairpin', async (t) => {
  await ok(['network', 'create', '--subnet', '10.60.0.0/24', `pub-${w.id}`]);
  await ok([
    'run',
    '-d',
    '--name',
    `web-${w.id}`,
    '--network',
    `pub-${w.id}`,
    '-p',
    '8080:80',
    '-p',
    '127.0.0.1:9090:90/udp',
    'busybox',
    'sh',
    '-c',
    'mkdir -p /www && echo published > /www/index.html && httpd -p 80 -h /www; exec sleep 1000',
  ]);
  // busybox has no UDP server: run a UDP echo in the container's network namespace
  const [info] = JSON.parse(await ok(['inspect', `web-${w.id}`]));
  const echo = spawnEcho(info.NetworkSettings.SandboxKey as string);
  t.teardown(() => echo.kill('SIGKILL'));
  const fromClient = await client.run(['busybox', 'timeout', '3', 'busybox', 'wget', '-qO-', `http://${client.hostIp}:8080/`]);
  t.is(fromClient.stdout.trim(), 'published', fromClient.stderr);
  const fromHost = await w.inHost(['busybox', 'timeout', '3', 'busybox', 'wget', '-qO-', `http://${client.hostIp}:8080/`]);
  t.is(fromHost.stdout.trim(), 'published', fromHost.stderr);
  const loopback = await w.inHost(['busybox', 'timeout', '3', 'busybox', 'wget', '-qO-', 'http://127.0.0.1:8080/']);
  t.is(loopback.stdout.trim(), 'published', loopback.stderr);
  const hairpin = await w.cli(['exec', `web-${w.id}`, 'timeout', '3', 'wget', '-qO-', `http://${client.hostIp}:8080/`]);
  t.is(hairpin.stdout.trim(), 'published', hairpin.stderr);
  await ok(['run', '-d', '--name', `peer-${w.id}`, '--network', `pub-${w.id}`, 'busybox', 'sleep', '1000']);
  const peer = await w.cli(['exec', `peer-${w.id}`, 'timeout', '3', 'wget', '-qO-', `http://${client.hostIp}:8080/`]);
  t.is(peer.stdout.trim(), 'published', peer.stderr);
  // the echo server binds asynchronously: ask until it answers (each try waits 3 s for a reply)
  const udp = await eventually(async () => {
    const r = await w.inHost(['node', '-e', UDP_CLIENT, '127.0.0.1', '9090'], { timeoutMs: 10_000 });
    return /udp-reply:ping/.test(r.stdout) ? r : undefined;
  }, 15_000);
  t.regex(udp?.stdout ?? '', /udp-reply:ping/, 'the published UDP port answers on 127.0.0.1');
  const port = await ok(['port', `web-${w.id}`]);
  t.regex(port, /80\/tcp -> 0\.0\.0\.0:8080/);
  t.regex(port, /90\/udp -> 127\.0\.0\.1:9090/);
  // the host port is taken: a second container cannot publish it
  const clash = await w.cli([
    'run',
    '-d',
    '--name',
    `clash-${w.id}`,
    '--network',
    `pub-${w.id}`,
    '-p',
    '8080:80',
    'busybox',
    'sleep',
    '1000',
  ]);
  t.not(clash.exitCode, 0);
  t.regex(clash.stderr, /8080/);
  await w.cli(['rm', '-f', `clash-${w.id}`]);
  await ok(['rm', '-f', `web-${w.id}`, `peer-${w.id}`]);
  const after = await client.run(['busybox', 'timeout', '2', 'busybox', 'wget', '-qO-', `http://${client.hostIp}:8080/`]);
  t.not(after.exitCode, 0, 'the port is gone with the container');
  await ok(['network', 'rm', `pub-${w.id}`]);
});

test('outgoing traffic is masqueraded: the client sees the host address', async (t) => {
  const listen = client.run(['busybox', 'sh', '-c', 'busybox nc -l -p 7000 -e sh -c "echo from-client"'], { timeoutMs: 15_000 });
  // nc serves one connection: wait until it listens instead of probing it
  const listening = await eventually(async () => /:7000\b/.test((await client.run(['ss', '-Hltn'])).stdout), 10_000);
  t.true(listening, 'nc listens on 7000 in the client namespace');
  const r = await w.cli(['run', '--rm', 'busybox', 'sh', '-c', `nc -w 3 ${client.clientIp} 7000 </dev/null`]);
  t.regex(r.stdout, /from-client/, r.stderr);
  await listen;
  const conntrack = await w.inHost(['conntrack', '-L', '-p', 'tcp', '--dport', '7000']);
  t.regex(conntrack.stdout + conntrack.stderr, new RegExp(`dst=${client.hostIp.replace(/\./g, '\\.')}`));
});

/** An HTTP server in the client namespace (the "outside world"), proven to answer from the host first. */
async function outsideServer(t: ExecutionContext, port: number, text: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(w.dir, 'www-'));
  fs.writeFileSync(path.join(dir, 'index.html'), `${text}\n`);
  const server = spawn('nsenter', [`--net=${client.netns}`, 'busybox', 'httpd', '-f', '-p', String(port), '-h', dir], {
    env: cleanEnv(),
    stdio: 'ignore',
  });
  t.teardown(() => {
    server.kill('SIGKILL');
  });
  const url = `http://${client.clientIp}:${port}/`;
  const up = await eventually(async () => {
    const r = await w.inHost(['busybox', 'timeout', '2', 'busybox', 'wget', '-qO-', url]);
    return r.stdout.trim() === text;
  }, 10_000);
  if (!up) throw new Error(`the test's own server ${url} in the client namespace never answered the host`);
  return url;
}

/** `wget` from a new container on `network`: stdout trimmed and exit code. */
async function fetchFrom(network: string, url: string, extra: string[] = []): Promise<{ out: string; code: number }> {
  const r = await w.cli([
    'run',
    '--rm',
    '--network',
    network,
    ...extra,
    'busybox',
    'sh',
    '-c',
    `timeout 3 wget -qO- ${url}; exit $?`,
  ]);
  return { out: r.stdout.trim(), code: r.exitCode };
}

test('--internal: peers reach each other, nothing reaches the outside, not even with a hand-made default route', async (t) => {
  const outside = await outsideServer(t, 7101, 'outside');
  const net = `int-${w.id}`;
  const open = `open-${w.id}`;
  await ok(['network', 'create', '--internal', '--subnet', '10.70.0.0/24', net]);
  await ok(['network', 'create', '--subnet', '10.72.0.0/24', open]);
  t.teardown(async () => {
    await w.cli(['rm', '-f', `inweb-${w.id}`]);
    await w.cli(['network', 'rm', net, open]);
  });
  // the outside answers a container on an ordinary network: the way out exists
  t.deepEqual(await fetchFrom(open, outside), { out: 'outside', code: 0 }, 'an ordinary network reaches the outside');
  // on the internal network, a peer answers
  await ok(['run', '-d', '--name', `inweb-${w.id}`, '--network', net, 'busybox', ...WEB('inside')]);
  const ip = await ipOf(`inweb-${w.id}`, net);
  const peer = await eventually(async () => {
    const r = await fetchFrom(net, `http://${ip}/`);
    return r.code === 0 ? r : undefined;
  }, 10_000);
  t.is(peer?.out, 'inside', 'a peer on the internal network reaches the container');
  // no default route, so nothing leaves by itself
  const routes = await w.cli(['run', '--rm', '--network', net, 'busybox', 'ip', 'route']);
  t.is(routes.exitCode, 0, routes.stderr);
  t.notRegex(routes.stdout, /default/);
  t.not((await fetchFrom(net, outside)).code, 0, 'an internal network has no way out');
  // and the firewall drops it even when the container routes through the bridge itself
  const [n] = JSON.parse(await ok(['network', 'inspect', net]));
  const bridgeIp = JSON.parse((await w.inHost(['ip', '-j', '-4', 'addr', 'show', `br-${String(n.Id).slice(0, 12)}`])).stdout)[0]
    ?.addr_info?.[0]?.local as string | undefined;
  t.truthy(bridgeIp, 'the internal bridge has an address to route through');
  const forced = await w.cli([
    'run',
    '--rm',
    '--network',
    net,
    '--cap-add',
    'NET_ADMIN',
    'busybox',
    'sh',
    '-c',
    `ip route add default via ${bridgeIp} && ip route && timeout 3 wget -qO- ${outside}; exit $?`,
  ]);
  t.regex(forced.stdout, /default via/, `the route was added: ${forced.stderr}`);
  t.notRegex(forced.stdout, /outside/, "the firewall drops the internal network's traffic to the outside");
  t.not(forced.exitCode, 0);
});

test('--internal: -p publishes nothing (no DNAT rule, the host port does not answer)', async (t) => {
  const net = `intpub-${w.id}`;
  await ok(['network', 'create', '--internal', '--subnet', '10.73.0.0/24', net]);
  t.teardown(async () => {
    await w.cli(['rm', '-f', `intpub-${w.id}`]);
    await w.cli(['network', 'rm', net]);
  });
  await ok(['run', '-d', '--name', `intpub-${w.id}`, '--network', net, '-p', '8181:80', 'busybox', ...WEB('hidden')]);
  const ip = await ipOf(`intpub-${w.id}`, net);
  // the server is up: a peer on the same network gets the page
  const peer = await eventually(async () => {
    const r = await fetchFrom(net, `http://${ip}/`);
    return r.code === 0 ? r : undefined;
  }, 10_000);
  t.is(peer?.out, 'hidden', 'the container serves on its internal address');
  const nat = (await w.inHost(['iptables-save', '-t', 'nat'])).stdout;
  t.notRegex(nat, new RegExp(`DNAT.*${ip.replace(/\./g, '\\.')}|--dport 8181`), 'no DNAT for an internal network');
  const fromClient = await client.run(['busybox', 'timeout', '3', 'busybox', 'wget', '-qO-', `http://${client.hostIp}:8181/`]);
  t.not(fromClient.exitCode, 0, 'the "published" port does not answer from outside');
  t.notRegex(fromClient.stdout, /hidden/);
  const fromHost = await w.inHost(['busybox', 'timeout', '3', 'busybox', 'wget', '-qO-', 'http://127.0.0.1:8181/']);
  t.not(fromHost.exitCode, 0, "nor on the host's loopback");
});

test('icc=false: the host reaches the container, a peer on the same network gets nothing', async (t) => {
  const outside = await outsideServer(t, 7102, 'outside-icc');
  const net = `noicc-${w.id}`;
  await ok(['network', 'create', '-o', 'com.docker.network.bridge.enable_icc=false', '--subnet', '10.71.0.0/24', net]);
  t.teardown(async () => {
    await w.cli(['rm', '-f', `iso-${w.id}`]);
    await w.cli(['network', 'rm', net]);
  });
  await ok(['run', '-d', '--name', `iso-${w.id}`, '--network', net, 'busybox', ...WEB('iso')]);
  const ip = await ipOf(`iso-${w.id}`, net);
  // the target answers from an allowed place: the host
  const fromHost = await eventually(async () => {
    const r = await w.inHost(['busybox', 'timeout', '2', 'busybox', 'wget', '-qO-', `http://${ip}/`]);
    return r.exitCode === 0 ? r.stdout.trim() : undefined;
  }, 10_000);
  t.is(fromHost, 'iso', 'the host reaches the container: its server is up');
  // the peer has working networking (it reaches the outside) but not the container next to it
  const peer = await w.cli([
    'run',
    '--rm',
    '--network',
    net,
    'busybox',
    'sh',
    '-c',
    `timeout 3 wget -qO- ${outside}; echo "outside=$?"; timeout 3 wget -qO- http://${ip}/; echo "peer=$?"`,
  ]);
  t.regex(peer.stdout, /outside-icc\s+outside=0/, `the peer itself is connected: ${peer.stdout}${peer.stderr}`);
  t.notRegex(peer.stdout, /^iso$/m, 'icc=false blocks container to container');
  t.regex(peer.stdout, /peer=[1-9]/);
});

test('connect and disconnect a running container, with traffic', async (t) => {
  await ok(['network', 'create', '--subnet', '10.80.0.0/24', `c1-${w.id}`]);
  await ok(['network', 'create', '--subnet', '10.81.0.0/24', `c2-${w.id}`]);
  await ok(['run', '-d', '--name', `mover-${w.id}`, '--network', `c1-${w.id}`, 'busybox', ...WEB('mover')]);
  await ok(['run', '-d', '--name', `probe-${w.id}`, '--network', `c2-${w.id}`, 'busybox', 'sleep', '1000']);
  // an address outside the network's subnets: one line before anything is made (it was a kernel
  // route error, ENETUNREACH, at run); dockerd: "Invalid address …: It does not belong to any of
  // this network's subnets"
  const outside = await w.cli(['network', 'connect', '--ip', '10.99.0.9', `c2-${w.id}`, `mover-${w.id}`]);
  t.not(outside.exitCode, 0);
  t.regex(
    outside.stderr,
    /^[^\n]*invalid address 10\.99\.0\.9: it does not belong to any of network c2-\w+'s subnets \(10\.81\.0\.0\/24\)\n$/,
  );
  t.notRegex((await w.cli(['exec', `mover-${w.id}`, 'ip', '-o', 'addr'])).stdout, /eth1/);
  const runOutside = await w.cli(['run', '--rm', '--network', `c2-${w.id}`, '--ip', '10.99.0.9', 'busybox', 'true']);
  t.regex(runOutside.stderr, /does not belong to any of network/);
  await ok(['network', 'connect', '--ip', '10.81.0.50', `c2-${w.id}`, `mover-${w.id}`]);
  const links = await w.cli(['exec', `mover-${w.id}`, 'ip', '-o', 'addr']);
  t.regex(links.stdout, /eth1.*10\.81\.0\.50/);
  const hosts = await w.cli(['exec', `mover-${w.id}`, 'cat', '/etc/hosts']);
  t.regex(hosts.stdout, /10\.81\.0\.50/);
  const get = await w.cli(['exec', `probe-${w.id}`, 'timeout', '3', 'wget', '-qO-', 'http://10.81.0.50/']);
  t.is(get.stdout.trim(), 'mover', get.stderr);
  await ok(['network', 'disconnect', `c2-${w.id}`, `mover-${w.id}`]);
  const gone = await w.cli(['exec', `probe-${w.id}`, 'timeout', '2', 'wget', '-qO-', 'http://10.81.0.50/']);
  t.not(gone.exitCode, 0);
  t.notRegex((await w.cli(['exec', `mover-${w.id}`, 'ip', '-o', 'addr'])).stdout, /eth1/);
  // a stopped container can be connected too; it comes up with both networks
  await ok(['stop', '-t', '0', `mover-${w.id}`]);
  await ok(['network', 'connect', `c2-${w.id}`, `mover-${w.id}`]);
  await ok(['start', `mover-${w.id}`]);
  const both = await w.cli(['exec', `mover-${w.id}`, 'ip', '-o', 'addr']);
  t.regex(both.stdout, /eth0.*10\.80\.0\./);
  t.regex(both.stdout, /eth1.*10\.81\.0\./);
  await ok(['rm', '-f', `mover-${w.id}`, `probe-${w.id}`]);
  await ok(['network', 'rm', `c1-${w.id}`, `c2-${w.id}`]);
});

test('a container on two networks at start; the default route follows the lexical rule', async (t) => {
  await ok(['network', 'create', '--subnet', '10.90.0.0/24', `zz-${w.id}`]);
  await ok(['network', 'create', '--subnet', '10.91.0.0/24', `aa-${w.id}`]);
  const r = await w.cli(['run', '--rm', '--network', `zz-${w.id}`, '--network', `aa-${w.id}`, 'busybox', 'ip', 'route']);
  t.is(r.exitCode, 0, r.stderr);
  t.regex(r.stdout, /default via 10\.91\.0\.1/);
  t.regex(r.stdout, /10\.90\.0\.0\/24/);
  await ok(['network', 'rm', `zz-${w.id}`, `aa-${w.id}`]);
});

test('container and host network modes', async (t) => {
  await ok(['run', '-d', '--name', `owner-${w.id}`, 'busybox', ...WEB('owner')]);
  const shared = await w.cli([
    'run',
    '--rm',
    '--network',
    `container:owner-${w.id}`,
    'busybox',
    'sh',
    '-c',
    `timeout 3 wget -qO- http://127.0.0.1/; exit $?`,
  ]);
  t.is(shared.stdout.trim(), 'owner', shared.stderr);
  await ok(['stop', '-t', '0', `owner-${w.id}`]);
  const notRunning = await w.cli(['run', '--rm', '--network', `container:owner-${w.id}`, 'busybox', 'true']);
  t.not(notRunning.exitCode, 0);
  t.regex(notRunning.stderr, /not running/);
  await ok(['rm', `owner-${w.id}`]);
  const host = await w.cli(['run', '--rm', '--network', 'host', 'busybox', 'ip', '-o', 'addr']);
  t.regex(host.stdout, new RegExp(client.hostIp.replace(/\./g, '\\.')), 'host mode sees the host netns addresses');
});

test('IPv6 dual stack: ping6 between containers', async (t) => {
  await ok(['network', 'create', '--ipv6', '--subnet', '10.95.0.0/24', '--subnet', 'fd00:95::/64', `v6-${w.id}`]);
  await ok(['run', '-d', '--name', `six-${w.id}`, '--network', `v6-${w.id}`, 'busybox', 'sleep', '1000']);
  const [c] = JSON.parse(await ok(['inspect', `six-${w.id}`]));
  const ip6 = c.NetworkSettings.Networks[`v6-${w.id}`].GlobalIPv6Address as string;
  t.regex(ip6, /^fd00:95::/);
  const ping = await w.cli(['run', '--rm', '--network', `v6-${w.id}`, 'busybox', 'ping', '-6', '-c', '1', '-W', '3', ip6]);
  t.is(ping.exitCode, 0, ping.stdout + ping.stderr);
  await ok(['rm', '-f', `six-${w.id}`]);
  await ok(['network', 'rm', `v6-${w.id}`]);
});

test.serial('default pools skip a subnet already routed in the host netns', async (t) => {
  // a route the host already has for the next default pool
  const probe = await ok(['network', 'create', `probe-${w.id}`]);
  const [p] = JSON.parse(await ok(['network', 'inspect', probe]));
  const taken = p.IPAM.Config[0].Subnet as string;
  await ok(['network', 'rm', probe]);
  const add = await w.inHost(['ip', 'route', 'add', taken, 'dev', 'lo']);
  t.is(add.exitCode, 0, add.stderr);
  const next = await ok(['network', 'create', `skip-${w.id}`]);
  const [n] = JSON.parse(await ok(['network', 'inspect', next]));
  t.not(n.IPAM.Config[0].Subnet, taken);
  await ok(['network', 'rm', next]);
  await w.inHost(['ip', 'route', 'del', taken, 'dev', 'lo']);
});

test.serial('bad input gives one clear line and changes nothing', async (t) => {
  await ok(['network', 'create', '--subnet', '10.99.0.0/24', `taken-${w.id}`]);
  const snapshot = async () => {
    const links = (await w.inHost(['ip', '-j', 'link'])).stdout;
    const rules = (await w.inHost(['iptables-save'])).stdout.replace(/^#.*$/gm, '').replace(/\[\d+:\d+\]/g, '');
    // the nftables backend's tables (counters left out)
    const nft = (await w.inHost(['/usr/sbin/nft', 'list', 'ruleset'])).stdout.replace(/counter packets \d+ bytes \d+/g, '');
    const nets = await ok(['network', 'ls', '-q']);
    const ctrs = await ok(['ps', '-aq']);
    return {
      links: JSON.parse(links)
        .map((l: { ifname: string }) => l.ifname)
        .sort(),
      rules,
      nft,
      nets,
      ctrs,
    };
  };
  const before = await snapshot();
  const cases: Array<[string[], RegExp]> = [
    [['network', 'create', '--subnet', '10.1.2.3/33', 'x1'], /10\.1\.2\.3\/33/],
    [['network', 'create', '--subnet', '10.98.0.0/24', '--gateway', '10.97.0.1', 'x2'], /gateway/i],
    [['network', 'create', '--subnet', '10.99.0.0/25', 'x3'], /overlap/i],
    [['network', 'create', `taken-${w.id}`], /already exists/],
    [['run', '--rm', '-p', '80:99999', 'busybox', 'true'], /99999/],
    [['run', '--rm', '-p', 'abc', 'busybox', 'true'], /abc/],
    [['run', '--rm', '--network', 'nosuchnet', 'busybox', 'true'], /nosuchnet/],
    [['network', 'connect', 'nosuchnet', 'nosuchcontainer'], /nosuch/],
  ];
  for (const [args, re] of cases) {
    const r = await w.cli(args);
    t.not(r.exitCode, 0, args.join(' '));
    t.regex(r.stderr, re, args.join(' '));
    t.is(r.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
  }
  const after = await eventually(async () => {
    const s = await snapshot();
    return JSON.stringify(s) === JSON.stringify(before) ? s : undefined;
  }, 3000);
  t.deepEqual(after ?? (await snapshot()), before);
  await ok(['network', 'rm', `taken-${w.id}`]);
});

test('removing a network with containers is refused with their names', async (t) => {
  await ok(['network', 'create', `busy-${w.id}`]);
  await ok(['run', '-d', '--name', `user-${w.id}`, '--network', `busy-${w.id}`, 'busybox', 'sleep', '1000']);
  const r = await w.cli(['network', 'rm', `busy-${w.id}`]);
  t.not(r.exitCode, 0);
  t.regex(r.stderr, new RegExp(`user-${w.id}`));
  await ok(['rm', '-f', `user-${w.id}`]);
  await ok(['network', 'rm', `busy-${w.id}`]);
});
