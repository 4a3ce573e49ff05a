/**
 * `--network container:<name>` when the target publishes a fixed host port: the joiner shares
 * the target's sandbox, the target's published ports stay as they were, and stop/start/rm of
 * either side behave as in Docker.
 */
import test from 'ava';
import { createWorld, eventually, type Client, type World } from '../helpers/world.js';

let w: World;
let client: Client;
test.before(async () => {
  w = await createWorld();
  client = await w.addClient();
});
test.after.always(async () => {
  await w?.teardown();
});

const WEB = ['sh', '-c', 'mkdir -p /www && echo web > /www/index.html && exec httpd -f -p 80 -h /www'];

async function fetchPort(port: number): Promise<string> {
  const r = await client.run(['busybox', 'timeout', '3', 'busybox', 'wget', '-qO-', `http://${client.hostIp}:${port}/`]);
  return r.stdout.trim();
}

async function ports(ref: string): Promise<unknown> {
  const [c] = JSON.parse(await w.ok(['inspect', ref]));
  return c.NetworkSettings.Ports;
}

test.serial('a joiner of a container that publishes a fixed port; stop/start/rm of either side', async (t) => {
  await w.ok(['run', '-d', '--name', 'web', '-p', '18081:80', 'busybox', ...WEB]);
  const before = await ports('web');
  t.deepEqual(before, {
    '80/tcp': [
      { HostIp: '0.0.0.0', HostPort: '18081' },
      { HostIp: '::', HostPort: '18081' },
    ],
  });
  t.is(await eventually(() => fetchPort(18081).then((s) => s === 'web')), true);

  // the joiner starts (no "already allocated"), sees the target's server on its loopback
  await w.ok(['run', '-d', '--name', 'side', '--network', 'container:web', 'busybox', 'sleep', '1000']);
  t.deepEqual(await ports('web'), before, "the target's published ports are intact");
  const seen = await w.cli(['exec', 'side', 'wget', '-qO-', 'http://127.0.0.1/']);
  t.is(seen.stdout.trim(), 'web', seen.stderr);
  t.is(await fetchPort(18081), 'web', 'the published port still reaches the target');
  const once = await w.cli(['run', '--rm', '--network', 'container:web', 'busybox', 'true']);
  t.is(once.exitCode, 0, once.stderr);
  t.deepEqual(await ports('web'), before);

  // stop/start of the joiner does not touch the target
  await w.ok(['stop', '-t', '0', 'side']);
  await w.ok(['start', 'side']);
  t.deepEqual(await ports('web'), before);
  t.is(await fetchPort(18081), 'web');

  // the target stops: the joiner cannot start while it is down, as in Docker
  await w.ok(['stop', '-t', '0', 'web']);
  await w.ok(['stop', '-t', '0', 'side']);
  const down = await w.cli(['start', 'side']);
  t.not(down.exitCode, 0);
  t.regex(down.stderr, /cannot join the network of container web: it is not running/);
  t.is(down.stderr.trim().split('\n').length, 1, 'one line');
  // the target comes back with its ports; the joiner shares its network again
  await w.ok(['start', 'web']);
  t.deepEqual(await ports('web'), before);
  await w.ok(['start', 'side']);
  t.is(await eventually(() => fetchPort(18081).then((s) => s === 'web')), true);
  const again = await w.cli(['exec', 'side', 'wget', '-qO-', 'http://127.0.0.1/']);
  t.is(again.stdout.trim(), 'web', again.stderr);

  // rm of the joiner leaves the target alone
  await w.ok(['rm', '-f', 'side']);
  t.deepEqual(await ports('web'), before);
  t.is(await fetchPort(18081), 'web');

  // rm -f of the target is allowed (Docker too); a joiner made before cannot start afterwards
  await w.ok(['create', '--name', 'late', '--network', 'container:web', 'busybox', 'sleep', '1000']);
  await w.ok(['rm', '-f', 'web']);
  const gone = await w.cli(['start', 'late']);
  t.not(gone.exitCode, 0);
  t.regex(gone.stderr, /No such container/);
  await w.ok(['rm', 'late']);
  // the port is free again: a new container can publish it
  await w.ok(['run', '-d', '--name', 'web2', '-p', '18081:80', 'busybox', ...WEB]);
  t.is(await eventually(() => fetchPort(18081).then((s) => s === 'web')), true);
  await w.ok(['rm', '-f', 'web2']);
});
