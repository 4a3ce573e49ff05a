/**
 * --add-host (with host-gateway), --dns, --dns-search, --dns-option: the files inside the
 * container, packets to the mapped names, and --dns as the embedded resolver's upstream (a
 * tiny DNS server in a client namespace beside the world's host).
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { cleanEnv, createWorld, eventually, type Client, type World } from '../helpers/world.js';

let w: World;
let client: Client;
test.before(async () => {
  w = await createWorld();
  client = await w.addClient();
  await w.ok(['network', 'create', '--subnet', '10.79.0.0/24', '--gateway', '10.79.0.1', `dh-${w.id}`]);
});
test.after.always(async () => {
  await w?.teardown();
});

const cat = (c: string, file: string) => w.ok(['exec', c, 'cat', file]);

test('--add-host: entries in /etc/hosts, host-gateway is the gateway of the network; packets reach it', async (t) => {
  const name = `ah-${w.id}`;
  await w.ok([
    'run',
    '-d',
    '--name',
    name,
    '--network',
    `dh-${w.id}`,
    '--add-host',
    'db.local:10.79.0.200',
    '--add-host',
    'v6host:fd00::5',
    '--add-host',
    'gw.local:host-gateway',
    'busybox',
    'sleep',
    '1000',
  ]);
  const hosts = await cat(name, '/etc/hosts');
  t.regex(hosts, /^10\.79\.0\.200\tdb\.local$/m);
  t.regex(hosts, /^fd00::5\tv6host$/m);
  t.regex(hosts, /^10\.79\.0\.1\tgw\.local$/m);
  const ping = await w.cli(['exec', name, 'ping', '-c', '1', '-W', '2', 'gw.local']);
  t.is(ping.exitCode, 0, ping.stdout + ping.stderr);
  t.regex(ping.stdout, /from 10\.79\.0\.1/);
  // a network connect rewrites /etc/hosts: the extra entries stay
  await w.ok(['network', 'connect', 'bridge', name]);
  t.regex(await cat(name, '/etc/hosts'), /^10\.79\.0\.200\tdb\.local$/m);
  await w.ok(['rm', '-f', name]);
});

test('--add-host errors are one line and leave nothing behind', async (t) => {
  for (const bad of ['nocolon', 'x:not-an-ip', 'bad name:1.2.3.4']) {
    const r = await w.cli(['create', '--name', `bad-${w.id}`, '--add-host', bad, 'busybox', 'true']);
    t.is(r.exitCode, 125, bad);
    t.regex(r.stderr, /^tsnet: invalid (extra host|HostConfig\.ExtraHosts)/, r.stderr);
    t.is(r.stderr.trim().split('\n').length, 1);
  }
  t.notRegex(await w.ok(['ps', '-a']), new RegExp(`bad-${w.id}`));
  const none = await w.cli(['run', '--rm', '--network', 'none', '--add-host', 'g:host-gateway', 'busybox', 'true']);
  t.not(none.exitCode, 0);
  t.regex(none.stderr, /host-gateway needs a network with a gateway/);
});

test('--dns, --dns-search, --dns-option: resolv.conf on the default bridge and on a user network', async (t) => {
  const plain = await w.ok([
    'run',
    '--rm',
    '--dns',
    '192.0.2.53',
    '--dns-search',
    'corp.example',
    '--dns-option',
    'ndots:2',
    '--dns-option',
    'edns0',
    'busybox',
    'cat',
    '/etc/resolv.conf',
  ]);
  t.regex(plain, /^search corp\.example$/m);
  t.regex(plain, /^nameserver 192\.0\.2\.53$/m);
  t.is(plain.match(/^nameserver/gm)!.length, 1, 'only the given server');
  t.regex(plain, /^options ndots:2 edns0$/m);

  const user = await w.ok([
    'run',
    '--rm',
    '--network',
    `dh-${w.id}`,
    '--dns',
    '192.0.2.53',
    '--dns-option',
    'edns0',
    'busybox',
    'cat',
    '/etc/resolv.conf',
  ]);
  t.regex(user, /^nameserver 127\.0\.0\.11$/m);
  t.regex(user, /^options ndots:0 edns0$/m);
  t.regex(user, /^# ExtServers: \[192\.0\.2\.53\]$/m);
  const bad = await w.cli(['run', '--rm', '--dns', 'not-an-ip', 'busybox', 'true']);
  t.is(bad.exitCode, 125);
  t.regex(bad.stderr, /^tsnet: invalid HostConfig\.Dns\[0\]: must be an IP address/);
});

// A DNS server that answers every A query with 203.0.113.7 (TEST-NET-3), inside the client netns.
const FAKE_DNS = `
const s = require('dgram').createSocket('udp4');
s.on('message', (q, r) => {
  let i = 12; while (q[i] !== 0) i += q[i] + 1; const qend = i + 5;
  const h = Buffer.from(q.subarray(0, 12)); h[2] = 0x81; h[3] = 0x80; h.writeUInt16BE(1, 6); h.writeUInt16BE(0, 8); h.writeUInt16BE(0, 10);
  const ans = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 203, 0, 113, 7]);
  s.send(Buffer.concat([h, q.subarray(12, qend), ans]), r.port, r.address);
});
s.bind(53, process.argv[1], () => console.log('ready'));
`;

test('--dns is the upstream of the embedded DNS on a user network', async (t) => {
  const server = spawn('nsenter', [`--net=${client.netns}`, 'node', '-e', FAKE_DNS, client.clientIp], {
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => server.kill('SIGKILL'));
  let out = '';
  server.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  t.true(await eventually(() => out.includes('ready')), 'fake DNS server up');
  const r = await w.cli([
    'run',
    '--rm',
    '--network',
    `dh-${w.id}`,
    '--dns',
    client.clientIp,
    'busybox',
    'nslookup',
    'anything.example.test',
    '127.0.0.11',
  ]);
  t.is(r.exitCode, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /203\.0\.113\.7/, 'answered by the --dns server through the embedded resolver');
});
