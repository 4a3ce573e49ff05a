/**
 * `--network none`: the container gets its own network namespace with only a loopback device,
 * and reaches nothing outside it — checked against a server the test runs in the world's host
 * netns, proven to answer from the host and from a container on the default bridge first.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cleanEnv, createWorld, eventually, type Client, type World } from '../helpers/world.js';

let w: World;
let client: Client;
test.before(async () => {
  w = await createWorld();
  // a second address in the host netns that a container could route to (192.0.2.1)
  client = await w.addClient();
});
test.after.always(async () => {
  await w?.teardown();
});

test('--network none sees only lo', async (t) => {
  const r = await w.cli([
    'run',
    '--rm',
    '--network',
    'none',
    'busybox',
    'sh',
    '-c',
    'ls /sys/class/net; echo ---; ip -o addr; echo ---; ip route; ip -6 route',
  ]);
  t.is(r.exitCode, 0, r.stderr);
  const [links, addrs, routes] = r.stdout.split('---\n');
  t.deepEqual(links?.trim().split(/\s+/), ['lo'], `only lo in /sys/class/net: ${r.stdout}`);
  const ifaces = new Set(
    (addrs ?? '')
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/)[1]),
  );
  t.deepEqual([...ifaces], ['lo'], `addresses only on lo: ${addrs}`);
  t.regex(addrs ?? '', /inet 127\.0\.0\.1\/8/, 'lo is up with its address');
  t.is((routes ?? '').replace(/.*\bdev lo\b.*\n?/g, '').trim(), '', `no route beyond lo: ${routes}`);
});

test('--network none reaches nothing: not the host, not its loopback', async (t) => {
  const dir = fs.mkdtempSync(path.join(w.dir, 'www-'));
  fs.writeFileSync(path.join(dir, 'index.html'), 'host-server\n');
  const port = 7200;
  const server = spawn('nsenter', [`--net=${w.hostNetns}`, 'busybox', 'httpd', '-f', '-p', String(port), '-h', dir], {
    env: cleanEnv(),
    stdio: 'ignore',
  });
  t.teardown(() => {
    server.kill('SIGKILL');
  });
  const targets = [`http://127.0.0.1:${port}/`, `http://${client.hostIp}:${port}/`];
  // the server answers from the host side …
  for (const url of targets) {
    const up = await eventually(async () => {
      const r = await w.inHost(['busybox', 'timeout', '2', 'busybox', 'wget', '-qO-', url]);
      return r.stdout.trim() === 'host-server';
    }, 10_000);
    t.true(up, `the test's server answers the host on ${url}`);
  }
  // … and a container on the default bridge reaches it through its gateway
  const bridged = await w.cli(['run', '--rm', 'busybox', 'sh', '-c', `timeout 3 wget -qO- ${targets[1]}; exit $?`]);
  t.is(bridged.stdout.trim(), 'host-server', `a bridged container reaches the host: ${bridged.stderr}`);
  // a --network none container gets nothing from either address
  const none = await w.cli([
    'run',
    '--rm',
    '--network',
    'none',
    'busybox',
    'sh',
    '-c',
    targets.map((u) => `timeout 3 wget -qO- ${u}; echo "rc=$?"`).join('; '),
  ]);
  t.is(none.exitCode, 0, none.stderr);
  t.notRegex(none.stdout, /host-server/, `--network none reached the host: ${none.stdout}`);
  const codes = [...none.stdout.matchAll(/rc=(\d+)/g)].map((m) => Number(m[1]));
  t.is(codes.length, 2, none.stdout);
  t.true(
    codes.every((c) => c !== 0),
    `both fetches fail: ${none.stdout}${none.stderr}`,
  );
});

test('-p and --expose with --network none: nothing published, no ports in ps, inspect or the expose filter (as dockerd)', async (t) => {
  const id = await w.ok(['run', '-d', '--network', 'none', '-p', '5555:80', '--expose', '8080', 'busybox', 'sleep', '1000']);
  t.teardown(() => w.cli(['rm', '-f', id]));
  const [c] = JSON.parse(await w.ok(['inspect', id]));
  t.deepEqual(c.NetworkSettings.Ports, {});
  t.is(await w.ok(['port', id]), '');
  t.is(await w.ok(['ps', '--filter', `id=${id}`, '--format', '{{.Ports}}']), '');
  t.is(await w.ok(['ps', '-q', '--filter', 'expose=80']), '');
  t.is(await w.ok(['ps', '-q', '--filter', 'expose=8080']), '');
  t.is(await w.ok(['ps', '-q', '--filter', 'publish=5555']), '');
  const held = await w.inHost(['ss', '-Hltn', 'sport = :5555']);
  t.is(held.stdout.trim(), '', 'no socket holds 5555');
});
