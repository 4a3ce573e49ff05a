/**
 * The CLI as a process against a fake daemon on a real unix socket: the exact requests
 * it makes, what it prints, and its exit codes.
 */
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeFrame, STDERR, STDOUT } from '../../../src/cli/stream-demux.js';
import { FakeDaemon, tsnet } from './helpers/fake-daemon.js';

const ID = 'f'.repeat(64);

async function withDaemon(t: { teardown: (fn: () => Promise<void>) => void }): Promise<FakeDaemon> {
  const d = await FakeDaemon.start();
  t.teardown(() => d.close());
  return d;
}

test('run -d: create body (ports, volumes, env, memory, two networks, aliases), then start, prints the id', async (t) => {
  const d = await withDaemon(t);
  d.reply('POST', '/containers/create', 201, { Id: ID, Warnings: [] });
  d.reply('POST', `/containers/${ID}/start`, 204);
  const r = await tsnet(
    [
      'run',
      '-d',
      '--name',
      'web',
      '-p',
      '8080:80',
      '-p',
      '127.0.0.1:5353:53/udp',
      '-p',
      '[::1]:9000-9001:90-91',
      '-v',
      '/srv/data:/data:ro',
      '-v',
      '/tmp:/scratch',
      '-e',
      'A=1',
      '-e',
      'FROM_CLIENT',
      '--memory',
      '64m',
      '--cpus',
      '1.5',
      '--pids-limit',
      '100',
      '--network',
      'front',
      '--net',
      'back',
      '--network-alias',
      'www',
      '--ip',
      '10.1.0.5',
      '--cap-add',
      'NET_ADMIN',
      '--read-only',
      '-l',
      'tier=web',
      '-h',
      'box',
      '-w',
      '/app',
      '-u',
      '1000:1000',
      'alpine',
      'sh',
      '-c',
      'echo hi',
    ],
    { host: d.host, env: { FROM_CLIENT: 'yes' } },
  );
  t.is(r.stderr, '');
  t.is(r.code, 0);
  t.is(r.stdout, `${ID}\n`);
  t.deepEqual(d.calls, ['POST /containers/create', `POST /containers/${ID}/start`]);
  const create = d.requests[0]!;
  t.is(create.query.get('name'), 'web');
  t.deepEqual(create.json, {
    Hostname: 'box',
    User: '1000:1000',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: ['A=1', 'FROM_CLIENT=yes'],
    Cmd: ['sh', '-c', 'echo hi'],
    Entrypoint: null,
    Image: 'alpine',
    WorkingDir: '/app',
    Labels: { tier: 'web' },
    ExposedPorts: { '80/tcp': {}, '53/udp': {}, '90/tcp': {}, '91/tcp': {} },
    MacAddress: '',
    HostConfig: {
      Binds: ['/srv/data:/data:ro', '/tmp:/scratch'],
      NetworkMode: 'front',
      PortBindings: {
        '80/tcp': [{ HostIp: '', HostPort: '8080' }],
        '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }],
        '90/tcp': [{ HostIp: '::1', HostPort: '9000' }],
        '91/tcp': [{ HostIp: '::1', HostPort: '9001' }],
      },
      PublishAllPorts: false,
      AutoRemove: false,
      Memory: 64 * 1024 * 1024,
      NanoCpus: 1_500_000_000,
      PidsLimit: 100,
      Privileged: false,
      CapAdd: ['NET_ADMIN'],
      CapDrop: [],
      Devices: [],
      DeviceCgroupRules: [],
      SecurityOpt: [],
      ReadonlyRootfs: true,
      ExtraHosts: null,
      Links: null,
      Dns: [],
      DnsSearch: [],
      DnsOptions: [],
      GroupAdd: null,
    },
    NetworkingConfig: {
      EndpointsConfig: {
        front: { Aliases: ['www'], IPAMConfig: { IPv4Address: '10.1.0.5', IPv6Address: '' } },
        back: { Aliases: [], IPAMConfig: { IPv4Address: '', IPv6Address: '' } },
      },
    },
  });
});

test('run: --net before --network keeps command-line order (first is the network mode)', async (t) => {
  const d = await withDaemon(t);
  d.reply('POST', '/containers/create', 201, { Id: ID, Warnings: ['low memory'] });
  d.reply('POST', `/containers/${ID}/start`, 204);
  const r = await tsnet(['run', '-d', '--net', 'b', '--network', 'a', 'alpine'], { host: d.host });
  t.is(r.code, 0);
  t.is(r.stderr, 'WARNING: low memory\n');
  const body = d.requests[0]!.json as {
    HostConfig: { NetworkMode: string };
    NetworkingConfig: { EndpointsConfig: object };
    Cmd: unknown;
  };
  t.is(body.HostConfig.NetworkMode, 'b');
  t.deepEqual(Object.keys(body.NetworkingConfig.EndpointsConfig), ['b', 'a']);
  t.is(body.Cmd, null);
});

test('run (foreground): attach → wait → start, demuxed stdout/stderr, exit code passed through', async (t) => {
  const d = await withDaemon(t);
  let attached: import('node:net').Socket | undefined;
  let finishWait: (() => void) | undefined;
  d.reply('POST', '/containers/create', 201, { Id: ID, Warnings: [] });
  d.onUpgrade('POST', `/containers/${ID}/attach`, (_req, socket) => {
    attached = socket;
  });
  d.on('POST', `/containers/${ID}/wait`, (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    finishWait = () => res.end(JSON.stringify({ StatusCode: 7 }));
  });
  d.on('POST', `/containers/${ID}/start`, (_req, res) => {
    res.writeHead(204);
    res.end();
    // Output split mid-header and mid-payload to exercise the demuxer.
    const bytes = Buffer.concat([encodeFrame(STDOUT, 'hello\n'), encodeFrame(STDERR, 'oops\n'), encodeFrame(STDOUT, 'bye\n')]);
    attached!.write(bytes.subarray(0, 3));
    setTimeout(() => {
      attached!.write(bytes.subarray(3, 17));
      setTimeout(() => {
        attached!.end(bytes.subarray(17));
        finishWait!();
      }, 20);
    }, 20);
  });
  const r = await tsnet(['run', '--rm', 'alpine', 'false'], { host: d.host });
  t.deepEqual(d.calls, [
    'POST /containers/create',
    `POST /containers/${ID}/attach`,
    `POST /containers/${ID}/wait`,
    `POST /containers/${ID}/start`,
  ]);
  const attach = d.find('POST', `/containers/${ID}/attach`)!;
  t.is(attach.headers.upgrade, 'tcp');
  t.is(attach.headers.connection, 'Upgrade');
  t.is(attach.query.toString(), 'stream=1&stdin=0&stdout=1&stderr=1');
  t.is(d.find('POST', `/containers/${ID}/wait`)!.query.get('condition'), 'removed');
  const create = d.requests[0]!.json as Record<string, unknown>;
  t.like(create, { AttachStdin: false, AttachStdout: true, AttachStderr: true, OpenStdin: false, StdinOnce: false });
  t.is(r.stdout, 'hello\nbye\n');
  t.is(r.stderr, 'oops\n');
  t.is(r.code, 7);
});

test('run -t: the stream is raw (not demultiplexed); -P and --expose reach the body', async (t) => {
  const d = await withDaemon(t);
  let attached: import('node:net').Socket | undefined;
  d.reply('POST', '/containers/create', 201, { Id: ID, Warnings: [] });
  d.onUpgrade('POST', `/containers/${ID}/attach`, (_req, socket) => {
    attached = socket;
  });
  d.on('POST', `/containers/${ID}/wait`, (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    attached!.on('close', () => res.end(JSON.stringify({ StatusCode: 0 })));
  });
  d.on('POST', `/containers/${ID}/start`, (_req, res) => {
    res.writeHead(204);
    res.end();
    attached!.end('raw \x01\x00 bytes\r\n');
  });
  const r = await tsnet(['run', '-t', '-P', '--expose', '7000-7001/udp', 'alpine', 'top'], { host: d.host });
  t.is(r.stdout, 'raw \x01\x00 bytes\r\n');
  t.is(r.code, 0);
  const body = d.requests[0]!.json as { Tty: boolean; ExposedPorts: object; HostConfig: { PublishAllPorts: boolean } };
  t.true(body.Tty);
  t.true(body.HostConfig.PublishAllPorts);
  t.deepEqual(body.ExposedPorts, { '7000/udp': {}, '7001/udp': {} });
  // stdout is not a terminal here: no resize request.
  t.false(d.calls.some((c) => c.endsWith('/resize')));
});

test('run -i: stdin is forwarded and half-closed at EOF; output keeps flowing after', async (t) => {
  const d = await withDaemon(t);
  let finishWait: ((code: number) => void) | undefined;
  // The "container" exits when its stdin closes; that may come before the CLI's wait request
  // arrives (the requests go out on separate connections), so the exit is remembered.
  let exited: number | undefined;
  d.reply('POST', '/containers/create', 201, { Id: ID, Warnings: [] });
  d.onUpgrade('POST', `/containers/${ID}/attach`, (_req, socket) => {
    let input = '';
    socket.on('data', (c: Buffer) => (input += c.toString()));
    socket.on('end', () => {
      // The client half-closed: answer with what it sent, then close.
      socket.end(encodeFrame(STDOUT, `got: ${input}`));
      exited = 0;
      finishWait?.(0);
    });
  });
  d.on('POST', `/containers/${ID}/wait`, (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    finishWait = (code) => res.end(JSON.stringify({ StatusCode: code }));
    if (exited !== undefined) finishWait(exited);
  });
  d.reply('POST', `/containers/${ID}/start`, 204);
  const r = await tsnet(['run', '-i', 'alpine', 'cat'], { host: d.host, input: 'ping\npong\n' });
  t.is(r.stderr, '');
  t.is(r.stdout, 'got: ping\npong\n');
  t.is(r.code, 0);
  t.is(d.find('POST', `/containers/${ID}/attach`)!.query.get('stdin'), '1');
  t.like(d.requests[0]!.json as object, { AttachStdin: true, OpenStdin: true, StdinOnce: true });
});

test('run: SIGTERM to the CLI is forwarded as POST /containers/{id}/kill?signal=SIGTERM', async (t) => {
  const d = await withDaemon(t);
  let attached: import('node:net').Socket | undefined;
  let finishWait: ((code: number) => void) | undefined;
  let child: import('node:child_process').ChildProcess | undefined;
  d.reply('POST', '/containers/create', 201, { Id: ID, Warnings: [] });
  d.onUpgrade('POST', `/containers/${ID}/attach`, (_req, socket) => {
    attached = socket;
  });
  d.on('POST', `/containers/${ID}/wait`, (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    finishWait = (code) => res.end(JSON.stringify({ StatusCode: code }));
  });
  d.on('POST', `/containers/${ID}/start`, (_req, res) => {
    res.writeHead(204);
    res.end();
    attached!.write(encodeFrame(STDOUT, 'running\n'));
    setTimeout(() => child!.kill('SIGTERM'), 150);
  });
  d.on('POST', `/containers/${ID}/kill`, (_req, res) => {
    res.writeHead(204);
    res.end();
    attached!.end();
    finishWait!(143);
  });
  const r = await tsnet(['run', 'alpine', 'sleep', '100'], { host: d.host, onSpawn: (c) => (child = c) });
  t.is(d.find('POST', `/containers/${ID}/kill`)!.query.get('signal'), 'SIGTERM');
  t.is(r.stdout, 'running\n');
  t.is(r.code, 143);
});

test('run: start failing with TSNET_COMMAND_NOT_FOUND exits 127 with one line', async (t) => {
  const d = await withDaemon(t);
  d.reply('POST', '/containers/create', 201, { Id: ID, Warnings: [] });
  d.onUpgrade('POST', `/containers/${ID}/attach`, () => {});
  d.on('POST', `/containers/${ID}/wait`, (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
  });
  d.reply('POST', `/containers/${ID}/start`, 400, {
    message: 'exec: "nope": executable file not found in $PATH',
    code: 'TSNET_COMMAND_NOT_FOUND',
  });
  const r = await tsnet(['run', 'alpine', 'nope'], { host: d.host });
  t.is(r.stderr, 'tsnet: exec: "nope": executable file not found in $PATH\n');
  t.is(r.code, 127);
});

test('run -d: TSNET_COMMAND_NOT_EXECUTABLE exits 126; start (non-attached) not found exits 127', async (t) => {
  const d = await withDaemon(t);
  d.reply('POST', '/containers/create', 201, { Id: ID, Warnings: [] });
  d.reply('POST', `/containers/${ID}/start`, 400, { message: 'permission denied', code: 'TSNET_COMMAND_NOT_EXECUTABLE' });
  d.reply('POST', '/containers/c2/start', 400, { message: 'not found', code: 'TSNET_COMMAND_NOT_FOUND' });
  const r = await tsnet(['run', '-d', 'alpine', '/etc/passwd'], { host: d.host });
  t.is(r.code, 126);
  t.is(r.stderr, 'tsnet: permission denied\n');
  const s = await tsnet(['start', 'c2'], { host: d.host });
  t.is(s.code, 127);
  t.is(s.stderr, 'tsnet: not found\n');
});

test('daemon error: one line `tsnet: <message>`, exit 125 (also without a code)', async (t) => {
  const d = await withDaemon(t);
  d.reply('POST', '/containers/create', 404, { message: 'No such image: nosuch:latest', code: 'TSNET_IMAGE_NOT_FOUND' });
  d.reply('GET', '/networks', 500, { message: 'boom' });
  const r = await tsnet(['run', '-d', '--pull', 'never', 'nosuch'], { host: d.host });
  t.is(r.stderr, 'tsnet: No such image: nosuch:latest\n');
  t.is(r.stdout, '');
  t.is(r.code, 125);
  const n = await tsnet(['network', 'ls'], { host: d.host });
  t.is(n.stderr, 'tsnet: boom\n');
  t.is(n.code, 125);
});

test('unreachable socket: the clear message and exit 125 (-H and TSNET_HOST)', async (t) => {
  const sock = '/nonexistent/tsnet-test.sock';
  const r = await tsnet(['ps'], { host: `unix://${sock}` });
  t.is(r.stderr, `tsnet: cannot reach tsnetd at ${sock}: is it running? (start it with: sudo tsnetd)\n`);
  t.is(r.code, 125);
  const e = await tsnet(['network', 'ls'], { env: { TSNET_HOST: `unix://${sock}` } });
  t.is(e.stderr, `tsnet: cannot reach tsnetd at ${sock}: is it running? (start it with: sudo tsnetd)\n`);
  t.is(e.code, 125);
});

test('usage errors: bad memory, bad -p, unknown flag, missing argument → one line, exit 125, no request', async (t) => {
  const d = await withDaemon(t);
  const mem = await tsnet(['run', '--memory', '64x', 'alpine'], { host: d.host });
  t.is(mem.stderr, 'tsnet: invalid argument "64x" for "-m, --memory": invalid size\n');
  t.is(mem.code, 125);
  const port = await tsnet(['run', '-p', '8080:http', 'alpine'], { host: d.host });
  t.is(port.stderr, 'tsnet: invalid argument "8080:http" for "-p, --publish": invalid container port "http"\n');
  t.is(port.code, 125);
  const range = await tsnet(['create', '-p', '8000-8002:80-81', 'alpine'], { host: d.host });
  t.regex(range.stderr, /^tsnet: invalid argument "8000-8002:80-81" for "-p, --publish": .*different lengths\n$/);
  t.is(range.code, 125);
  const unknown = await tsnet(['ps', '--bogus'], { host: d.host });
  t.regex(unknown.stderr, /^tsnet: unknown option '--bogus'.*\n$/);
  t.is(unknown.stderr.split('\n').length, 2);
  t.is(unknown.code, 125);
  const missing = await tsnet(['run'], { host: d.host });
  t.regex(missing.stderr, /^tsnet: missing required argument 'image'\n$/);
  t.is(missing.code, 125);
  const cpus = await tsnet(['run', '--cpus', '0.0000000001', 'alpine'], { host: d.host });
  t.is(cpus.stderr, 'tsnet: invalid argument "0.0000000001" for "--cpus": value is too precise\n');
  t.deepEqual(d.requests, []);
});

test('stop/kill/rm on several targets: each printed, one line per failure, exit 1', async (t) => {
  const d = await withDaemon(t);
  d.reply('POST', '/containers/a/stop', 204);
  d.reply('POST', '/containers/b/stop', 304);
  d.reply('POST', '/containers/c/stop', 404, { message: 'No such container: c', code: 'TSNET_CONTAINER_NOT_FOUND' });
  const r = await tsnet(['stop', '-t', '3', 'a', 'b', 'c'], { host: d.host });
  t.is(r.stdout, 'a\nb\n');
  t.is(r.stderr, 'tsnet: No such container: c\n');
  t.is(r.code, 1);
  t.is(d.find('POST', '/containers/a/stop')!.query.get('t'), '3');

  d.reply('POST', '/containers/a/kill', 204);
  const k = await tsnet(['kill', '-s', 'HUP', 'a'], { host: d.host });
  t.is(k.code, 0);
  t.is(d.find('POST', '/containers/a/kill')!.query.get('signal'), 'HUP');

  d.reply('DELETE', '/containers/a', 204);
  const rm = await tsnet(['rm', '-f', '-v', 'a'], { host: d.host });
  t.is(rm.stdout, 'a\n');
  t.is(d.find('DELETE', '/containers/a')!.query.toString(), 'force=1&v=1');
});

// The CLI's clock in the ps and images tests (fixed-clock.ts): relative times are exact.
const NOW = Date.UTC(2024, 4, 1, 10, 0, 0);
const NOW_S = NOW / 1000;

const CONTAINERS = [
  {
    Id: `a1b2c3d4e5f6a7b8c9d0${'0'.repeat(44)}`,
    Names: ['/web'],
    Image: 'nginx:latest',
    Command: 'nginx -g daemon off; master_process on;',
    Created: NOW_S - 125,
    Ports: [
      { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
      { IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
      { PrivatePort: 443, Type: 'tcp' },
    ],
    Labels: { tier: 'web', app: 'x' },
    State: 'running',
    Status: 'Up 2 minutes',
    NetworkSettings: { Networks: { front: {}, back: {} } },
    Mounts: [],
  },
  {
    Id: 'b'.repeat(64),
    Names: ['/db'],
    Image: `sha256:${'c'.repeat(64)}`,
    Command: 'postgres',
    Created: NOW_S - 7200,
    Ports: [],
    Labels: {},
    State: 'exited',
    Status: 'Exited (0) 5 seconds ago',
    NetworkSettings: { Networks: { bridge: {} } },
    Mounts: [{ Name: '', Source: '/srv/pg', Destination: '/var/lib/postgresql' }],
  },
];

test('ps: docker-like table; -a and -f become all=1 and filters JSON', async (t) => {
  const d = await withDaemon(t);
  d.reply('GET', '/containers/json', 200, CONTAINERS);
  const r = await tsnet(['ps', '-a', '-f', 'name=web', '-f', 'status=running'], { host: d.host, now: NOW });
  t.is(r.code, 0);
  const q = d.requests[0]!.query;
  t.is(q.get('all'), '1');
  t.deepEqual(JSON.parse(q.get('filters')!), { name: ['web'], status: ['running'] });
  const lines = r.stdout.split('\n');
  t.is(
    lines[0],
    'CONTAINER ID   IMAGE          COMMAND                  CREATED         STATUS                     PORTS                                              NAMES',
  );
  t.is(
    lines[1],
    'a1b2c3d4e5f6   nginx:latest   "nginx -g daemon off…"   2 minutes ago   Up 2 minutes               443/tcp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp   web',
  );
  t.is(
    lines[2],
    'bbbbbbbbbbbb   cccccccccccc   "postgres"               2 hours ago     Exited (0) 5 seconds ago                                                      db',
  );
  t.is(lines.length, 4);

  const q2 = await tsnet(['ps', '-q', '--no-trunc'], { host: d.host });
  t.is(q2.stdout, `${CONTAINERS[0]!.Id}\n${CONTAINERS[1]!.Id}\n`);
  t.is(d.requests[1]!.query.get('all'), null);
});

test('ps --format json: one object per line with docker keys; --format template', async (t) => {
  const d = await withDaemon(t);
  d.reply('GET', '/containers/json', 200, CONTAINERS);
  const r = await tsnet(['ps', '--format', 'json'], { host: d.host, now: NOW });
  const rows = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, string>);
  t.is(rows.length, 2);
  t.deepEqual(Object.keys(rows[0]!), [
    'Command',
    'CreatedAt',
    'ID',
    'Image',
    'Labels',
    'Mounts',
    'Names',
    'Networks',
    'Ports',
    'RunningFor',
    'State',
    'Status',
  ]);
  t.like(rows[0], {
    ID: 'a1b2c3d4e5f6',
    Image: 'nginx:latest',
    Command: '"nginx -g daemon off…"',
    Labels: 'app=x,tier=web',
    Names: 'web',
    Networks: 'back,front',
    Ports: '443/tcp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp',
    RunningFor: '2 minutes ago',
    State: 'running',
    Status: 'Up 2 minutes',
  });
  t.is(rows[0]!.CreatedAt, '2024-05-01 09:57:55 +0000 UTC');
  t.is(rows[1]!.RunningFor, '2 hours ago');
  t.is(rows[1]!.Mounts, '/srv/pg');
  const names = await tsnet(['ps', '--format', '{{.Names}}\t{{.State}}'], { host: d.host });
  t.is(names.stdout, 'web\trunning\ndb\texited\n');
  const table = await tsnet(['ps', '--format', 'table {{.ID}}\t{{.Names}}'], { host: d.host });
  t.is(table.stdout, 'CONTAINER ID   NAMES\na1b2c3d4e5f6   web\nbbbbbbbbbbbb   db\n');
});

test('network create: the body in Docker shape, prints the id', async (t) => {
  const d = await withDaemon(t);
  d.reply('POST', '/networks/create', 201, { Id: 'n'.repeat(64), Warning: '' });
  const r = await tsnet(
    [
      'network',
      'create',
      '-d',
      'bridge',
      '--subnet',
      '10.10.0.0/16',
      '--gateway',
      '10.10.0.1',
      '--ip-range',
      '10.10.5.0/24',
      '--aux-address',
      'router=10.10.0.2',
      '--subnet',
      'fd00:1::/64',
      '--gateway',
      'fd00:1::1',
      '--ipv6',
      '--internal',
      '--attachable',
      '-o',
      'com.docker.network.bridge.name=br-test',
      '--ipam-opt',
      'x=y',
      '--label',
      'env=dev',
      'mynet',
    ],
    { host: d.host },
  );
  t.is(r.stderr, '');
  t.is(r.code, 0);
  t.is(r.stdout, `${'n'.repeat(64)}\n`);
  t.deepEqual(d.requests[0]!.json, {
    Name: 'mynet',
    Driver: 'bridge',
    Internal: true,
    Attachable: true,
    EnableIPv6: true,
    Options: { 'com.docker.network.bridge.name': 'br-test' },
    Labels: { env: 'dev' },
    IPAM: {
      Driver: 'default',
      Options: { x: 'y' },
      Config: [
        { Subnet: '10.10.0.0/16', IPRange: '10.10.5.0/24', Gateway: '10.10.0.1', AuxiliaryAddresses: { router: '10.10.0.2' } },
        { Subnet: 'fd00:1::/64', Gateway: 'fd00:1::1' },
      ],
    },
  });
  const bad = await tsnet(['network', 'create', '--subnet', '10.0.0.0/24', '--gateway', '10.1.0.1', 'x'], { host: d.host });
  t.is(bad.stderr, 'tsnet: invalid IPAM configuration: no matching subnet for gateway 10.1.0.1\n');
  t.is(bad.code, 125);
});

test('network ls / connect / disconnect / rm', async (t) => {
  const d = await withDaemon(t);
  d.reply('GET', '/networks', 200, [
    { Id: 'z'.repeat(64), Name: 'zeta', Driver: 'overlay', Scope: 'global' },
    { Id: 'a'.repeat(64), Name: 'bridge', Driver: 'bridge', Scope: 'local' },
  ]);
  const ls = await tsnet(['network', 'ls', '-f', 'driver=bridge'], { host: d.host });
  t.is(
    ls.stdout,
    'NETWORK ID     NAME      DRIVER    SCOPE\naaaaaaaaaaaa   bridge    bridge    local\nzzzzzzzzzzzz   zeta      overlay   global\n',
  );
  t.deepEqual(JSON.parse(d.requests[0]!.query.get('filters')!), { driver: ['bridge'] });

  d.reply('POST', '/networks/front/connect', 200);
  const c = await tsnet(['network', 'connect', '--ip', '10.0.0.9', '--alias', 'db', '--alias', 'pg', 'front', 'web'], {
    host: d.host,
  });
  t.is(c.code, 0);
  t.deepEqual(d.find('POST', '/networks/front/connect')!.json, {
    Container: 'web',
    EndpointConfig: { Aliases: ['db', 'pg'], IPAMConfig: { IPv4Address: '10.0.0.9', IPv6Address: '' } },
  });
  d.reply('POST', '/networks/front/disconnect', 200);
  await tsnet(['network', 'disconnect', '-f', 'front', 'web'], { host: d.host });
  t.deepEqual(d.find('POST', '/networks/front/disconnect')!.json, { Container: 'web', Force: true });

  d.reply('DELETE', '/networks/front', 204);
  d.reply('DELETE', '/networks/busy', 409, { message: 'network busy has active endpoints', code: 'TSNET_NETWORK_IN_USE' });
  const rm = await tsnet(['network', 'rm', 'front', 'busy'], { host: d.host });
  t.is(rm.stdout, 'front\n');
  t.is(rm.stderr, 'tsnet: network busy has active endpoints\n');
  t.is(rm.code, 1);
});

test('network prune: refuses without a terminal unless -f', async (t) => {
  const d = await withDaemon(t);
  d.reply('POST', '/networks/prune', 200, { NetworksDeleted: ['old1', 'old2'] });
  const refused = await tsnet(['network', 'prune'], { host: d.host });
  t.is(refused.code, 125);
  t.regex(refused.stderr, /stdin is not a terminal: use -f/);
  t.deepEqual(d.requests, []);
  const ok = await tsnet(['network', 'prune', '-f'], { host: d.host });
  t.is(ok.stdout, 'Deleted Networks:\nold1\nold2\n');
});

test('image import streams the file as the raw body and prints the id', async (t) => {
  const d = await withDaemon(t);
  const file = join(d.dir, 'rootfs.tar');
  const content = Buffer.alloc(300_000, 7);
  await writeFile(file, content);
  const imageId = `sha256:${'d'.repeat(64)}`;
  d.on('POST', '/images/create', (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write(`${JSON.stringify({ status: 'Importing' })}\n`);
    res.end(`${JSON.stringify({ status: 'Imported', id: imageId })}\n`);
  });
  const r = await tsnet(['image', 'import', file, '--tag', 'myimg:1.0'], { host: d.host });
  t.is(r.stderr, '');
  t.is(r.stdout, `${imageId}\n`);
  const req = d.requests[0]!;
  t.is(req.query.get('fromSrc'), '-');
  t.is(req.query.get('repo'), 'myimg');
  t.is(req.query.get('tag'), '1.0');
  t.is(req.headers['content-type'], 'application/x-tar');
  t.is(req.headers['content-length'], String(content.length));
  t.true(req.body.equals(content));

  // From stdin, chunked, with a docker-style answer ({"status": "sha256:…"}); a few MB, so that
  // the socket's buffer fills and the chunks must still arrive whole.
  const stdinTar = Buffer.from(Array.from({ length: 3 << 20 }, (_, i) => (i * 7 + (i >> 10)) & 0xff));
  const d2 = await withDaemon(t);
  d2.on('POST', '/images/create', (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ status: imageId }));
  });
  const s = await tsnet(['import', '-', 'registry:5000/team/img'], { host: d2.host, input: stdinTar });
  t.is(s.stdout, `${imageId}\n`);
  t.is(d2.requests[0]!.query.get('repo'), 'registry:5000/team/img');
  t.is(d2.requests[0]!.query.get('tag'), null);
  t.is(d2.requests[0]!.headers['transfer-encoding'], 'chunked');
  t.true(d2.requests[0]!.body.equals(stdinTar), 'the whole stream, in order');

  const missing = await tsnet(['image', 'import', join(d.dir, 'nope.tar')], { host: d.host });
  t.is(missing.code, 125);
  t.regex(missing.stderr, /^tsnet: cannot open .*nope\.tar: no such file or directory\n$/);
});

test('images / rmi / inspect fallbacks', async (t) => {
  const d = await withDaemon(t);
  d.reply('GET', '/images/json', 200, [
    {
      Id: `sha256:${'1'.repeat(64)}`,
      RepoTags: ['alpine:3.19', 'alpine:latest'],
      Created: NOW_S - 3 * 86400,
      Size: 7_812_345,
    },
    { Id: `sha256:${'2'.repeat(64)}`, RepoTags: null, Created: NOW_S - 3 * 3600 - 60, Size: 999 },
  ]);
  const ls = await tsnet(['images'], { host: d.host, now: NOW });
  t.is(
    ls.stdout,
    'REPOSITORY   TAG       IMAGE ID       CREATED       SIZE\n' +
      'alpine       3.19      111111111111   3 days ago    7.81MB\n' +
      'alpine       latest    111111111111   3 days ago    7.81MB\n' +
      '<none>       <none>    222222222222   3 hours ago   999B\n',
  );
  const q = await tsnet(['image', 'ls', '-q'], { host: d.host });
  t.is(q.stdout, '111111111111\n222222222222\n');

  d.reply('DELETE', '/images/alpine:latest', 200, [{ Untagged: 'alpine:latest' }, { Deleted: `sha256:${'1'.repeat(64)}` }]);
  const rmi = await tsnet(['rmi', '-f', 'alpine:latest'], { host: d.host });
  t.is(rmi.stdout, `Untagged: alpine:latest\nDeleted: sha256:${'1'.repeat(64)}\n`);
  t.is(d.find('DELETE', '/images/alpine:latest')!.query.get('force'), '1');

  d.reply('GET', '/containers/net1/json', 404, { message: 'No such container: net1' });
  d.reply('GET', '/images/net1/json', 404, { message: 'No such image: net1' });
  d.reply('GET', '/networks/net1', 200, { Name: 'net1', Id: 'abc' });
  const insp = await tsnet(['inspect', 'net1', 'ghost'], { host: d.host });
  t.deepEqual(JSON.parse(insp.stdout), [{ Name: 'net1', Id: 'abc' }]);
  t.is(insp.stdout, '[\n    {\n        "Name": "net1",\n        "Id": "abc"\n    }\n]\n');
  t.regex(insp.stderr, /no such object: ghost/);
  t.is(insp.code, 1);
  const f = await tsnet(['inspect', '--type', 'network', '-f', '{{.Name}} {{json .Id}}', 'net1'], { host: d.host });
  t.is(f.stdout, 'net1 "abc"\n');
});

test('logs: learns Tty from inspect, then streams demuxed output with the flags as query', async (t) => {
  const d = await withDaemon(t);
  d.reply('GET', '/containers/web/json', 200, { Id: ID, Config: { Tty: false } });
  d.on('GET', '/containers/web/logs', (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/vnd.docker.multiplexed-stream' });
    res.end(Buffer.concat([encodeFrame(STDOUT, 'line1\n'), encodeFrame(STDERR, 'err1\n')]));
  });
  const r = await tsnet(['logs', '-f', '--tail', '10', '-t', 'web'], { host: d.host });
  t.is(r.stdout, 'line1\n');
  t.is(r.stderr, 'err1\n');
  t.is(d.requests[1]!.query.toString(), 'stdout=1&stderr=1&follow=1&tail=10&timestamps=1');
});

test('exec: create, hijacked start, exit code from exec inspect', async (t) => {
  const d = await withDaemon(t);
  d.reply('POST', '/containers/web/exec', 201, { Id: 'e1' });
  d.onUpgrade('POST', '/exec/e1/start', (_req, socket) => {
    socket.end(encodeFrame(STDOUT, 'in container\n'));
  });
  d.reply('GET', '/exec/e1/json', 200, { Running: false, ExitCode: 3 });
  const r = await tsnet(['exec', '-e', 'X=1', '-u', 'nobody', '-w', '/tmp', 'web', 'ls', '-l'], { host: d.host });
  t.is(r.stdout, 'in container\n');
  t.is(r.code, 3);
  t.deepEqual(d.requests[0]!.json, {
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    Cmd: ['ls', '-l'],
    Env: ['X=1'],
    User: 'nobody',
    WorkingDir: '/tmp',
    Privileged: false,
  });
  const start = d.find('POST', '/exec/e1/start')!;
  t.deepEqual(start.json, { Detach: false, Tty: false });
  t.is(start.headers.upgrade, 'tcp');
});

test('exec: start refused with TSNET_COMMAND_NOT_FOUND → 127', async (t) => {
  const d = await withDaemon(t);
  d.reply('POST', '/containers/web/exec', 201, { Id: 'e2' });
  d.reply('POST', '/exec/e2/start', 400, { message: 'nope: not found', code: 'TSNET_COMMAND_NOT_FOUND' });
  const r = await tsnet(['exec', 'web', 'nope'], { host: d.host });
  t.is(r.code, 127);
  t.is(r.stderr, 'tsnet: nope: not found\n');
});

test('wait, port, plugin ls, info, version', async (t) => {
  const d = await withDaemon(t);
  d.reply('POST', '/containers/a/wait', 200, { StatusCode: 0 });
  d.reply('POST', '/containers/b/wait', 200, { StatusCode: 137 });
  const w = await tsnet(['wait', 'a', 'b'], { host: d.host });
  t.is(w.stdout, '0\n137\n');

  d.reply('GET', '/containers/web/json', 200, {
    NetworkSettings: {
      Ports: {
        '80/tcp': [
          { HostIp: '0.0.0.0', HostPort: '8080' },
          { HostIp: '::', HostPort: '8080' },
        ],
        '53/udp': null,
      },
    },
  });
  const p = await tsnet(['port', 'web'], { host: d.host });
  t.is(p.stdout, '80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n');
  const p80 = await tsnet(['port', 'web', '80'], { host: d.host });
  t.is(p80.stdout, '0.0.0.0:8080\n[::]:8080\n');
  const p53 = await tsnet(['port', 'web', '53/udp'], { host: d.host });
  t.is(p53.code, 1);

  d.reply('GET', '/plugins', 200, [
    { Name: 'weave', Addr: 'unix:///run/tsnet/plugins/weave.sock', Implements: ['NetworkDriver', 'IpamDriver'], Status: 'ok' },
  ]);
  const pl = await tsnet(['plugin', 'ls'], { host: d.host });
  t.is(
    pl.stdout,
    'NAME      ADDRESS                                IMPLEMENTS                  STATUS\n' +
      'weave     unix:///run/tsnet/plugins/weave.sock   NetworkDriver, IpamDriver   ok\n',
  );

  d.reply('GET', '/info', 200, {
    Containers: 3,
    ContainersRunning: 1,
    ContainersPaused: 0,
    ContainersStopped: 2,
    Images: 4,
    ServerVersion: '0.1.0',
    Driver: 'overlay2',
    CgroupDriver: 'systemd',
    CgroupVersion: '2',
    KernelVersion: '6.1.0',
    MemTotal: 16 * 1024 ** 3,
    DockerRootDir: '/var/lib/tsnet',
    Plugins: { Network: ['bridge', 'host', 'none'] },
  });
  const info = await tsnet(['info'], { host: d.host });
  t.regex(
    info.stdout,
    /^ Containers: 3\n {2}Running: 1\n {2}Paused: 0\n {2}Stopped: 2\n Images: 4\n Server Version: 0\.1\.0\n Storage Driver: overlay2\n Cgroup Driver: systemd\n Cgroup Version: 2\n Plugins:\n {2}Network: bridge host none\n Kernel Version: 6\.1\.0\n Total Memory: 16GiB\n Root Dir: \/var\/lib\/tsnet\n/m,
  );

  d.reply('GET', '/version', 200, { Version: '0.1.0', ApiVersion: '1.41', MinAPIVersion: '1.24', Os: 'linux', Arch: 'amd64' });
  const v = await tsnet(['version'], { host: d.host });
  t.regex(v.stdout, /^Client:\n Version: +0\.1\.0\n API version: +1\.41\n/);
  t.regex(v.stdout, /\nServer:\n Version: +0\.1\.0\n API version: +1\.41 \(minimum version 1\.24\)\n/);
  const vj = await tsnet(['version', '--format', 'json'], { host: d.host });
  t.is((JSON.parse(vj.stdout) as { Server: { Version: string } }).Server.Version, '0.1.0');
});

test('-v / --version and --help need no daemon', async (t) => {
  const v = await tsnet(['-v']);
  t.is(v.code, 0);
  t.regex(v.stdout, /^\d+\.\d+\.\d+/);
  const h = await tsnet(['network', 'create', '--help']);
  t.is(h.code, 0);
  t.regex(h.stdout, /--subnet <cidr>/);
});
